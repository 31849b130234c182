package pgstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/invitekit/invitekit/store"
)

// memberJoinCols are membershipCols of m, then userCols of u.
var memberJoinCols = qualified("m", membershipCols) + ", " + qualified("u", userCols)

// qualified returns the column list cols with every column qualified by
// table alias t.
func qualified(t, cols string) string {
	fields := strings.Split(cols, ",")
	for i, f := range fields {
		fields[i] = t + "." + strings.TrimSpace(f)
	}
	return strings.Join(fields, ", ")
}

// zeroTime is how a zero time.Time is stored.
const zeroTime = `'0001-01-01 00:00:00+00'::timestamptz`

// statusFilter returns the WHERE condition selecting memberships whose
// effective status at now is status, adding its arguments with arg.
// INVITE_EXPIRED is a pending membership whose invitation expired at or
// before now.
func statusFilter(status store.MembershipStatus, now time.Time, arg func(any) string) string {
	switch status {
	case "":
		return ""
	case store.StatusPendingInvite:
		return ` AND m.status = 'PENDING_INVITE' AND (m.invite_expire_time = ` + zeroTime + ` OR m.invite_expire_time > ` + arg(now) + `)`
	case store.StatusInviteExpired:
		return ` AND m.status = 'PENDING_INVITE' AND m.invite_expire_time <> ` + zeroTime + ` AND m.invite_expire_time <= ` + arg(now)
	default:
		return ` AND m.status = ` + arg(string(status))
	}
}

// ListMembers implements store.Memberships. The cursor is the decimal Seq
// of the last member of the previous page; pages follow the (org_id, seq)
// index.
func (s *Store) ListMembers(ctx context.Context, orgID string, opts store.ListOptions) (store.Page, error) {
	limit, after, err := store.NormalizeListOptions(opts)
	if err != nil {
		return store.Page{}, fmt.Errorf("pgstore: list members: %w", err)
	}
	args := []any{orgID, after}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	q := `SELECT ` + memberJoinCols + ` FROM {s}.memberships m JOIN {s}.users u ON u.id = m.user_id
		WHERE m.org_id = $1 AND m.seq > $2` + statusFilter(opts.Status, opts.Now, arg)
	if opts.Query != "" {
		p := arg(strings.ToLower(opts.Query))
		// The organization's view of the name (the membership's), never
		// the user's own: another organization may have written that.
		q += ` AND (strpos(lower(u.email), ` + p + `) > 0 OR strpos(lower(m.name), ` + p + `) > 0
			OR strpos(lower(m.first_name), ` + p + `) > 0 OR strpos(lower(m.last_name), ` + p + `) > 0)`
	}
	q += ` ORDER BY m.seq LIMIT ` + arg(limit+1)
	rows, err := s.pool.Query(ctx, s.sql(q), args...)
	if err != nil {
		return store.Page{}, fmt.Errorf("pgstore: list members: %w", err)
	}
	defer rows.Close()
	var page store.Page
	for rows.Next() {
		var (
			md membershipDest
			ud userDest
		)
		if err := rows.Scan(append(md.targets(), ud.targets()...)...); err != nil {
			return store.Page{}, fmt.Errorf("pgstore: list members: %w", err)
		}
		m, err := md.membership()
		if err != nil {
			return store.Page{}, err
		}
		u, err := ud.user()
		if err != nil {
			return store.Page{}, err
		}
		page.Members = append(page.Members, store.Member{User: u, Membership: m})
	}
	if err := rows.Err(); err != nil {
		return store.Page{}, fmt.Errorf("pgstore: list members: %w", err)
	}
	if len(page.Members) > limit {
		page.Members = page.Members[:limit]
		page.Next = store.ListCursor(page.Members[limit-1].Membership.Seq)
	}
	return page, nil
}
