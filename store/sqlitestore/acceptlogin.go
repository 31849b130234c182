package sqlitestore

import (
	"context"

	"github.com/invitekit/invitekit/store"
)

var _ store.AcceptLoginer = (*Store)(nil)

// AcceptInvitationLogin implements store.AcceptLoginer: the accept and the
// login record in one write transaction (one commit, one fsync).
func (s *Store) AcceptInvitationLogin(ctx context.Context, p store.AcceptParams, login store.Event) (store.Membership, error) {
	var m store.Membership
	err := s.write(ctx, func(t *wtx) (err error) {
		if m, err = t.accept(p); err != nil {
			return err
		}
		return t.recordLogin(m.UserID, p.Now, store.FillEvent(login, m.OrganizationID, m.UserID))
	})
	if err != nil {
		return store.Membership{}, err
	}
	return m, nil
}
