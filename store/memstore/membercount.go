package memstore

import (
	"context"

	"github.com/invitekit/invitekit/store"
)

var _ store.MemberCounter = (*Store)(nil)

// CountMembers implements store.MemberCounter.
func (s *Store) CountMembers(ctx context.Context, orgID string) (int, error) {
	return locked(ctx, s, func(st *state) (int, error) {
		n := 0
		for _, m := range st.memberships {
			if m.OrganizationID == orgID {
				n++
			}
		}
		return n, nil
	})
}
