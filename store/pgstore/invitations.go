package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/invitekit/invitekit/store"
)

// Lock order. Every transaction that changes an invitation and its
// membership (accept, reissue, revoke) locks the invitation row(s) first and
// the membership row second, and appends its event last, so these
// operations cannot deadlock each other.

// GetInvitation implements store.Memberships.
func (s *Store) GetInvitation(ctx context.Context, invitationID string) (store.Invitation, error) {
	inv, err := scanInvitation(s.pool.QueryRow(ctx, s.sql(`SELECT `+invitationCols+` FROM {s}.invitations WHERE id = $1`), invitationID))
	if err != nil {
		return store.Invitation{}, notFound(err, "invitation")
	}
	return inv, nil
}

// GetMembershipInvitation implements store.Memberships. "Newest" is the
// last inserted; revoked and spent invitations count.
func (s *Store) GetMembershipInvitation(ctx context.Context, orgID, userID string) (store.Invitation, error) {
	inv, err := scanInvitation(s.pool.QueryRow(ctx, s.sql(`SELECT `+invitationCols+` FROM {s}.invitations
		WHERE org_id = $1 AND user_id = $2 ORDER BY seq DESC LIMIT 1`), orgID, userID))
	if err != nil {
		return store.Invitation{}, notFound(err, "membership invitation")
	}
	return inv, nil
}

const qSpendInvitation = `UPDATE {s}.invitations SET spend_time = $2
	WHERE id = $1 AND spend_time IS NULL AND revoke_time IS NULL AND expire_time > $2
	RETURNING org_id, user_id`

const qActivateMembership = `UPDATE {s}.memberships SET status = 'ACTIVE', invite_expire_time = ` + zeroTime + `,
		primary_idp = CASE WHEN $3 <> '' THEN $3 ELSE primary_idp END, update_time = $4, last_login = $4,
		name = CASE WHEN name = '' THEN $5 ELSE name END
	WHERE org_id = $1 AND user_id = $2 AND status = 'PENDING_INVITE' RETURNING ` + membershipCols

const qVerifyEmail = `UPDATE {s}.users SET email_verified = true, update_time = $2 WHERE id = $1 AND NOT email_verified`

