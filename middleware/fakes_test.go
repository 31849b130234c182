package middleware_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/invitekit/invitekit/middleware"
	"github.com/invitekit/invitekit/store"
)

// readCounter counts the store reads the middleware makes, by method.
type readCounter struct {
	getMember, getMembership, getUser atomic.Int64
}

func (c *readCounter) total() int64 {
	return c.getMember.Load() + c.getMembership.Load() + c.getUser.Load()
}

// oneReadStore is a MembershipReader with GetMember (store.MemberGetter),
// counting reads. GetMember is made of the inner reader's two reads but
// counts as one, as a store's single query would.
type oneReadStore struct {
	inner middleware.MembershipReader
	readCounter
	gens *generations // nil: the inner store's generations
}

func (s *oneReadStore) GetMembership(ctx context.Context, org, user string) (store.Membership, error) {
	s.getMembership.Add(1)
	return s.inner.GetMembership(ctx, org, user)
}

func (s *oneReadStore) GetUser(ctx context.Context, user string) (store.User, error) {
	s.getUser.Add(1)
	u, err := s.inner.GetUser(ctx, user)
	s.gens.apply(&u)
	return u, err
}

func (s *oneReadStore) GetMember(ctx context.Context, org, user string) (store.Member, error) {
	s.getMember.Add(1)
	ms, err := s.inner.GetMembership(ctx, org, user)
	if err != nil {
		return store.Member{}, err
	}
	u, err := s.inner.GetUser(ctx, user)
	if err != nil {
		return store.Member{}, err
	}
	s.gens.apply(&u)
	return store.Member{User: u, Membership: ms}, nil
}

// twoReadStore is a MembershipReader without GetMember.
type twoReadStore struct {
	inner middleware.MembershipReader
	readCounter
}

func (s *twoReadStore) GetMembership(ctx context.Context, org, user string) (store.Membership, error) {
	s.getMembership.Add(1)
	return s.inner.GetMembership(ctx, org, user)
}

func (s *twoReadStore) GetUser(ctx context.Context, user string) (store.User, error) {
	s.getUser.Add(1)
	return s.inner.GetUser(ctx, user)
}

// generations overlays session generations on a store that has none yet
// (a stand-in for store.SessionRevoker).
type generations struct {
	mu  sync.Mutex
	gen map[string]int64
}

func (g *generations) apply(u *store.User) {
	if g == nil || u.ID == "" {
		return
	}
	g.mu.Lock()
	u.SessionGeneration = g.gen[u.ID]
	g.mu.Unlock()
}

func (g *generations) bump(user string) int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.gen == nil {
		g.gen = map[string]int64{}
	}
	g.gen[user]++
	return g.gen[user]
}

// fakeNotifier is a store.ChangeNotifier driven by the test.
type fakeNotifier struct {
	mu         sync.Mutex
	changed    func(store.Change)
	lost       func(error)
	subscribes atomic.Int64
	failWith   error // Subscribe's error, when set
	ctx        context.Context
}

func (n *fakeNotifier) Subscribe(ctx context.Context, changed func(store.Change), lost func(error)) error {
	n.subscribes.Add(1)
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.failWith != nil {
		return n.failWith
	}
	n.changed, n.lost, n.ctx = changed, lost, ctx
	return nil
}

func (n *fakeNotifier) publish(c store.Change) {
	n.mu.Lock()
	f := n.changed
	n.mu.Unlock()
	f(c)
}

func (n *fakeNotifier) lose() {
	n.mu.Lock()
	f := n.lost
	n.mu.Unlock()
	f(errors.New("connection lost"))
}

// notifyingStore is a oneReadStore that is also a store.ChangeNotifier.
type notifyingStore struct {
	*oneReadStore
	*fakeNotifier
}

// waitUntil polls cond for up to 10s.
func waitUntil(cond func() bool) bool {
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(time.Millisecond)
	}
	return true
}
