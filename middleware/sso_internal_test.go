package middleware

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/invitekit/invitekit/store"
)

// ssoFake is a MembershipReader and store.SSOConnectionStore holding
// organizations' SSO policies; a read of an organization in block waits
// for release (after telling started).
type ssoFake struct {
	mu      sync.Mutex
	conns   map[string]store.SSOConnection
	trust   map[string][]string
	reads   int
	block   string
	started chan struct{}
	release chan struct{}
}

func (f *ssoFake) GetMembership(context.Context, string, string) (store.Membership, error) {
	return store.Membership{}, store.ErrNotFound
}
func (f *ssoFake) GetUser(context.Context, string) (store.User, error) {
	return store.User{}, store.ErrNotFound
}
func (f *ssoFake) PutSSOConnection(context.Context, store.SSOConnection, store.Event) error {
	return nil
}
func (f *ssoFake) DeleteSSOConnection(context.Context, string, store.Event) error { return nil }
func (f *ssoFake) SetSSOTrust(context.Context, string, []string, store.Event) error {
	return nil
}

func (f *ssoFake) GetSSOConnection(_ context.Context, orgID string) (store.SSOConnection, error) {
	f.mu.Lock()
	c, ok := f.conns[orgID]
	f.reads++
	block := f.block == orgID
	f.mu.Unlock()
	if block {
		f.started <- struct{}{}
		<-f.release
	}
	if !ok {
		return store.SSOConnection{}, fmt.Errorf("fake: %w", store.ErrNotFound)
	}
	return c, nil
}

func (f *ssoFake) ListSSOTrust(_ context.Context, orgID string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string{}, f.trust[orgID]...), nil
}

func (f *ssoFake) set(orgID string, enforce bool, trust ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.conns[orgID] = store.SSOConnection{ID: "ssc_" + orgID, OrganizationID: orgID, Enforce: enforce}
	f.trust[orgID] = trust
}

// TestSSOGuardReadInFlightNotKept: a pushed change that arrives while a
// read of the old policy is in flight keeps that read from being kept:
// the next check reads the new policy, even with push up (TTL minutes).
func TestSSOGuardReadInFlightNotKept(t *testing.T) {
	clk := newTestClock()
	f := &ssoFake{conns: map[string]store.SSOConnection{}, trust: map[string][]string{}, started: make(chan struct{}), release: make(chan struct{})}
	f.set("org_a", false)
	g := newSSOGuard(f, clk.Now, 0, time.Second)
	g.pushResync(g.lossCount()) // push up
	f.block = "org_a"
	done := make(chan error, 1)
	go func() { done <- g.check(context.Background(), "org_a", "") }()
	<-f.started // the read of the old policy is in flight
	f.mu.Lock()
	f.block = ""
	f.mu.Unlock()
	f.set("org_a", true)  // enforcement turned on…
	g.invalidate("org_a") // …and pushed
	close(f.release)
	if err := <-done; err != nil {
		t.Fatalf("the read in flight answers what it read: %v", err)
	}
	if err := g.check(context.Background(), "org_a", ""); err == nil {
		t.Fatal("the policy read before the change was kept: the default provider still reaches an enforcing organization")
	}
}

// TestSSOGuardInvalidateDropsTrusting: a change of A's policy (its
// connection deleted: gone from B's trust too) drops B's kept policy,
// which trusted it.
func TestSSOGuardInvalidateDropsTrusting(t *testing.T) {
	clk := newTestClock()
	f := &ssoFake{conns: map[string]store.SSOConnection{}, trust: map[string][]string{}}
	f.set("org_a", false)
	f.set("org_b", false, "ssc_org_a")
	g := newSSOGuard(f, clk.Now, 0, time.Second)
	g.pushResync(g.lossCount())
	ctx := context.Background()
	if err := g.check(ctx, "org_b", "ssc_org_a"); err != nil {
		t.Fatalf("B trusts A's connection: %v", err)
	}
	f.mu.Lock()
	delete(f.conns, "org_a")
	f.trust["org_b"] = nil
	f.mu.Unlock()
	g.invalidate("org_a")
	if err := g.check(ctx, "org_b", "ssc_org_a"); err == nil {
		t.Fatal("B's policy still trusts the deleted connection")
	}
}