// AcceptInvitation implements store.Memberships. The invitation is spent by
// one conditional UPDATE (unspent, unrevoked, unexpired at p.Now): of many
// concurrent calls, in any number of processes, exactly one matches; the
// others wait for its row lock, re-check the condition and find the
// invitation spent. A refusal is explained by reading the row in the same
// transaction, with the checks in this order: ErrNotFound, ErrInviteUsed,
// ErrInviteRevoked, ErrInviteExpired, ErrNotFound (membership),
// ErrWrongStatus, ErrIdentityTaken. On any error nothing is written.
func (s *Store) AcceptInvitation(ctx context.Context, p store.AcceptParams) (store.Membership, error) {
	var m store.Membership
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var orgID, userID string
		err := tx.QueryRow(ctx, s.sql(qSpendInvitation), p.InvitationID, p.Now).Scan(&orgID, &userID)
		if errors.Is(err, pgx.ErrNoRows) {
			return s.invitationError(ctx, tx, "accept", p.InvitationID, &p.Now)
		}
		if err != nil {
			return fmt.Errorf("pgstore: accept: %w", err)
		}
		id := p.Identity
		id.UserID = userID

		b := &pgx.Batch{}
		b.Queue(s.sql(qActivateMembership), orgID, userID, p.IdentityProvider, p.Now, p.ProfileName)
		b.Queue(s.sql(qInsertIdentity), id.Issuer, id.Subject, id.UserID, id.Email, id.CreateTime)
		if p.EmailVerified {
			b.Queue(s.sql(qVerifyEmail), userID, p.Now)
		}
		s.queueEventNotify(b, store.FillEvent(p.Event, orgID, userID), store.Change{OrganizationID: orgID, UserID: userID})
		br := tx.SendBatch(ctx, b)
		m, err = scanMembership(br.QueryRow())
		if errors.Is(err, pgx.ErrNoRows) {
			br.Close()
			return s.membershipStatusError(ctx, tx, "accept", orgID, userID, store.StatusPendingInvite)
		}
		linked := false
		if err == nil {
			var tag pgconn.CommandTag
			tag, err = br.Exec()
			linked = err == nil && tag.RowsAffected() == 1
		}
		for i := 2; err == nil && i < b.Len(); i++ {
			_, err = br.Exec()
		}
		if cerr := br.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("pgstore: accept: %w", err)
		}
		if !linked {
			if err := s.checkIdentityOwner(ctx, tx, id); err != nil {
				return fmt.Errorf("pgstore: accept: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return store.Membership{}, err
	}
	return m, nil
}

// invitationError explains why a conditional update of invitation id
// touched no row: ErrNotFound, ErrInviteUsed, ErrInviteRevoked or (when now
// is not nil) ErrInviteExpired.
func (s *Store) invitationError(ctx context.Context, tx pgx.Tx, op, id string, now *time.Time) error {
	var (
		spend, revoke *time.Time
		expire        time.Time
	)
	err := tx.QueryRow(ctx, s.sql(`SELECT spend_time, revoke_time, expire_time FROM {s}.invitations WHERE id = $1`), id).
		Scan(&spend, &revoke, &expire)
	switch {
	case err != nil:
		return notFound(err, "%s: invitation", op)
	case spend != nil:
		return fmt.Errorf("pgstore: %s: %w", op, store.ErrInviteUsed)
	case revoke != nil:
		return fmt.Errorf("pgstore: %s: %w", op, store.ErrInviteRevoked)
	case now != nil && !ts(*now).Before(expire):
		return fmt.Errorf("pgstore: %s: %w", op, store.ErrInviteExpired)
	}
	// Unreachable: the row must fail the update's condition.
	return fmt.Errorf("pgstore: %s: invitation %q changed concurrently", op, id)
}

// ReissueInvitation implements store.Memberships. An expired invitation
// may be reissued; a spent or revoked one may not (ErrInviteUsed,
// ErrInviteRevoked), nor one whose membership is not pending
// (ErrWrongStatus). It is one statement in one round trip
// (reissueOneTrip); a refusal is decided and explained by the transaction
// below.
func (s *Store) ReissueInvitation(ctx context.Context, p store.ReissueParams) (store.Invitation, error) {
	inv, _, err := s.reissue(ctx, p)
	return inv, err
}

// ReissueInvitationMember implements store.ReissueMemberer: the one
// statement of ReissueInvitation returns the membership it updated (the
// transaction path, after a refusal it overturns, reads it again).
func (s *Store) ReissueInvitationMember(ctx context.Context, p store.ReissueParams) (store.Invitation, store.Membership, error) {
	inv, m, err := s.reissue(ctx, p)
	if err == nil && m == nil {
		var fresh store.Membership
		if fresh, err = s.GetMembership(ctx, inv.OrganizationID, inv.UserID); err != nil {
			return store.Invitation{}, store.Membership{}, fmt.Errorf("pgstore: reissue: %w", err)
		}
		m = &fresh
	}
	if err != nil {
		return store.Invitation{}, store.Membership{}, err
	}
	return inv, *m, nil
}

// reissue is ReissueInvitation; the membership is nil when the
// transaction path wrote.
func (s *Store) reissue(ctx context.Context, p store.ReissueParams) (store.Invitation, *store.Membership, error) {
	if inv, m, ok, err := s.reissueOneTrip(ctx, p); ok || err != nil {
		return inv, &m, err
	}
	var inv store.Invitation
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		inv, err = scanInvitation(tx.QueryRow(ctx, s.sql(`UPDATE {s}.invitations SET verifier_hash = $2, expire_time = $3
			WHERE id = $1 AND spend_time IS NULL AND revoke_time IS NULL RETURNING `+invitationCols),
			p.InvitationID, p.NewVerifierHash, p.NewExpireTime))
		if errors.Is(err, pgx.ErrNoRows) {
			return s.invitationError(ctx, tx, "reissue", p.InvitationID, nil)
		}
		if err != nil {
			return fmt.Errorf("pgstore: reissue: %w", err)
		}
		b := &pgx.Batch{}
		b.Queue(s.sql(`UPDATE {s}.memberships SET invite_expire_time = $3, update_time = $4
			WHERE org_id = $1 AND user_id = $2 AND status = 'PENDING_INVITE'`),
			inv.OrganizationID, inv.UserID, p.NewExpireTime, p.Now)
		if p.Outbox != nil {
			b.Queue(s.sql(qInsertOutbox), outboxArgs(fillOutbox(*p.Outbox, inv.OrganizationID))...)
		}
		s.queueEventNotify(b, store.FillEvent(p.Event, inv.OrganizationID, inv.UserID), store.Change{OrganizationID: inv.OrganizationID, UserID: inv.UserID})
		br := tx.SendBatch(ctx, b)
		tag, err := br.Exec()
		if err == nil && tag.RowsAffected() == 0 {
			br.Close()
			return s.membershipStatusError(ctx, tx, "reissue", inv.OrganizationID, inv.UserID, store.StatusPendingInvite)
		}
		for i := 1; err == nil && i < b.Len(); i++ {
			_, err = br.Exec()
		}
		if cerr := br.Close(); err == nil {
			err = cerr
		}
		if isConstraint(err, codeUniqueViolation, "outbox_pkey") {
			return fmt.Errorf("pgstore: reissue: outbox id %q is taken", p.Outbox.ID)
		}
		if err != nil {
			return fmt.Errorf("pgstore: reissue: %w", err)
		}
		return nil
	})
	if err != nil {
		return store.Invitation{}, nil, err
	}
	return inv, nil, nil
}

