package main

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/store/memstore"
)

// countOrgReads counts the store's organization reads.
type countOrgReads struct {
	store.Store
	reads atomic.Int32
}

func (c *countOrgReads) GetOrganization(ctx context.Context, id string) (store.Organization, error) {
	c.reads.Add(1)
	return c.Store.GetOrganization(ctx, id)
}

// TestOrgNamesCached: the dashboard's organization name is read from the
// store once per ttl, not once per request.
func TestOrgNamesCached(t *testing.T) {
	ctx := context.Background()
	st := &countOrgReads{Store: memstore.New()}
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	svc, err := invite.New(st, invite.Config{Roles: []string{"admin"}, SecretKey: make([]byte, 32),
		AcceptURL: "https://app.example/accept", Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.CreateOrganization(ctx, invite.CreateOrganizationRequest{ID: "org_a", Name: "Acme"}); err != nil {
		t.Fatal(err)
	}
	names := newOrgNames(svc, 30*time.Second)
	st.reads.Store(0)
	for range 5 {
		if n, err := names.get(ctx, "org_a"); err != nil || n != "Acme" {
			t.Fatalf("name %q, %v", n, err)
		}
	}
	if n := st.reads.Load(); n != 1 {
		t.Fatalf("%d organization reads for 5 requests, want 1", n)
	}
	now = now.Add(31 * time.Second)
	names.get(ctx, "org_a")
	if n := st.reads.Load(); n != 2 {
		t.Fatalf("%d reads after the ttl, want 2", n)
	}
	if _, err := names.get(ctx, "org_missing"); err == nil {
		t.Fatal("a missing organization has a name")
	}
}
