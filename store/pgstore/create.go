package pgstore

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/invitekit/invitekit/store"
)

// qCreateUser checks that the organization ($1) exists and, only then,
// inserts the user unless one has the email already, in one statement.
// It returns whether the organization exists and the new user's id (NULL
// when the email was taken: ON CONFLICT waits for a concurrent insert of
// the same email to commit, so the existing user can then be read).
var qCreateUser = `WITH org AS (SELECT EXISTS (SELECT 1 FROM {s}.organizations WHERE id = $1) AS ok),
ins AS (
	INSERT INTO {s}.users (` + strings.Join(userInsertCols, ", ") + `)
	SELECT $2::text, $3::text, $4::text, $5::text, $6::text, $7::text, $8::text, $9::text, $10::boolean,
		$11::text, $12::jsonb, $13::jsonb, $14::jsonb, $15::timestamptz, $16::timestamptz, $17::timestamptz
	FROM org WHERE org.ok
	ON CONFLICT (email) DO NOTHING
	RETURNING id)
SELECT org.ok, (SELECT id FROM ins) FROM org`

var qInsertMembership = `INSERT INTO {s}.memberships (` + strings.Join(membershipInsertCols, ", ") + `)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)
	ON CONFLICT (org_id, user_id) DO NOTHING RETURNING seq`

var qInsertInvitation = `INSERT INTO {s}.invitations (` + strings.Join(invitationInsertCols, ", ") + `)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`

var qInsertOutbox = `INSERT INTO {s}.outbox (` + strings.Join(outboxInsertCols, ", ") + `)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`

// CreateMembership implements store.Memberships, in one round trip
// (createMembershipOneTrip) unless that cannot decide alone; then in one
// transaction of four round trips: the user (created or found by email,
// with the organization check), then the membership, invitation, outbox
// message and event sent together as one pipelined batch. A second membership of the
// user in the organization (even one committed concurrently) is refused by
// the (org_id, user_id) unique key, and a membership external id taken in
// the organization by memberships_org_external_id_key; either rolls
// everything back. (A membership that is both is ErrAlreadyMember: ON
// CONFLICT checks its own key first.)
func (s *Store) CreateMembership(ctx context.Context, p store.CreateMembershipParams) (store.CreateMembershipResult, error) {
	if res, err := s.createMembershipOneTrip(ctx, p, nil); !errors.Is(err, errOneTripFallback) {
		return res, err
	}
	return s.createMembershipAfter(ctx, p, nil)
}

// createMembershipAfter runs first (when not nil), then writes p, in one
// transaction.
func (s *Store) createMembershipAfter(ctx context.Context, p store.CreateMembershipParams, first func(pgx.Tx) error) (store.CreateMembershipResult, error) {
	if p.Invitation != nil && p.Invitation.ID == "" {
		return store.CreateMembershipResult{}, errors.New("pgstore: create membership: invitation id is empty")
	}
	var res store.CreateMembershipResult
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if first != nil {
			if err := first(tx); err != nil {
				return err
			}
		}
		var err error
		res, err = s.createMembership(ctx, tx, p)
		return err
	})
	if err != nil {
		return store.CreateMembershipResult{}, err
	}
	return res, nil
}

func (s *Store) createMembership(ctx context.Context, tx pgx.Tx, p store.CreateMembershipParams) (store.CreateMembershipResult, error) {
	orgID := p.Membership.OrganizationID
	u := p.User
	if u.ID == "" {
		u.ID = store.NewID("usr")
	}
	var (
		orgOK bool
		newID *string
	)
	err := tx.QueryRow(ctx, s.sql(qCreateUser), append([]any{orgID}, userArgs(u)...)...).Scan(&orgOK, &newID)
	switch {
	case isConstraint(err, codeUniqueViolation, "users_external_id_key"):
		return store.CreateMembershipResult{}, fmt.Errorf("pgstore: create membership: external id %q: %w", u.ExternalID, store.ErrExternalIDTaken)
	case isConstraint(err, codeUniqueViolation, "users_pkey"):
		return store.CreateMembershipResult{}, fmt.Errorf("pgstore: create membership: user id %q is taken", u.ID)
	case err != nil:
		return store.CreateMembershipResult{}, fmt.Errorf("pgstore: create membership: %w", err)
	case !orgOK:
		return store.CreateMembershipResult{}, fmt.Errorf("pgstore: create membership: organization %q: %w", orgID, store.ErrNotFound)
	}
	created := newID != nil
	if created {
		u = storedUser(u)
		u.SessionGeneration = 0 // the column's default
	} else {
		u, err = scanUser(tx.QueryRow(ctx, s.sql(`SELECT `+userCols+` FROM {s}.users WHERE email = $1`), p.User.Email))
		if err != nil {
			return store.CreateMembershipResult{}, fmt.Errorf("pgstore: create membership: read user: %w", err)
		}
	}

	m := p.Membership
	m.UserID = u.ID
	b := &pgx.Batch{}
	b.Queue(s.sql(qInsertMembership), membershipArgs(m)...)
	if p.Invitation != nil {
		inv := *p.Invitation
		inv.UserID = u.ID
		if inv.OrganizationID == "" {
			inv.OrganizationID = orgID
		}
		b.Queue(s.sql(qInsertInvitation), invitationArgs(inv)...)
	}
	if p.Outbox != nil {
		b.Queue(s.sql(qInsertOutbox), outboxArgs(fillOutbox(*p.Outbox, orgID))...)
	}
	ev := p.Event
	ev.UserID = u.ID
	s.queueEventNotify(b, store.FillEvent(ev, orgID, u.ID), store.Change{OrganizationID: orgID, UserID: u.ID})

	br := tx.SendBatch(ctx, b)
	err = br.QueryRow().Scan(&m.Seq)
	if errors.Is(err, pgx.ErrNoRows) {
		br.Close()
		return store.CreateMembershipResult{}, fmt.Errorf("pgstore: create membership: user %q in organization %q: %w", u.ID, orgID, store.ErrAlreadyMember)
	}
	for i := 1; err == nil && i < b.Len(); i++ {
		_, err = br.Exec()
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return store.CreateMembershipResult{}, createMembershipErr(err, p, u, m.ExternalID, orgID)
	}
	return store.CreateMembershipResult{User: u, Membership: storedMembership(m), UserCreated: created}, nil
}
