package sqlitestore

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/invitekit/invitekit/store"
)

// ListMembers implements store.Memberships. Members come in membership
// insertion order (seq); the cursor is the last returned seq.
func (s *Store) ListMembers(ctx context.Context, orgID string, opts store.ListOptions) (store.Page, error) {
	mq, err := membersQuery(orgID, opts)
	if err != nil {
		return store.Page{}, err
	}
	limit, q, goFilter := mq.limit, mq.q, mq.goFilter
	rows, err := s.readRows(ctx, mq.query, mq.args...)
	if err != nil {
		return store.Page{}, err
	}
	defer rows.Close()
	page := store.Page{Members: []store.Member{}}
	for rows.Next() {
		var mem store.Member
		if err := scanMember(rows, &mem); err != nil {
			return store.Page{}, fmt.Errorf("sqlitestore: %w", err)
		}
		if goFilter && !matches(mem.User.Email, mem.Membership.Profile, q) {
			continue
		}
		if len(page.Members) == limit {
			page.Next = store.ListCursor(page.Members[limit-1].Membership.Seq)
			break
		}
		page.Members = append(page.Members, mem)
	}
	if err := rows.Err(); err != nil {
		return store.Page{}, fmt.Errorf("sqlitestore: %w", err)
	}
	return page, nil
}

func scanMember(sc scanner, mem *store.Member) error {
	var b memberBuf
	if err := sc.Scan(b.dest(mem)...); err != nil {
		return err
	}
	return b.finish(mem)
}

// memberBuf holds the raw column values of a membership and its user
// (memberColumns) between Scan and decoding.
type memberBuf struct{ m, u rowBuf }

// dest returns the Scan targets for memberColumns.
func (b *memberBuf) dest(mem *store.Member) []any {
	return append(b.m.membershipDest(&mem.Membership), b.u.userDest(&mem.User)...)
}

func (b *memberBuf) finish(mem *store.Member) error {
	if err := b.m.finishMembership(&mem.Membership); err != nil {
		return err
	}
	return b.u.finishUser(&mem.User)
}

// matches reports whether the email or a name of the organization's view
// of the member contains q (lowercased).
func matches(email string, p store.MemberProfile, q string) bool {
	for _, f := range []string{email, p.Name, p.FirstName, p.LastName} {
		if strings.Contains(strings.ToLower(f), q) {
			return true
		}
	}
	return false
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// memberColumns are the columns scanMember reads: membershipColumns of m,
// then userColumns of u.
var memberColumns = qualify("m", membershipColumns) + ",\n" + qualify("u", userColumns)

// qualify prefixes each of the comma-separated columns with table + ".".
func qualify(table, columns string) string {
	cols := strings.Split(columns, ",")
	for i, c := range cols {
		c = strings.TrimSpace(c)
		cols[i] = table + "." + c
	}
	return strings.Join(cols, ", ")
}

// membersQ is a ListMembers query.
type membersQ struct {
	query    string
	args     []any
	limit    int
	q        string // lowercased Query
	goFilter bool   // q is matched in Go, not in SQL
}

// membersQuery builds the ListMembers query: one page (plus one row to
// know whether there is a next page) walking memberships_org_seq.
func membersQuery(orgID string, opts store.ListOptions) (membersQ, error) {
	limit, after, err := store.NormalizeListOptions(opts)
	if err != nil {
		return membersQ{}, fmt.Errorf("sqlitestore: list members: %w", err)
	}

	var sb strings.Builder
	sb.WriteString(`SELECT `)
	sb.WriteString(memberColumns)
	sb.WriteString(`
FROM memberships m JOIN users u ON u.id = m.user_id
WHERE m.org_id = ? AND m.seq > ?`)
	args := []any{orgID, after}
	now := tsOf(opts.Now)
	switch opts.Status {
	case "":
	case store.StatusPendingInvite:
		sb.WriteString(` AND m.status = 'PENDING_INVITE' AND (m.invite_expire_time = 0 OR m.invite_expire_time > ?)`)
		args = append(args, now)
	case store.StatusInviteExpired:
		sb.WriteString(` AND m.status = 'PENDING_INVITE' AND m.invite_expire_time <> 0 AND m.invite_expire_time <= ?`)
		args = append(args, now)
	default:
		sb.WriteString(` AND m.status = ?`)
		args = append(args, string(opts.Status))
	}
	// ASCII queries are matched in SQL (SQLite's lower() folds ASCII only);
	// others are matched in Go with Unicode case folding.
	q := strings.ToLower(opts.Query)
	goFilter := q != "" && !isASCII(q)
	if q != "" && !goFilter {
		sb.WriteString(` AND (instr(lower(u.email), ?) > 0 OR instr(lower(m.name), ?) > 0
OR instr(lower(m.first_name), ?) > 0 OR instr(lower(m.last_name), ?) > 0)`)
		args = append(args, q, q, q, q)
	}
	sb.WriteString(` ORDER BY m.seq`)
	if !goFilter {
		sb.WriteString(` LIMIT ?`)
		args = append(args, limit+1)
	}

	return membersQ{query: sb.String(), args: args, limit: limit, q: q, goFilter: goFilter}, nil
}
