package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/invitekit/invitekit/store"
)

// GetMembership implements store.Memberships: one primary-key lookup.
func (s *Store) GetMembership(ctx context.Context, orgID, userID string) (store.Membership, error) {
	m, err := scanMembership(s.pool.QueryRow(ctx, s.sql(`SELECT `+membershipCols+` FROM {s}.memberships
		WHERE org_id = $1 AND user_id = $2`), orgID, userID))
	if err != nil {
		return store.Membership{}, notFound(err, "membership")
	}
	return m, nil
}

// qMembershipByExternalID repeats the partial index's predicate (a
// non-empty external_id) so that a generic plan can use
// memberships_org_external_id_key (see qUserByExternalID).
const qMembershipByExternalID = `SELECT ` + membershipCols + ` FROM {s}.memberships
	WHERE org_id = $1 AND external_id = $2 AND external_id <> ''`

// GetMembershipByExternalID implements store.Memberships: one lookup in
// orgID's part of the (org_id, external_id) index. An empty external id is
// never found.
func (s *Store) GetMembershipByExternalID(ctx context.Context, orgID, externalID string) (store.Membership, error) {
	if externalID == "" {
		return store.Membership{}, fmt.Errorf("pgstore: membership by external id: %w", store.ErrNotFound)
	}
	m, err := scanMembership(s.pool.QueryRow(ctx, s.sql(qMembershipByExternalID), orgID, externalID))
	if err != nil {
		return store.Membership{}, notFound(err, "membership by external id")
	}
	return m, nil
}

// ListUserMemberships implements store.Memberships. A user with no
// memberships (or no such user) gets an empty list and no error.
func (s *Store) ListUserMemberships(ctx context.Context, userID string) ([]store.Membership, error) {
	rows, err := s.pool.Query(ctx, s.sql(`SELECT `+membershipCols+` FROM {s}.memberships
		WHERE user_id = $1 ORDER BY seq`), userID)
	if err != nil {
		return nil, fmt.Errorf("pgstore: list user memberships: %w", err)
	}
	defer rows.Close()
	var out []store.Membership
	for rows.Next() {
		m, err := scanMembership(rows)
		if err != nil {
			return nil, fmt.Errorf("pgstore: list user memberships: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pgstore: list user memberships: %w", err)
	}
	return out, nil
}

// qUpdateMembership sets each group of columns whose flag is true: roles
// ($3, $4), metadata ($5, $6), external id ($7, $8), profile ($9, $10–$16),
// user metadata ($17, $18).
var qUpdateMembership = `UPDATE {s}.memberships SET
		roles = CASE WHEN $3 THEN $4::jsonb ELSE roles END,
		metadata = CASE WHEN $5 THEN $6::jsonb ELSE metadata END,
		external_id = CASE WHEN $7 THEN $8::text ELSE external_id END,
		first_name = CASE WHEN $9 THEN $10::text ELSE first_name END,
		last_name = CASE WHEN $9 THEN $11::text ELSE last_name END,
		name = CASE WHEN $9 THEN $12::text ELSE name END,
		locale = CASE WHEN $9 THEN $13::text ELSE locale END,
		phone_number = CASE WHEN $9 THEN $14::text ELSE phone_number END,
		profile_metadata = CASE WHEN $9 THEN $15::jsonb ELSE profile_metadata END,
		custom_attributes = CASE WHEN $9 THEN $16::jsonb ELSE custom_attributes END,
		user_metadata = CASE WHEN $17 THEN $18::jsonb ELSE user_metadata END,
		update_time = $19
	WHERE org_id = $1 AND user_id = $2 RETURNING ` + membershipCols

// UpdateMembership implements store.Memberships. A non-nil Metadata or
// UserMetadata replaces the whole map, a non-nil Profile the whole
// profile. An external id another membership of the organization has is
// refused by memberships_org_external_id_key (ErrExternalIDTaken), also
// when that membership is being written concurrently.
func (s *Store) UpdateMembership(ctx context.Context, orgID, userID string, u store.MembershipUpdate, now time.Time, ev store.Event) (store.Membership, error) {
	ev = store.FillEvent(ev, orgID, userID)
	var ext string
	if u.ExternalID != nil {
		ext = *u.ExternalID
	}
	var prof store.MemberProfile
	if u.Profile != nil {
		prof = *u.Profile
	}
	var m store.Membership
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if err := s.keepRole(ctx, tx, orgID, userID, u.KeepRole, "", "", u.Roles); err != nil {
			return err
		}
		var err error
		m, err = scanMembership(tx.QueryRow(ctx, s.sql(qUpdateMembership),
			orgID, userID, u.Roles != nil, jsonList(u.Roles), u.Metadata != nil, jsonMap(u.Metadata),
			u.ExternalID != nil, ext,
			u.Profile != nil, prof.FirstName, prof.LastName, prof.Name, prof.Locale, prof.PhoneNumber,
			jsonMap(prof.Metadata), jsonMap(prof.CustomAttributes),
			u.UserMetadata != nil, jsonMap(u.UserMetadata), now))
		if isConstraint(err, codeUniqueViolation, memberExternalIDKey) {
			return fmt.Errorf("pgstore: update membership: external id %q: %w", ext, store.ErrExternalIDTaken)
		}
		if err != nil {
			return notFound(err, "update membership")
		}
		if err := s.appendEventNotify(ctx, tx, ev, store.Change{OrganizationID: orgID, UserID: userID}); err != nil {
			return fmt.Errorf("pgstore: update membership: %w", err)
		}
		return nil
	})
	if err != nil {
		return store.Membership{}, err
	}
	return m, nil
}

