package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/invitekit/invitekit/store"
)

var _ store.AcceptLoginer = (*Store)(nil)

// qAcceptLogin accepts an invitation and records the login in one
// statement, so that it costs one round trip and one commit (a single
// statement outside BEGIN is its own transaction). Every write depends on
// the one before it succeeding: the invitation is spent only when it is
// live, its membership pending and the identity not another user's; the
// membership is activated only when the invitation was spent; the user,
// the other ACTIVE memberships, the events and the notification only when
// the membership was activated. The final SELECT divides by the number of
// rows written, so that any refusal (or an identity a concurrent
// transaction linked to another user meanwhile) is an error (22012), which
// rolls the whole statement back; AcceptInvitationLogin then explains it.
//
// The locks are taken in the order of the other writers: the invitation,
// the membership, the user's other memberships, the user, and the event
// feed's advisory lock last (each step reads the one before it).
const qAcceptLogin = `WITH spent AS (
	UPDATE {s}.invitations SET spend_time = @now
	WHERE id = @inv AND org_id = @org AND user_id = @user
	  AND spend_time IS NULL AND revoke_time IS NULL AND expire_time > @now
	  AND NOT EXISTS (SELECT 1 FROM {s}.identities WHERE issuer = @issuer AND subject = @subject AND user_id <> @user)
	RETURNING 1
), act AS (
	UPDATE {s}.memberships SET status = 'ACTIVE', invite_expire_time = ` + zeroTime + `,
		primary_idp = CASE WHEN @idp <> '' THEN @idp ELSE primary_idp END, update_time = @now, last_login = @now,
		name = CASE WHEN name = '' THEN @name ELSE name END
	WHERE org_id = @org AND user_id = @user AND status = 'PENDING_INVITE' AND EXISTS (SELECT 1 FROM spent)
	RETURNING ` + membershipCols + `
), ident AS (
	INSERT INTO {s}.identities (issuer, subject, user_id, email, create_time)
	SELECT @issuer, @subject, @user, @email, @idtime FROM act
	ON CONFLICT (issuer, subject) DO NOTHING RETURNING 1
), own AS (
	SELECT 1 FROM {s}.identities WHERE issuer = @issuer AND subject = @subject AND user_id = @user
), others AS (
	UPDATE {s}.memberships SET last_login = @now
	WHERE user_id = @user AND status = 'ACTIVE' AND org_id <> @org AND EXISTS (SELECT 1 FROM act)
	RETURNING 1
), usr AS (
	UPDATE {s}.users SET last_login = @now,
		update_time = CASE WHEN @verified AND NOT email_verified THEN @now ELSE update_time END,
		email_verified = email_verified OR @verified
	WHERE id = @user AND EXISTS (SELECT 1 FROM act) AND (SELECT count(*) FROM others) >= 0
	RETURNING 1
), l AS MATERIALIZED (
	SELECT pg_advisory_xact_lock(@lock) FROM usr
), n AS MATERIALIZED (
	SELECT pg_notify(@channel, @payload) FROM l
), ev AS (
	INSERT INTO {s}.events (id, org_id, type, user_id, actor_id, data, create_time)
	SELECT v.* FROM n, (VALUES
		(@ev1id::text, @org::text, @ev1type::text, @user::text, @ev1actor::text, @ev1data::jsonb, @ev1time::timestamptz),
		(@ev2id::text, @org::text, @ev2type::text, @user::text, @ev2actor::text, @ev2data::jsonb, @ev2time::timestamptz)) v
	RETURNING 1
)
SELECT act.*, 1 / ((SELECT count(*) FROM ev) * ((SELECT count(*) FROM ident) + (SELECT count(*) FROM own))) AS ok
FROM (SELECT 1) one LEFT JOIN act ON true`

// codeDivisionByZero is qAcceptLogin's refusal.
const codeDivisionByZero = "22012"

