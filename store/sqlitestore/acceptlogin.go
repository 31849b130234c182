package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"

	"github.com/invitekit/invitekit/store"
)

var (
	_ store.AcceptLoginer        = (*Store)(nil)
	_ store.GuardedAcceptLoginer = (*Store)(nil)
)

// The accept with its login record: each statement writes only what
// changes, and the checks are the writes' own conditions (only the activation returns a
// row, the membership), so that a
// successful accept is six statements in the transaction; a refusal is explained by reading the rows afterwards.
const (
	// qSpendLogin spends a live invitation, when the guard's verifier
	// hash (?3, NULL: any), email and organization ('' : any) match.
	qSpendLogin = `UPDATE invitations SET spend_time = ?1
WHERE id = ?2 AND spend_time IS NULL AND revoke_time IS NULL AND expire_time > ?1
  AND (?3 IS NULL OR verifier_hash = ?3) AND (?4 = '' OR email = ?4) AND (?5 = '' OR org_id = ?5)`
	// qActivateLogin activates the pending membership of invitation ?4,
	// with its login. With ?5 (a guarded accept) the identity ?6, ?7 must
	// be the user's already or the user have no membership elsewhere that
	// is not an invitation (where an identity at the issuer may have been
	// linked).
	qActivateLogin = `UPDATE memberships SET status = 'ACTIVE', invite_expire_time = 0,
primary_idp = CASE WHEN ?1 <> '' THEN ?1 ELSE primary_idp END, update_time = ?2, last_login = ?2,
name = CASE WHEN name = '' THEN ?3 ELSE name END
WHERE org_id = (SELECT org_id FROM invitations WHERE id = ?4) AND user_id = (SELECT user_id FROM invitations WHERE id = ?4)
  AND status = 'PENDING_INVITE'
  AND (NOT ?5 OR EXISTS (SELECT 1 FROM identities WHERE issuer = ?6 AND subject = ?7 AND user_id = memberships.user_id)
    OR NOT EXISTS (SELECT 1 FROM memberships o WHERE o.user_id = memberships.user_id AND o.org_id <> memberships.org_id AND o.status <> 'PENDING_INVITE'))
RETURNING ` + membershipColumns
	qLinkIdentityLogin = `INSERT INTO identities (` + identityColumns + `) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (issuer, subject) DO NOTHING`
	// qUserLogin records the login and, with ?2, the verified email.
	qUserLogin = `UPDATE users SET last_login = ?1,
update_time = CASE WHEN ?2 AND email_verified = 0 THEN ?1 ELSE update_time END,
email_verified = email_verified OR ?2 WHERE id = ?3`
	// qOtherMemberLogin sets the last login of the user's other ACTIVE
	// memberships.
	qOtherMemberLogin = `UPDATE memberships SET last_login = ? WHERE user_id = ? AND status = 'ACTIVE' AND org_id <> ?`
	// qInsertTwoEvents appends the accepted and the login event.
	qInsertTwoEvents = insertEventHead + `(?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?)`
)

// acceptWriteQueries are prepared on the writer connection (writeQueries).
var acceptWriteQueries = []string{qSpendLogin, qActivateLogin, qLinkIdentityLogin, qUserLogin, qOtherMemberLogin, qInsertTwoEvents}

// AcceptInvitationLogin implements store.AcceptLoginer: the accept and the
// login record in one write transaction (one commit, one fsync).
func (s *Store) AcceptInvitationLogin(ctx context.Context, p store.AcceptParams, login store.Event) (store.Membership, error) {
	return s.acceptLogin(ctx, p, nil, login)
}

// AcceptInvitationGuarded implements store.GuardedAcceptLoginer. The
// identity binding is checked as invite.Service checks it on a store
// without a list of a user's identities: the user may have another
// subject at the issuer only when it has a membership elsewhere that is
// not an invitation, so such a user's accept with an identity not yet
// theirs is refused (qActivateLogin); the Service checks it the careful way.
func (s *Store) AcceptInvitationGuarded(ctx context.Context, p store.AcceptParams, g store.AcceptGuard, login store.Event) (store.Membership, error) {
	return s.acceptLogin(ctx, p, &g, login)
}

// errRefused is a guarded accept's refusal, before it is wrapped.
var errRefused = fmt.Errorf("sqlitestore: accept: %w", store.ErrAcceptRefused)

