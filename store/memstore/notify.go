package memstore

import (
	"context"
	"fmt"
	"sync"
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
	return s.notify.subscribe(ctx, changed)
}

// changed records a change for locked to publish once the method
// succeeds (see Change for empty ids).
func (s *state) changed(orgID, userID string) {
	s.pending = append(s.pending, store.Change{OrganizationID: orgID, UserID: userID})
}

// notifier is an in-process store.ChangeNotifier. The zero value has no
// subscriptions.
type notifier struct {
	mu   sync.Mutex
	subs map[*subscription]struct{}
}

type subscription struct {
	mu      sync.Mutex // held while changed runs: one call at a time
	ended   bool
	ctx     context.Context
	changed func(store.Change)
}

func (n *notifier) subscribe(ctx context.Context, changed func(store.Change)) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memstore: subscribe: %w", err)
	}
	sub := &subscription{ctx: ctx, changed: changed}
	n.mu.Lock()
	if n.subs == nil {
		n.subs = map[*subscription]struct{}{}
	}
	n.subs[sub] = struct{}{}
	n.mu.Unlock()
	context.AfterFunc(ctx, func() {
		n.mu.Lock()
		delete(n.subs, sub)
		n.mu.Unlock()
		sub.mu.Lock() // waits for a call in progress
		sub.ended = true
		sub.mu.Unlock()
	})
	return nil
}

// publish calls every subscription's changed with each of cs, in order.
func (n *notifier) publish(cs []store.Change) {
	if len(cs) == 0 {
		return
	}
	n.mu.Lock()
	subs := make([]*subscription, 0, len(n.subs))
	for sub := range n.subs {
		subs = append(subs, sub)
	}
	n.mu.Unlock()
	for _, sub := range subs {
		sub.mu.Lock()
		if !sub.ended && sub.ctx.Err() == nil { // nothing after ctx ends
			for _, c := range cs {
				sub.changed(c)
			}
		}
		sub.mu.Unlock()
	}
}