// AcceptInvitationLogin implements store.AcceptLoginer in one round trip
// (qAcceptLogin) when p.Event names the organization and the user (as the
// Service's does); otherwise it reads the invitation first. A refusal is
// explained by reading the rows afterwards, with AcceptInvitation's checks
// in its order; when that finds nothing wrong (the rows changed in
// between), the accept is tried again.
func (s *Store) AcceptInvitationLogin(ctx context.Context, p store.AcceptParams, login store.Event) (store.Membership, error) {
	orgID, userID := p.Event.OrganizationID, p.Identity.UserID
	if orgID == "" || userID == "" {
		inv, err := s.GetInvitation(ctx, p.InvitationID)
		if err != nil {
			return store.Membership{}, fmt.Errorf("pgstore: accept: %w", err)
		}
		orgID, userID = inv.OrganizationID, inv.UserID
	}
	accepted := store.FillEvent(p.Event, orgID, userID)
	login = store.FillEvent(login, orgID, userID)
	for _, ev := range []*store.Event{&accepted, &login} {
		if ev.ID == "" {
			ev.ID = store.NewID("evt")
		}
	}
	args := pgx.NamedArgs{
		"inv": p.InvitationID, "org": orgID, "user": userID, "now": p.Now,
		"issuer": p.Identity.Issuer, "subject": p.Identity.Subject, "email": p.Identity.Email, "idtime": p.Identity.CreateTime,
		"idp": p.IdentityProvider, "name": p.ProfileName, "verified": p.EmailVerified,
		"lock": s.eventLock(orgID), "channel": s.Channel(), "payload": encodeChange(store.Change{OrganizationID: orgID, UserID: userID}),
		"ev1id": accepted.ID, "ev1type": accepted.Type, "ev1actor": accepted.ActorID, "ev1data": jsonMap(accepted.Data), "ev1time": accepted.CreateTime,
		"ev2id": login.ID, "ev2type": login.Type, "ev2actor": login.ActorID, "ev2data": jsonMap(login.Data), "ev2time": login.CreateTime,
	}
	for attempt := 1; ; attempt++ {
		var (
			d  membershipDest
			ok int64
		)
		err := s.pool.QueryRow(ctx, s.sql(qAcceptLogin), args).Scan(append(d.targets(), &ok)...)
		if err == nil {
			return d.membership()
		}
		if pe := pgErr(err); pe == nil || pe.Code != codeDivisionByZero {
			if retryable(err) && attempt < maxAttempts && ctx.Err() == nil {
				continue
			}
			return store.Membership{}, fmt.Errorf("pgstore: accept: %w", err)
		}
		why := s.acceptRefusal(ctx, p, orgID, userID)
		if why != nil || attempt == maxAttempts {
			if why == nil {
				why = fmt.Errorf("pgstore: accept: invitation %q changed concurrently", p.InvitationID)
			}
			return store.Membership{}, why
		}
	}
}

// acceptRefusal explains why qAcceptLogin wrote nothing, with
// AcceptInvitation's checks in its order, or returns nil when nothing is
// wrong any more.
func (s *Store) acceptRefusal(ctx context.Context, p store.AcceptParams, orgID, userID string) error {
	var why error
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var invOrg, invUser string
		err := tx.QueryRow(ctx, s.sql(`SELECT org_id, user_id FROM {s}.invitations
			WHERE id = $1 AND spend_time IS NULL AND revoke_time IS NULL AND expire_time > $2`), p.InvitationID, p.Now).Scan(&invOrg, &invUser)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			why = s.invitationError(ctx, tx, "accept", p.InvitationID, &p.Now)
			return nil
		case err != nil:
			return err
		case invOrg != orgID || invUser != userID: // the caller's event names another membership
			why = fmt.Errorf("pgstore: accept: invitation %q: %w", p.InvitationID, store.ErrNotFound)
			return nil
		}
		var status string
		err = tx.QueryRow(ctx, s.sql(`SELECT status FROM {s}.memberships WHERE org_id = $1 AND user_id = $2`), orgID, userID).Scan(&status)
		switch {
		case err != nil:
			why = notFound(err, "accept: membership")
			return nil
		case status != string(store.StatusPendingInvite):
			why = fmt.Errorf("pgstore: accept: membership is %s, not %s: %w", status, store.StatusPendingInvite, store.ErrWrongStatus)
			return nil
		}
		var owner string
		err = tx.QueryRow(ctx, s.sql(qIdentityOwner), p.Identity.Issuer, p.Identity.Subject).Scan(&owner)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
		case err != nil:
			return err
		case owner != userID:
			why = fmt.Errorf("pgstore: accept: identity: %w", store.ErrIdentityTaken)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("pgstore: accept: %w", err)
	}
	return why
}
