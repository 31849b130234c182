package sqlitestore

import (
	"context"
	"fmt"

	"github.com/invitekit/invitekit/store"
)

var _ store.SSOSignIner = (*Store)(nil)

// SSOSignIn implements store.SSOSignIner in one write transaction (one
// commit): the link, the membership's change, the login and their events.
func (s *Store) SSOSignIn(ctx context.Context, p store.SSOSignInParams) (store.Membership, error) {
	var m store.Membership
	err := s.write(ctx, func(t *wtx) error {
		cur, err := t.membership(p.OrganizationID, p.UserID)
		if err != nil {
			return err
		}
		if cur.Status != store.StatusActive {
			return fmt.Errorf("sqlitestore: sso sign-in: membership is %s: %w", cur.Status, store.ErrWrongStatus)
		}
		if p.Identity != nil {
			id := *p.Identity
			id.UserID = p.UserID
			linked, err := t.linkIdentity(id)
			if err != nil {
				return err
			}
			if linked {
				if err := t.appendEvent(store.FillEvent(p.LinkEvent, p.OrganizationID, p.UserID)); err != nil {
					return err
				}
			}
		}
		if next, ev, changed := store.SSOSignInChange(cur, p); changed {
			if err := t.saveMembership(next); err != nil {
				return err
			}
			if err := t.appendEvent(ev); err != nil {
				return err
			}
			t.changed(p.OrganizationID, p.UserID)
		}
		// The user's and its ACTIVE memberships' LastLogin (ErrNotFound for
		// a missing user rolls everything back).
		if err := t.recordLogin(p.UserID, p.Now, store.FillEvent(p.Login, p.OrganizationID, p.UserID)); err != nil {
			return err
		}
		m, err = t.membership(p.OrganizationID, p.UserID)
		return err
	})
	if err != nil {
		return store.Membership{}, err
	}
	return normalizeMembership(m), nil
}
