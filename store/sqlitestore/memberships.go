package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/invitekit/invitekit/store"
)

const (
	// membershipColumns are a membership's columns in scan (and insert)
	// order: the membership's own, then the organization's view of the
	// member (0002_member_view).
	membershipColumns = `seq, org_id, user_id, status, roles, metadata, primary_idp, invited_by,
invite_expire_time, join_time, update_time, external_id, first_name, last_name, name, locale,
phone_number, profile_metadata, custom_attributes, user_metadata, last_login`

	insertMembershipHead = `INSERT INTO memberships (` + membershipColumns + `) VALUES `
	membershipInsertCols = 21

	qGetMembership       = `SELECT ` + membershipColumns + ` FROM memberships WHERE org_id = ? AND user_id = ?`
	qMembershipExists    = `SELECT 1 FROM memberships WHERE org_id = ? AND user_id = ?`
	qListUserMemberships = `SELECT ` + membershipColumns + ` FROM memberships WHERE user_id = ? ORDER BY seq`
	// The external_id <> '' term lets SQLite use the partial index
	// memberships_org_external_id (and never finds an empty id).
	qGetMembershipByExternal = `SELECT ` + membershipColumns + ` FROM memberships
WHERE org_id = ? AND external_id = ? AND external_id <> ''`
	qExternalIDOwner  = `SELECT user_id FROM memberships WHERE org_id = ? AND external_id = ? AND external_id <> ''`
	qUpdateMembership = `UPDATE memberships SET status = ?, roles = ?, metadata = ?, primary_idp = ?,
invite_expire_time = ?, update_time = ?, external_id = ?, first_name = ?, last_name = ?, name = ?,
locale = ?, phone_number = ?, profile_metadata = ?, custom_attributes = ?, user_metadata = ?,
last_login = ? WHERE org_id = ? AND user_id = ?`
	// qRecordMemberLogin sets the last login of a user's ACTIVE memberships.
	qRecordMemberLogin = `UPDATE memberships SET last_login = ? WHERE user_id = ? AND status = 'ACTIVE'`
	qDeleteMembership  = `DELETE FROM memberships WHERE org_id = ? AND user_id = ?`
	// qReserveSeqs reserves n membership seqs and returns the last one.
	qReserveSeqs = `UPDATE counters SET value = value + ? WHERE name = 'membership_seq' RETURNING value`
)

func notMember(orgID, userID string) error {
	return fmt.Errorf("sqlitestore: membership of user %q in organization %q: %w", userID, orgID, store.ErrNotFound)
}

// GetMembership implements store.Memberships.
func (s *Store) GetMembership(ctx context.Context, orgID, userID string) (store.Membership, error) {
	var m store.Membership
	err := s.readRow(ctx, scanMembership(&m), qGetMembership, orgID, userID)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Membership{}, notMember(orgID, userID)
	}
	if err != nil {
		return store.Membership{}, err
	}
	return m, nil
}

// GetMembershipByExternalID implements store.Memberships. An empty
// external id is never found.
func (s *Store) GetMembershipByExternalID(ctx context.Context, orgID, externalID string) (store.Membership, error) {
	var m store.Membership
	err := s.readRow(ctx, scanMembership(&m), qGetMembershipByExternal, orgID, externalID)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Membership{}, fmt.Errorf("sqlitestore: membership with external id %q in organization %q: %w", externalID, orgID, store.ErrNotFound)
	}
	if err != nil {
		return store.Membership{}, err
	}
	return m, nil
}

