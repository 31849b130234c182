package memstore

import (
	"context"

	"github.com/invitekit/invitekit/store"
)

var _ store.AcceptLoginer = (*Store)(nil)

// AcceptInvitationLogin implements store.AcceptLoginer: the accept and the
// login record under one lock, so that nobody sees one without the other.
func (s *Store) AcceptInvitationLogin(ctx context.Context, p store.AcceptParams, login store.Event) (store.Membership, error) {
	return locked(ctx, s, func(st *state) (store.Membership, error) {
		m, err := st.accept(p)
		if err != nil {
			return m, err
		}
		// Cannot fail once accept succeeded: the invitation's user exists.
		return m, st.recordLogin(m.UserID, p.Now, store.FillEvent(login, m.OrganizationID, m.UserID))
	})
}