// RevokeInvitation implements store.Memberships. It deletes the pending
// membership and marks every unspent, unrevoked invitation of (orgID,
// userID) revoked at now: one statement in one round trip
// (qRevokeOneTrip); a refusal is decided and explained by the transaction
// below.
func (s *Store) RevokeInvitation(ctx context.Context, orgID, userID string, now time.Time, ev store.Event) error {
	ev = store.FillEvent(ev, orgID, userID)
	if done, err := s.revokeOneTrip(ctx, orgID, userID, now, ev, store.RevokeData{}); done || err != nil {
		return err
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		b.Queue(s.sql(`UPDATE {s}.invitations SET revoke_time = $3
			WHERE org_id = $1 AND user_id = $2 AND spend_time IS NULL AND revoke_time IS NULL`), orgID, userID, now)
		b.Queue(s.sql(`DELETE FROM {s}.memberships WHERE org_id = $1 AND user_id = $2 AND status = 'PENDING_INVITE'`), orgID, userID)
		s.queueEventNotify(b, ev, store.Change{OrganizationID: orgID, UserID: userID})
		br := tx.SendBatch(ctx, b)
		_, err := br.Exec()
		if err == nil {
			var tag pgconn.CommandTag
			if tag, err = br.Exec(); err == nil && tag.RowsAffected() == 0 {
				br.Close()
				return s.membershipStatusError(ctx, tx, "revoke", orgID, userID, store.StatusPendingInvite)
			}
		}
		if err == nil {
			_, err = br.Exec()
		}
		if cerr := br.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("pgstore: revoke: %w", err)
		}
		return nil
	})
}

// qInvitationMember reads a membership, its user and its newest
// invitation; qInviterMember the inviter (the invitation's invited_by, else
// $3) with its user. Both go in one batch, one round trip.
var (
	qInvitationMember = `SELECT ` + memberJoinCols + `, ` + qualified("i", invitationCols) + `
	FROM {s}.memberships m JOIN {s}.users u ON u.id = m.user_id
	JOIN LATERAL (SELECT * FROM {s}.invitations WHERE org_id = m.org_id AND user_id = m.user_id ORDER BY seq DESC LIMIT 1) i ON true
	WHERE m.org_id = $1 AND m.user_id = $2`
	qInviterMember = `SELECT ` + memberJoinCols + ` FROM {s}.memberships m JOIN {s}.users u ON u.id = m.user_id
	WHERE m.org_id = $1 AND m.user_id = coalesce(nullif((SELECT invited_by FROM {s}.invitations
		WHERE org_id = $1 AND user_id = $2 ORDER BY seq DESC LIMIT 1), ''), $3) AND m.user_id <> ''`
)

// GetInvitationMember implements store.InvitationMemberGetter: two
// statements in one pipelined batch (one round trip).
func (s *Store) GetInvitationMember(ctx context.Context, orgID, userID, inviterID string) (store.InvitationMember, error) {
	b := &pgx.Batch{}
	b.Queue(s.sql(qInvitationMember), orgID, userID)
	b.Queue(s.sql(qInviterMember), orgID, userID, inviterID)
	br := s.pool.SendBatch(ctx, b)
	defer br.Close()
	var (
		md membershipDest
		ud userDest
		id invitationDest
	)
	if err := br.QueryRow().Scan(append(append(md.targets(), ud.targets()...), id.targets()...)...); err != nil {
		return store.InvitationMember{}, notFound(err, "invitation member")
	}
	mu, err := md.member(&ud)
	if err != nil {
		return store.InvitationMember{}, err
	}
	out := store.InvitationMember{Member: mu, Invitation: id.invitation()}
	md, ud = membershipDest{}, userDest{}
	switch err := br.QueryRow().Scan(append(md.targets(), ud.targets()...)...); {
	case errors.Is(err, pgx.ErrNoRows):
	case err != nil:
		return store.InvitationMember{}, fmt.Errorf("pgstore: invitation member: inviter: %w", err)
	default:
		inviter, err := md.member(&ud)
		if err != nil {
			return store.InvitationMember{}, err
		}
		out.Inviter = &inviter
	}
	if err := br.Close(); err != nil {
		return store.InvitationMember{}, fmt.Errorf("pgstore: invitation member: %w", err)
	}
	return out, nil
}
