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
	invitationColumns = `id, org_id, user_id, email, verifier_hash, invited_by, create_time, expire_time,
spend_time, revoke_time`

	insertInvitationHead = `INSERT INTO invitations (` + invitationColumns + `) VALUES `
	invitationInsertCols = 10
	qGetInvitation       = `SELECT ` + invitationColumns + ` FROM invitations WHERE id = ?`
	qNewestInvitation    = `SELECT ` + invitationColumns + ` FROM invitations WHERE org_id = ? AND user_id = ?
ORDER BY rowid DESC LIMIT 1`
	// qSpendInvitation spends only a live invitation, so a lost race can never
	// spend twice.
	qSpendInvitation = `UPDATE invitations SET spend_time = ?
WHERE id = ? AND spend_time IS NULL AND revoke_time IS NULL AND expire_time > ?`
	qReissueInvitation = `UPDATE invitations SET verifier_hash = ?, expire_time = ?
WHERE id = ? AND spend_time IS NULL AND revoke_time IS NULL`
	qRevokeInvitations = `UPDATE invitations SET revoke_time = ?
WHERE org_id = ? AND user_id = ? AND revoke_time IS NULL AND spend_time IS NULL`
	// qDeletePending deletes a PENDING_INVITE membership and returns its
	// roles and its user's email (NULL without a user).
	qDeletePending = `DELETE FROM memberships WHERE org_id = ? AND user_id = ? AND status = 'PENDING_INVITE'
RETURNING roles, (SELECT email FROM users WHERE id = memberships.user_id)`
)

// invitationBuf holds the raw column values of an invitation row between
// Scan and decoding (see rowBuf), so joined queries can scan it with
// other rows.
type invitationBuf struct {
	ct, et int64
	st, rt sql.NullInt64
	hash   []byte
}

// dest returns the Scan targets for invitationColumns.
func (b *invitationBuf) dest(inv *store.Invitation) []any {
	return []any{&inv.ID, &inv.OrganizationID, &inv.UserID, &inv.Email, &b.hash, &inv.InvitedBy,
		&b.ct, &b.et, &b.st, &b.rt}
}

func (b *invitationBuf) finish(inv *store.Invitation) {
	inv.VerifierHash = bytesOf(b.hash)
	inv.CreateTime, inv.ExpireTime = timeOf(b.ct), timeOf(b.et)
	inv.SpendTime, inv.RevokeTime = timePtrOf(b.st), timePtrOf(b.rt)
}

func scanInvitation(inv *store.Invitation) func(scanner) error {
	return func(sc scanner) error {
		var b invitationBuf
		if err := sc.Scan(b.dest(inv)...); err != nil {
			return err
		}
		b.finish(inv)
		return nil
	}
}

func blobArg(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}

// invitationArgs appends inv's insert arguments (invitationColumns order).
func invitationArgs(args []any, inv store.Invitation) []any {
	return append(args, inv.ID, inv.OrganizationID, inv.UserID, inv.Email, blobArg(inv.VerifierHash),
		inv.InvitedBy, tsOf(inv.CreateTime), tsOf(inv.ExpireTime), nullTsArg(inv.SpendTime), nullTsArg(inv.RevokeTime))
}

func (t *wtx) invitation(id string) (store.Invitation, error) {
	var inv store.Invitation
	err := t.row(scanInvitation(&inv), qGetInvitation, id)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Invitation{}, fmt.Errorf("sqlitestore: invitation %q: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.Invitation{}, err
	}
	return inv, nil
}

// GetInvitation implements store.Memberships.
func (s *Store) GetInvitation(ctx context.Context, invitationID string) (store.Invitation, error) {
	var inv store.Invitation
	err := s.readRow(ctx, scanInvitation(&inv), qGetInvitation, invitationID)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Invitation{}, fmt.Errorf("sqlitestore: invitation %q: %w", invitationID, store.ErrNotFound)
	}
	if err != nil {
		return store.Invitation{}, err
	}
	return inv, nil
}

