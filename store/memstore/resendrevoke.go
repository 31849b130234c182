package memstore

import (
	"context"
	"fmt"
	"time"

	"github.com/invitekit/invitekit/store"
)

// RevokeInvitationGuarded implements store.GuardedRevoker.
func (s *Store) RevokeInvitationGuarded(ctx context.Context, orgID, userID string, now time.Time, ev store.Event, keys store.RevokeData) error {
	return update(ctx, s, func(st *state) error {
		m, ok := st.memberships[memberKey(orgID, userID)]
		if !ok || m.Status != store.StatusPendingInvite {
			return fmt.Errorf("memstore: revoke: membership %q in %q: %w", userID, orgID, store.ErrRevokeRefused)
		}
		var email *string
		if u, ok := st.users[userID]; ok {
			email = &u.Email
		}
		ev.Data = keys.Extend(ev.Data, m.Roles, email)
		st.revoke(m, now, ev)
		return nil
	})
}

// GetInvitationMember implements store.InvitationMemberGetter.
func (s *Store) GetInvitationMember(ctx context.Context, orgID, userID, inviterID string) (store.InvitationMember, error) {
	return locked(ctx, s, func(st *state) (store.InvitationMember, error) {
		mu, ok := st.member(orgID, userID)
		if !ok {
			return store.InvitationMember{}, fmt.Errorf("memstore: invitation member: %w", store.ErrNotFound)
		}
		inv, ok := st.newestInvitation(orgID, userID)
		if !ok {
			return store.InvitationMember{}, fmt.Errorf("memstore: invitation member: invitation: %w", store.ErrNotFound)
		}
		out := store.InvitationMember{Member: mu, Invitation: copyInvitation(inv)}
		if inv.InvitedBy != "" {
			inviterID = inv.InvitedBy
		}
		if inviter, ok := st.member(orgID, inviterID); ok && inviterID != "" {
			out.Inviter = &inviter
		}
		return out, nil
	})
}

// member returns userID's membership in orgID with its user (copies).
func (st *state) member(orgID, userID string) (store.Member, bool) {
	m, ok := st.memberships[memberKey(orgID, userID)]
	if !ok {
		return store.Member{}, false
	}
	u, ok := st.users[userID]
	if !ok {
		return store.Member{}, false
	}
	return store.Member{User: copyUser(u), Membership: copyMembership(m)}, true
}
