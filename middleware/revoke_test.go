package middleware_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/middleware"
	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/store/memstore"
)

// countingReader counts store reads, to tell cache hits from misses.
type countingReader struct {
	middleware.MembershipReader
	reads atomic.Int64
}

func (c *countingReader) GetMembership(ctx context.Context, org, user string) (store.Membership, error) {
	c.reads.Add(1)
	return c.MembershipReader.GetMembership(ctx, org, user)
}

// clock is an injectable, advanceable time source.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// TestRevocationTakesEffectOnNextRequest deactivates a member through the
// invite Service and checks the very next request is refused, without a
// cache, with a cache wired to OnMembershipChange, and with a cache that
// only expires (TTL, advanced with an injected clock).
func TestRevocationTakesEffectOnNextRequest(t *testing.T) {
	tests := []struct {
		name      string
		ttl       time.Duration
		wire      bool // OnMembershipChange → Invalidate
		staleFor  time.Duration
		wantReads int64 // store reads for the 3 allowed requests
	}{
		{name: "no cache", wantReads: 3},
		{name: "cache with Invalidate", ttl: time.Second, wire: true, wantReads: 1},
		{name: "cache expiring by TTL", ttl: time.Second, staleFor: time.Second, wantReads: 1},
		{name: "cache with short TTL", ttl: 200 * time.Millisecond, staleFor: 200 * time.Millisecond, wantReads: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			clk := &clock{now: t0}
			st := memstore.New()
			reader := &countingReader{MembershipReader: st}
			sm := scs.New()
			mw, err := middleware.New(reader, sm, middleware.Config{CacheTTL: tt.ttl, Now: clk.Now})
			if err != nil {
				t.Fatal(err)
			}
			icfg := invite.Config{SecretKey: make([]byte, 32), AcceptURL: "https://app.example/accept", Now: clk.Now}
			if tt.wire {
				icfg.OnMembershipChange = mw.Invalidate
			}
			svc, err := invite.New(st, icfg)
			if err != nil {
				t.Fatal(err)
			}
			org, _, err := svc.CreateOrganization(ctx, invite.CreateOrganizationRequest{Name: "Acme"})
			if err != nil {
				t.Fatal(err)
			}
			no := false
			res, err := svc.CreateUserAndMembership(ctx, org.ID, invite.InviteRequest{Email: "ann@example.com", SendInvitationEmail: &no})
			if err != nil {
				t.Fatal(err)
			}
			if res.Membership.Status != store.StatusActive {
				t.Fatalf("direct add status %s", res.Membership.Status)
			}
			mux := http.NewServeMux()
			mux.Handle("GET /orgs/{orgID}/dash", mw.RequireMember(whoami))
			app := sm.LoadAndSave(mux)
			cookie := sessionCookie(t, sm, res.User.ID)
			get := func() int {
				req := httptest.NewRequest("GET", "/orgs/"+org.ID+"/dash", nil)
				req.Header.Set("Accept", "application/json")
				req.AddCookie(cookie)
				rec := httptest.NewRecorder()
				app.ServeHTTP(rec, req)
				return rec.Code
			}
			for i := range 3 {
				if code := get(); code != 200 {
					t.Fatalf("request %d before deactivation: %d", i, code)
				}
				clk.Add(10 * time.Millisecond)
			}
			if got := reader.reads.Load(); got != tt.wantReads {
				t.Fatalf("store reads = %d, want %d", got, tt.wantReads)
			}

			if _, err := svc.DeactivateMembership(ctx, org.ID, res.User.ID, ""); err != nil {
				t.Fatal(err)
			}
			if tt.staleFor > 0 {
				// Within the TTL the cached answer may still be served…
				if code := get(); code != 200 {
					t.Fatalf("within TTL: %d (cache not used?)", code)
				}
				// …but never once the TTL since the lookup has passed.
				clk.Add(tt.staleFor)
			}
			if code := get(); code != 403 {
				t.Fatalf("next request after deactivation: %d, want 403", code)
			}
			if _, err := svc.ReactivateMembership(ctx, org.ID, res.User.ID, ""); err != nil {
				t.Fatal(err)
			}
			clk.Add(tt.staleFor)
			if code := get(); code != 200 {
				t.Fatalf("after reactivation: %d, want 200", code)
			}
		})
	}
}

// TestRevokePendingInvitation: a revoked (deleted) pending membership stays
// refused, with the cache wired.
func TestRevokedInvitationRefused(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	sm := scs.New()
	mw, err := middleware.New(st, sm, middleware.Config{CacheTTL: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := invite.New(st, invite.Config{SecretKey: make([]byte, 32), AcceptURL: "https://app.example/accept", OnMembershipChange: mw.Invalidate})
	if err != nil {
		t.Fatal(err)
	}
	org, _, err := svc.CreateOrganization(ctx, invite.CreateOrganizationRequest{Name: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := svc.CreateUserAndMembership(ctx, org.ID, invite.InviteRequest{Email: "pat@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /orgs/{orgID}/dash", mw.RequireMember(whoami))
	app := sm.LoadAndSave(mux)
	cookie := sessionCookie(t, sm, res.User.ID)
	want := []string{"invitation_pending", "not_member"}
	for i, code := range want {
		if i == 1 {
			if err := svc.RevokeInvitation(ctx, org.ID, res.User.ID, ""); err != nil {
				t.Fatal(err)
			}
		}
		req := httptest.NewRequest("GET", "/orgs/"+org.ID+"/dash", nil)
		req.Header.Set("Accept", "application/json")
		req.AddCookie(cookie)
		rec := httptest.NewRecorder()
		app.ServeHTTP(rec, req)
		if rec.Code != 403 || errorCode(t, rec) != code {
			t.Fatalf("step %d: %d %s, want 403 %s", i, rec.Code, rec.Body.String(), code)
		}
	}
}