// GetMembershipInvitation implements store.Memberships.
func (s *Store) GetMembershipInvitation(ctx context.Context, orgID, userID string) (store.Invitation, error) {
	var inv store.Invitation
	err := s.readRow(ctx, scanInvitation(&inv), qNewestInvitation, orgID, userID)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Invitation{}, fmt.Errorf("sqlitestore: invitation of user %q in organization %q: %w", userID, orgID, store.ErrNotFound)
	}
	if err != nil {
		return store.Invitation{}, err
	}
	return inv, nil
}

// liveErr says why inv cannot be used at now (nil when it can).
func liveErr(inv store.Invitation, now time.Time) error {
	switch {
	case inv.SpendTime != nil:
		return fmt.Errorf("sqlitestore: invitation %q: %w", inv.ID, store.ErrInviteUsed)
	case inv.RevokeTime != nil:
		return fmt.Errorf("sqlitestore: invitation %q: %w", inv.ID, store.ErrInviteRevoked)
	case !now.Before(inv.ExpireTime):
		return fmt.Errorf("sqlitestore: invitation %q: %w", inv.ID, store.ErrInviteExpired)
	}
	return nil
}

// AcceptInvitation implements store.Memberships.
func (s *Store) AcceptInvitation(ctx context.Context, p store.AcceptParams) (store.Membership, error) {
	var m store.Membership
	err := s.write(ctx, func(t *wtx) (err error) {
		m, err = t.accept(p)
		return err
	})
	if err != nil {
		return store.Membership{}, err
	}
	return m, nil
}

// accept is AcceptInvitation in t.
func (t *wtx) accept(p store.AcceptParams) (store.Membership, error) {
	inv, err := t.invitation(p.InvitationID)
	if err != nil {
		return store.Membership{}, err
	}
	if err := liveErr(inv, p.Now); err != nil {
		return store.Membership{}, err
	}
	m, err := t.membership(inv.OrganizationID, inv.UserID)
	if err != nil {
		return store.Membership{}, err
	}
	if m.Status != store.StatusPendingInvite {
		return store.Membership{}, notPending(m.Status)
	}
	id := p.Identity
	id.UserID = inv.UserID
	if _, err := t.linkIdentity(id); err != nil {
		return store.Membership{}, err
	}
	n, err := t.execN(qSpendInvitation, tsOf(p.Now), inv.ID, tsOf(p.Now))
	if err != nil {
		return store.Membership{}, err
	}
	if n != 1 { // unreachable with one writer; kept as the atomic guard
		return store.Membership{}, fmt.Errorf("sqlitestore: invitation %q: %w", inv.ID, store.ErrInviteUsed)
	}
	if p.EmailVerified {
		if _, err := t.exec(qSetEmailVerified, tsOf(p.Now), inv.UserID); err != nil {
			return store.Membership{}, err
		}
	}
	m.Status = store.StatusActive
	if p.IdentityProvider != "" {
		m.PrimaryIdentityProvider = p.IdentityProvider
	}
	if p.ProfileName != "" && m.Profile.Name == "" {
		m.Profile.Name = p.ProfileName
	}
	m.InviteExpireTime = time.Time{}
	m.UpdateTime = p.Now
	m.LastLogin = &p.Now
	if err := t.saveMembership(m); err != nil {
		return store.Membership{}, err
	}
	if err := t.appendEvent(store.FillEvent(p.Event, inv.OrganizationID, inv.UserID)); err != nil {
		return store.Membership{}, err
	}
	t.changed(inv.OrganizationID, inv.UserID)
	return normalizeMembership(m), nil
}

// ReissueInvitation implements store.Memberships. An expired invitation
// may be reissued; a spent or revoked one may not (ErrInviteUsed,
// ErrInviteRevoked), nor one whose membership is not pending
// (ErrWrongStatus).
func (s *Store) ReissueInvitation(ctx context.Context, p store.ReissueParams) (store.Invitation, error) {
	inv, _, err := s.reissue(ctx, p)
	return inv, err
}

// reissue is ReissueInvitation in one write transaction; it also returns
// the membership as the write left it.
func (s *Store) reissue(ctx context.Context, p store.ReissueParams) (store.Invitation, store.Membership, error) {
	var (
		inv store.Invitation
		m   store.Membership
	)
	err := s.write(ctx, func(t *wtx) (err error) {
		inv, m, err = t.reissue(p)
		return err
	})
	if err != nil {
		return store.Invitation{}, store.Membership{}, err
	}
	return inv, m, nil
}