func (s *Store) acceptLogin(ctx context.Context, p store.AcceptParams, g *store.AcceptGuard, login store.Event) (store.Membership, error) {
	var m store.Membership
	err := s.write(ctx, func(t *wtx) (err error) {
		m, err = t.acceptLogin(p, g, login)
		return err
	})
	if err != nil {
		return store.Membership{}, err
	}
	return m, nil
}

// acceptLogin is AcceptInvitationLogin (g nil) or AcceptInvitationGuarded
// in t.
func (t *wtx) acceptLogin(p store.AcceptParams, g *store.AcceptGuard, login store.Event) (store.Membership, error) {
	var hash any
	var email, org string
	if g != nil {
		hash, email, org = blobArg(g.VerifierHash), g.Email, g.OrganizationID
		if p.Event.OrganizationID != "" && org != "" && p.Event.OrganizationID != org {
			return store.Membership{}, errRefused
		}
		if org == "" {
			org = p.Event.OrganizationID
		}
	}
	now := tsOf(p.Now)
	n, err := t.execN(qSpendLogin, now, p.InvitationID, hash, email, org)
	switch {
	case err != nil:
		return store.Membership{}, err
	case n == 0:
		if g != nil {
			return store.Membership{}, errRefused
		}
		inv, err := t.invitation(p.InvitationID)
		if err != nil {
			return store.Membership{}, err
		}
		if err := liveErr(inv, p.Now); err != nil {
			return store.Membership{}, err
		}
		return store.Membership{}, fmt.Errorf("sqlitestore: accept: invitation %q changed", p.InvitationID) // unreachable: one writer
	}
	var m store.Membership
	err = t.row(scanMembership(&m), qActivateLogin, p.IdentityProvider, now, p.ProfileName, p.InvitationID,
		g != nil, p.Identity.Issuer, p.Identity.Subject)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if g != nil {
			return store.Membership{}, errRefused
		}
		inv, err := t.invitation(p.InvitationID)
		if err != nil {
			return store.Membership{}, err
		}
		cur, err := t.membership(inv.OrganizationID, inv.UserID)
		if err != nil {
			return store.Membership{}, err
		}
		return store.Membership{}, notPending(cur.Status)
	case err != nil:
		return store.Membership{}, err
	}
	orgID, userID := m.OrganizationID, m.UserID
	if g != nil && p.Identity.UserID != "" && p.Identity.UserID != userID {
		return store.Membership{}, errRefused
	}
	id := p.Identity
	n, err = t.execN(qLinkIdentityLogin, id.Issuer, id.Subject, userID, id.Email, tsOf(id.CreateTime))
	if err != nil {
		return store.Membership{}, err
	}
	linked := n == 1
	if !linked {
		var cur store.Identity
		if err := t.row(scanIdentity(&cur), qGetIdentity, id.Issuer, id.Subject); err != nil {
			return store.Membership{}, err
		}
		if cur.UserID != userID {
			if g != nil {
				return store.Membership{}, errRefused
			}
			return store.Membership{}, fmt.Errorf("sqlitestore: identity: %w", store.ErrIdentityTaken)
		}
	}
	if n, err := t.execN(qUserLogin, now, p.EmailVerified, userID); err != nil || n == 0 {
		if err == nil {
			err = fmt.Errorf("sqlitestore: user %q: %w", userID, store.ErrNotFound)
		}
		return store.Membership{}, err
	}
	if _, err := t.exec(qOtherMemberLogin, now, userID, orgID); err != nil {
		return store.Membership{}, err
	}
	accepted := store.FillEvent(p.Event, orgID, userID)
	login = store.FillEvent(login, orgID, userID)
	if g != nil {
		for _, ev := range []*store.Event{&accepted, &login} {
			if ev.ActorID == "" {
				ev.ActorID = userID
			}
		}
		if linked && len(g.NewIdentityData) > 0 {
			accepted.Data = maps.Clone(accepted.Data)
			if accepted.Data == nil {
				accepted.Data = map[string]string{}
			}
			maps.Copy(accepted.Data, g.NewIdentityData)
		}
	}
	args, err := eventArgs(nil, accepted)
	if err == nil {
		args, err = eventArgs(args, login)
	}
	if err != nil {
		return store.Membership{}, err
	}
	if _, err := t.exec(qInsertTwoEvents, args...); err != nil {
		return store.Membership{}, err
	}
	t.changed(orgID, userID)
	return normalizeMembership(m), nil
}
