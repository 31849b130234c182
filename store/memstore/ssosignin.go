package memstore

import (
	"context"
	"fmt"

	"github.com/invitekit/invitekit/store"
)

var _ store.SSOSignIner = (*Store)(nil)

// SSOSignIn implements store.SSOSignIner under one lock: every check runs
// before anything is written.
func (s *Store) SSOSignIn(ctx context.Context, p store.SSOSignInParams) (store.Membership, error) {
	return locked(ctx, s, func(st *state) (store.Membership, error) {
		k := memberKey(p.OrganizationID, p.UserID)
		m, ok := st.memberships[k]
		switch {
		case !ok:
			return store.Membership{}, fmt.Errorf("memstore: sso sign-in: membership: %w", store.ErrNotFound)
		case m.Status != store.StatusActive:
			return store.Membership{}, fmt.Errorf("memstore: sso sign-in: membership is %s: %w", m.Status, store.ErrWrongStatus)
		}
		if _, ok := st.users[p.UserID]; !ok {
			return store.Membership{}, fmt.Errorf("memstore: sso sign-in: user %q: %w", p.UserID, store.ErrNotFound)
		}
		var id store.Identity
		if p.Identity != nil {
			id = *p.Identity
			id.UserID = p.UserID
			if cur, ok := st.identities[identityKey(id.Issuer, id.Subject)]; ok && cur.UserID != id.UserID {
				return store.Membership{}, fmt.Errorf("memstore: sso sign-in: %w", store.ErrIdentityTaken)
			}
		}

		// Write.
		if p.Identity != nil {
			if linked, _ := st.linkIdentity(id); linked { // cannot fail: checked above
				st.appendEvent(store.FillEvent(p.LinkEvent, p.OrganizationID, p.UserID))
			}
		}
		if m2, ev, changed := store.SSOSignInChange(m, p); changed {
			st.memberships[k] = m2
			st.appendEvent(ev)
			st.changed(p.OrganizationID, p.UserID)
		}
		if err := st.recordLogin(p.UserID, p.Now, store.FillEvent(p.Login, p.OrganizationID, p.UserID)); err != nil {
			return store.Membership{}, err // unreachable: the user exists
		}
		return copyMembership(st.memberships[k]), nil
	})
}