// ListUserMemberships implements store.Memberships.
func (s *Store) ListUserMemberships(ctx context.Context, userID string) ([]store.Membership, error) {
	rows, err := s.readRows(ctx, qListUserMemberships, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ms []store.Membership
	for rows.Next() {
		var m store.Membership
		if err := scanMembership(&m)(rows); err != nil {
			return nil, fmt.Errorf("sqlitestore: %w", err)
		}
		ms = append(ms, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	return ms, nil
}

// membership reads orgID's membership of userID inside t (ErrNotFound).
func (t *wtx) membership(orgID, userID string) (store.Membership, error) {
	var m store.Membership
	err := t.row(scanMembership(&m), qGetMembership, orgID, userID)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Membership{}, notMember(orgID, userID)
	}
	if err != nil {
		return store.Membership{}, err
	}
	return m, nil
}

// reserveSeqs reserves n consecutive membership seqs and returns the
// first. Seqs are never handed out twice, even for deleted memberships.
func (t *wtx) reserveSeqs(n int) (int64, error) {
	if t.seqAhead != 0 && n == 1 { // reserved already (qReserveSeqRevision)
		seq := t.seqAhead
		t.seqAhead = 0
		return seq, nil
	}
	var last int64
	if err := t.row(func(sc scanner) error { return sc.Scan(&last) }, qReserveSeqs, n); err != nil {
		return 0, err
	}
	return last - int64(n) + 1, nil
}

// membershipMaps are a membership's encoded JSON columns.
type membershipMaps struct {
	roles, md, pmd, ca, umd any // nil or a string (see textArg)
}

func encodeMembershipMaps(m *store.Membership) (e membershipMaps, err error) {
	var roles, md, pmd, ca, umd sql.NullString
	if roles, err = jsonList(m.Roles); err != nil {
		return e, err
	}
	if md, err = jsonMap(m.Metadata); err != nil {
		return e, err
	}
	if pmd, err = jsonMap(m.Profile.Metadata); err != nil {
		return e, err
	}
	if ca, err = jsonMap(m.Profile.CustomAttributes); err != nil {
		return e, err
	}
	if umd, err = jsonMap(m.UserMetadata); err != nil {
		return e, err
	}
	return membershipMaps{textArg(roles), textArg(md), textArg(pmd), textArg(ca), textArg(umd)}, nil
}

// membershipArgs appends m's insert arguments (membershipColumns order).
func membershipArgs(args []any, m store.Membership) ([]any, error) {
	e, err := encodeMembershipMaps(&m)
	if err != nil {
		return nil, err
	}
	p := &m.Profile
	return append(args, m.Seq, m.OrganizationID, m.UserID, string(m.Status), e.roles, e.md,
		m.PrimaryIdentityProvider, m.InvitedBy, tsOf(m.InviteExpireTime), tsOf(m.JoinTime), tsOf(m.UpdateTime),
		m.ExternalID, p.FirstName, p.LastName, p.Name, p.Locale, p.PhoneNumber, e.pmd, e.ca, e.umd,
		nullTsArg(m.LastLogin)), nil
}

// saveMembership writes the mutable fields of m back (by org and user).
func (t *wtx) saveMembership(m store.Membership) error {
	e, err := encodeMembershipMaps(&m)
	if err != nil {
		return err
	}
	p := &m.Profile
	_, err = t.exec(qUpdateMembership, string(m.Status), e.roles, e.md, m.PrimaryIdentityProvider,
		tsOf(m.InviteExpireTime), tsOf(m.UpdateTime), m.ExternalID, p.FirstName, p.LastName, p.Name,
		p.Locale, p.PhoneNumber, e.pmd, e.ca, e.umd, nullTsArg(m.LastLogin), m.OrganizationID, m.UserID)
	return err
}

// externalIDFree reports ErrExternalIDTaken when another membership of
// orgID than userID's has the external id ext ("" is always free).
func (t *wtx) externalIDFree(orgID, userID, ext string) error {
	if ext == "" {
		return nil
	}
	var owner string
	err := t.row(func(sc scanner) error { return sc.Scan(&owner) }, qExternalIDOwner, orgID, ext)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return err
	case owner != userID:
		return fmt.Errorf("sqlitestore: external id %q in organization %q: %w", ext, orgID, store.ErrExternalIDTaken)
	}
	return nil
}

// UpdateMembership implements store.Memberships.
func (s *Store) UpdateMembership(ctx context.Context, orgID, userID string, u store.MembershipUpdate, now time.Time, ev store.Event) (store.Membership, error) {
	var m store.Membership
	err := s.write(ctx, func(t *wtx) error {
		var err error
		if m, err = t.membership(orgID, userID); err != nil {
			return err
		}
		if err := t.keepRole(m, u.KeepRole, m.Status, u.Roles); err != nil {
			return err
		}
		if u.ExternalID != nil {
			if err := t.externalIDFree(orgID, userID, *u.ExternalID); err != nil {
				return err
			}
			m.ExternalID = *u.ExternalID
		}
		if u.Roles != nil {
			m.Roles = append([]string{}, u.Roles...)
		}
		if u.Metadata != nil {
			m.Metadata = cloneMap(u.Metadata)
		}
		if u.Profile != nil {
			m.Profile = *u.Profile
		}
		if u.UserMetadata != nil {
			m.UserMetadata = cloneMap(u.UserMetadata)
		}
		m.UpdateTime = now
		if err := t.saveMembership(m); err != nil {
			return err
		}
		err = t.appendEvent(store.FillEvent(ev, orgID, userID))
		t.changed(orgID, userID)
		return err
	})
	if err != nil {
		return store.Membership{}, err
	}
	return normalizeMembership(m), nil
}

// SetMembershipStatus implements store.Memberships.
func (s *Store) SetMembershipStatus(ctx context.Context, orgID, userID string, c store.StatusChange) (store.Membership, error) {
	var m store.Membership
	err := s.write(ctx, func(t *wtx) error {
		var err error
		if m, err = t.membership(orgID, userID); err != nil {
			return err
		}
		if m.Status != c.From {
			return fmt.Errorf("sqlitestore: membership is %s, not %s: %w", m.Status, c.From, store.ErrWrongStatus)
		}
		if err := t.keepRole(m, c.KeepRole, c.To, nil); err != nil {
			return err
		}
		m.Status = c.To
		m.UpdateTime = c.Now
		if err := t.saveMembership(m); err != nil {
			return err
		}
		err = t.appendEvent(store.FillEvent(c.Event, orgID, userID))
		t.changed(orgID, userID)
		return err
	})
	if err != nil {
		return store.Membership{}, err
	}
	return normalizeMembership(m), nil
}

// qOtherActiveHolder: does an ACTIVE membership of the organization other
// than the user's hold the role?
const qOtherActiveHolder = `SELECT EXISTS (SELECT 1 FROM memberships m, json_each(m.roles) r
	WHERE m.org_id = ? AND m.user_id <> ? AND m.status = 'ACTIVE' AND r.value = ?)`

// keepRole refuses (store.ErrLastRoleHolder) changing m to status and roles
// when that takes role from the organization's last ACTIVE holder. The
// store's single writer makes the check and the write atomic.
func (t *wtx) keepRole(m store.Membership, role string, status store.MembershipStatus, roles []string) error {
	if !m.LosesRole(role, status, roles) {
		return nil
	}
	var other bool
	if err := t.row(func(sc scanner) error { return sc.Scan(&other) }, qOtherActiveHolder, m.OrganizationID, m.UserID, role); err != nil {
		return fmt.Errorf("sqlitestore: keep role: %w", err)
	}
	if !other {
		return fmt.Errorf("sqlitestore: role %q: %w", role, store.ErrLastRoleHolder)
	}
	return nil
}

// normalizeTimes makes a membership assembled in memory look like one read
// back from the database (UTC, no monotonic reading).
func normalizeTimes(m store.Membership) store.Membership {
	m.InviteExpireTime = timeOf(tsOf(m.InviteExpireTime))
	m.JoinTime = timeOf(tsOf(m.JoinTime))
	m.UpdateTime = timeOf(tsOf(m.UpdateTime))
	if m.LastLogin != nil {
		m.LastLogin = timePtrOf(nullTsOf(m.LastLogin))
	}
	return m
}

func cloneMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}