// SetMembershipStatus implements store.Memberships with one conditional
// UPDATE (… WHERE status = from), so of two concurrent transitions from the
// same status only one succeeds.
func (s *Store) SetMembershipStatus(ctx context.Context, orgID, userID string, c store.StatusChange) (store.Membership, error) {
	ev := store.FillEvent(c.Event, orgID, userID)
	var m store.Membership
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if err := s.keepRole(ctx, tx, orgID, userID, c.KeepRole, c.From, c.To, nil); err != nil {
			return err
		}
		var err error
		m, err = scanMembership(tx.QueryRow(ctx, s.sql(`UPDATE {s}.memberships SET status = $4, update_time = $5
			WHERE org_id = $1 AND user_id = $2 AND status = $3 RETURNING `+membershipCols),
			orgID, userID, string(c.From), string(c.To), c.Now))
		if errors.Is(err, pgx.ErrNoRows) {
			return s.membershipStatusError(ctx, tx, "set membership status", orgID, userID, c.From)
		}
		if err != nil {
			return fmt.Errorf("pgstore: set membership status: %w", err)
		}
		if err := s.appendEventNotify(ctx, tx, ev, store.Change{OrganizationID: orgID, UserID: userID}); err != nil {
			return fmt.Errorf("pgstore: set membership status: %w", err)
		}
		return nil
	})
	if err != nil {
		return store.Membership{}, err
	}
	return m, nil
}

// keepRole refuses (store.ErrLastRoleHolder) changing the membership from
// status from to status to ("" = unchanged) and roles (nil = unchanged)
// when that takes role
// from the organization's last ACTIVE holder. With a role to keep it first
// locks the organization's row, so guarded changes in one organization
// run one at a time and each sees the others' committed result (READ
// COMMITTED takes a new snapshot per statement). Changes that only add
// holders need no lock. A missing membership, or one not in status from,
// is left to the update to report.
func (s *Store) keepRole(ctx context.Context, tx pgx.Tx, orgID, userID, role string, from, to store.MembershipStatus, roles []string) error {
	if role == "" {
		return nil
	}
	if _, err := tx.Exec(ctx, s.sql(`SELECT 1 FROM {s}.organizations WHERE id = $1 FOR UPDATE`), orgID); err != nil {
		return fmt.Errorf("pgstore: keep role: %w", err)
	}
	m, err := scanMembership(tx.QueryRow(ctx, s.sql(`SELECT `+membershipCols+` FROM {s}.memberships WHERE org_id = $1 AND user_id = $2`), orgID, userID))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("pgstore: keep role: %w", err)
	}
	if from != "" && m.Status != from {
		return nil
	}
	if to == "" {
		to = m.Status
	}
	if !m.LosesRole(role, to, roles) {
		return nil
	}
	var other bool
	err = tx.QueryRow(ctx, s.sql(`SELECT EXISTS (SELECT 1 FROM {s}.memberships
		WHERE org_id = $1 AND user_id <> $2 AND status = 'ACTIVE' AND roles ? $3)`), orgID, userID, role).Scan(&other)
	if err != nil {
		return fmt.Errorf("pgstore: keep role: %w", err)
	}
	if !other {
		return fmt.Errorf("pgstore: role %q: %w", role, store.ErrLastRoleHolder)
	}
	return nil
}

// membershipStatusError explains why a conditional update of (orgID,
// userID) WHERE status = want touched no row: ErrNotFound or ErrWrongStatus.
func (s *Store) membershipStatusError(ctx context.Context, tx pgx.Tx, op, orgID, userID string, want store.MembershipStatus) error {
	var status string
	err := tx.QueryRow(ctx, s.sql(`SELECT status FROM {s}.memberships WHERE org_id = $1 AND user_id = $2`), orgID, userID).Scan(&status)
	if err != nil {
		return notFound(err, "%s: membership", op)
	}
	return fmt.Errorf("pgstore: %s: membership is %s, not %s: %w", op, status, want, store.ErrWrongStatus)
}
