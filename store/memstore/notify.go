package memstore

import (
	"context"
	"fmt"
	"time"

	"github.com/invitekit/invitekit/store"
)

var (
	_ store.MemberGetter   = (*Store)(nil)
	_ store.SessionRevoker = (*Store)(nil)
	_ store.ChangeNotifier = (*Store)(nil)
)

// GetMember implements store.MemberGetter: the membership and its user,
// read under one lock.
func (s *Store) GetMember(ctx context.Context, orgID, userID string) (store.Member, error) {
	return locked(ctx, s, func(st *state) (store.Member, error) {
		m, ok := st.memberships[memberKey(orgID, userID)]
		if !ok {
			return store.Member{}, fmt.Errorf("memstore: member: %w", store.ErrNotFound)
		}
		u, ok := st.users[userID]
		if !ok { // unreachable: a membership's user exists
			return store.Member{}, fmt.Errorf("memstore: member: user %q: %w", userID, store.ErrNotFound)
		}
		return store.Member{User: copyUser(u), Membership: copyMembership(m)}, nil
	})
}

// RevokeSessions implements store.SessionRevoker: it increments the
// user's SessionGeneration, appends ev (its CreateTime is at when zero)
// and publishes Change{UserID: userID}. UpdateTime is unchanged.
func (s *Store) RevokeSessions(ctx context.Context, userID string, at time.Time, ev store.Event) (int64, error) {
	return locked(ctx, s, func(st *state) (int64, error) {
		u, ok := st.users[userID]
		if !ok {
			return 0, fmt.Errorf("memstore: revoke sessions: user %q: %w", userID, store.ErrNotFound)
		}
		u.SessionGeneration++
		st.users[userID] = u
		if ev.CreateTime.IsZero() {
			ev.CreateTime = at
		}
		st.appendEvent(store.FillEvent(ev, "", userID))
		st.changed("", userID)
		return u.SessionGeneration, nil
	})
}

// Subscribe implements store.ChangeNotifier in process: every change a
// method of this Store makes is published, after the method's lock is
// released, to every subscription of this Store, synchronously (when the
// method returns, each changed callback has run), one call at a time per
// subscription. A subscription is never lost, so lost is never called.
// changed must not write to the Store.
func (s *Store) Subscribe(ctx context.Context, changed func(store.Change), lost func(error)) error {
	return s.notify.Subscribe(ctx, changed)
}

// changed records a change for locked to publish once the method
// succeeds (see Change for empty ids).
func (s *state) changed(orgID, userID string) {
	s.pending = append(s.pending, store.Change{OrganizationID: orgID, UserID: userID})
}

// notifier is the in-process store.ChangeNotifier core (shared with
// the other single-process store).
type notifier = store.LocalNotifier