// reissue is ReissueInvitation in t.
func (t *wtx) reissue(p store.ReissueParams) (store.Invitation, store.Membership, error) {
	inv, err := t.invitation(p.InvitationID)
	if err != nil {
		return store.Invitation{}, store.Membership{}, err
	}
	switch {
	case inv.SpendTime != nil:
		return store.Invitation{}, store.Membership{}, fmt.Errorf("sqlitestore: invitation %q: %w", inv.ID, store.ErrInviteUsed)
	case inv.RevokeTime != nil:
		return store.Invitation{}, store.Membership{}, fmt.Errorf("sqlitestore: invitation %q: %w", inv.ID, store.ErrInviteRevoked)
	}
	m, err := t.membership(inv.OrganizationID, inv.UserID)
	if err != nil {
		return store.Invitation{}, store.Membership{}, err
	}
	if m.Status != store.StatusPendingInvite {
		return store.Invitation{}, store.Membership{}, notPending(m.Status)
	}
	if _, err := t.exec(qReissueInvitation, blobArg(p.NewVerifierHash), tsOf(p.NewExpireTime), inv.ID); err != nil {
		return store.Invitation{}, store.Membership{}, err
	}
	inv.VerifierHash = bytesOf(p.NewVerifierHash)
	inv.ExpireTime = timeOf(tsOf(p.NewExpireTime))
	m.InviteExpireTime = p.NewExpireTime
	m.UpdateTime = p.Now
	if err := t.saveMembership(m); err != nil {
		return store.Invitation{}, store.Membership{}, err
	}
	if p.Outbox != nil {
		if err := t.insertOutbox(*p.Outbox, inv.OrganizationID); err != nil {
			return store.Invitation{}, store.Membership{}, err
		}
	}
	if err := t.appendEvent(store.FillEvent(p.Event, inv.OrganizationID, inv.UserID)); err != nil {
		return store.Invitation{}, store.Membership{}, err
	}
	t.changed(inv.OrganizationID, inv.UserID)
	return inv, normalizeMembership(m), nil
}

// notPending is ErrWrongStatus for a membership that is status, not
// PENDING_INVITE.
func notPending(status store.MembershipStatus) error {
	return fmt.Errorf("sqlitestore: membership is %s, not %s: %w", status, store.StatusPendingInvite, store.ErrWrongStatus)
}

// RevokeInvitation implements store.Memberships. It deletes the pending
// membership and marks every unspent, unrevoked invitation of (orgID,
// userID) revoked at now; when there is no pending membership it reads
// the membership to say why (ErrNotFound, ErrWrongStatus).
func (s *Store) RevokeInvitation(ctx context.Context, orgID, userID string, now time.Time, ev store.Event) error {
	return s.write(ctx, func(t *wtx) error {
		done, err := t.revoke(orgID, userID, now, ev, store.RevokeData{})
		if err != nil || done {
			return err
		}
		m, err := t.membership(orgID, userID)
		if err != nil {
			return err
		}
		return notPending(m.Status) // PENDING_INVITE is unreachable: the writer is single
	})
}

// revoke is RevokeInvitation in t without the explanation of a refusal:
// qDeletePending deletes the PENDING_INVITE membership and returns its
// roles and its user's email, then the invitations are revoked and ev
// (its Data extended as keys says) appended. false: there was no pending
// membership and nothing was written.
func (t *wtx) revoke(orgID, userID string, now time.Time, ev store.Event, keys store.RevokeData) (bool, error) {
	var roles, email sql.NullString
	err := t.row(func(sc scanner) error { return sc.Scan(&roles, &email) }, qDeletePending, orgID, userID)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if keys != (store.RevokeData{}) {
		l, err := listOf(roles)
		if err != nil {
			return false, err
		}
		var e *string
		if email.Valid {
			e = &email.String
		}
		ev.Data = keys.Extend(ev.Data, l, e)
	}
	if _, err := t.exec(qRevokeInvitations, tsOf(now), orgID, userID); err != nil {
		return false, err
	}
	if err := t.appendEvent(store.FillEvent(ev, orgID, userID)); err != nil {
		return false, err
	}
	t.changed(orgID, userID)
	return true, nil
}
