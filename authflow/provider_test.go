package authflow_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/invitekit/invitekit/authflow"
	"github.com/invitekit/invitekit/store"
)

// expectUnavailable checks a provider_unavailable page: 503, a
// Retry-After in whole seconds, no redirect, a "try again" link to login.
func expectUnavailable(t *testing.T, p page) {
	t.Helper()
	p.expect(t, http.StatusServiceUnavailable, authflow.CodeProviderUnavailable)
	if s, err := strconv.Atoi(p.header.Get("Retry-After")); err != nil || s < 1 || s > 30 {
		t.Fatalf("Retry-After = %q, want 1..30 seconds", p.header.Get("Retry-After"))
	}
	if p.location != "" || !strings.Contains(p.body, `href="/login`) || !strings.Contains(p.body, "cannot be reached") {
		t.Fatalf("unavailable page: location %q\n%s", p.location, p.body)
	}
}

// TestProviderDownAtStart: the app starts while nothing listens at the
// issuer; joining and /login answer 503 without hammering the address;
// once the real OP listens there, login recovers by itself and a full
// invitation login succeeds.
func TestProviderDownAtStart(t *testing.T) {
	e := newEnv(t, envOptions{providerDown: true}) // New must not need the provider
	userID, link := e.invite("ann@example.com")
	b := newBrowser(t)

	// The accept page itself needs no provider.
	if p := b.get(link); p.status != 200 || !strings.Contains(p.body, "Join Acme") {
		t.Fatalf("accept page: %d %s", p.status, p.body)
	}
	// Joining would redirect to a login that cannot start: 503 instead.
	expectUnavailable(t, b.post(e.app.URL+"/accept", url.Values{"token": {token(link)}}))
	expectUnavailable(t, b.get(e.app.URL+"/login"))
	if e.status(userID) != store.StatusPendingInvite {
		t.Fatal("membership changed while the provider was down")
	}

	// Many requests, few attempts: after a failure the address is left
	// alone for a growing delay (1 s, 2 s, …; this loop takes well under
	// a second, one more attempt is tolerated for a slow machine).
	before := e.tamper.discoveryCalls.Load()
	if before < 1 {
		t.Fatal("no discovery attempt was made")
	}
	for range 20 {
		expectUnavailable(t, b.get(e.app.URL+"/login"))
	}
	if got := e.tamper.discoveryCalls.Load(); got > before+1 {
		t.Fatalf("%d discovery attempts for 20 requests (backoff not applied)", got-before)
	}

	// Logout does not depend on the provider.
	if p := newBrowser(t).post(e.app.URL+"/logout", nil); p.status != 303 || p.location != e.app.URL+"/bye" {
		t.Fatalf("logout while the provider is down: %d %q %s", p.status, p.location, p.body)
	}

	// The provider comes up at the issuer's address; nothing is restarted.
	e.startProvider()
	e.op.users.add("ann-sub", "ann@example.com", true)
	deadline := time.Now().Add(45 * time.Second) // the backoff is ≤ 4 s here
	for {
		p := b.get(e.app.URL + "/login")
		if p.status == 303 {
			if !strings.HasPrefix(p.location, e.op.issuer+"auth?") {
				t.Fatalf("login after recovery: %q", p.location)
			}
			break
		}
		expectUnavailable(t, p)
		if time.Now().After(deadline) {
			t.Fatal("login did not recover after the provider came up")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got := e.tamper.discoveryCalls.Load(); got > 6 {
		t.Fatalf("%d discovery attempts in all (backoff not applied)", got)
	}

	// The invitation was kept in the session by the refused join: the
	// "try signing in again" link finishes it.
	p := b.get(e.authorize(b, e.app.URL+"/login", "ann@example.com"))
	if p.status != 303 || p.location != e.app.URL+"/orgs/"+e.org.ID+"/dashboard" {
		t.Fatalf("callback: %d %q %s", p.status, p.location, p.body)
	}
	if e.status(userID) != store.StatusActive {
		t.Fatal("not ACTIVE after login")
	}
	if p = b.get(p.location); p.status != 200 || !strings.Contains(p.body, "ann@example.com") {
		t.Fatalf("dashboard: %d %s", p.status, p.body)
	}
	logs := e.logs.String()
	if !strings.Contains(logs, "identity provider unavailable") || !strings.Contains(logs, "identity provider reachable again") {
		t.Fatalf("outage and recovery not logged:\n%s", logs)
	}
}

// countingTransport counts the app's requests to the provider.
type countingTransport struct{ n atomic.Int64 }

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return http.DefaultTransport.RoundTrip(r)
}

// TestNewDoesNotDiscover: New with an unreachable issuer succeeds without
// I/O; Discover reports the failure (what New used to return); /login
// answers 503 and keeps nothing; the accept page and logout still work.
func TestNewDoesNotDiscover(t *testing.T) {
	ct := &countingTransport{}
	sm := scs.New()
	f, err := authflow.New(newService(t), sm, authflow.Config{
		Issuer: "http://" + reserveAddr(t) + "/", ClientID: "app", RedirectURL: "https://app.example/auth/callback",
		HTTPClient: &http.Client{Transport: ct},
	})
	if err != nil {
		t.Fatal(err)
	}
	if ct.n.Load() != 0 {
		t.Fatal("New talked to the provider")
	}
	err = f.Discover(context.Background())
	if !errors.Is(err, authflow.ErrProviderUnavailable) || !strings.HasPrefix(err.Error(), "authflow: ") ||
		!strings.Contains(err.Error(), "discover provider") || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("Discover: %v", err)
	}
	// Within the backoff nothing is attempted.
	if err := f.Discover(context.Background()); !errors.Is(err, authflow.ErrProviderUnavailable) || ct.n.Load() != 1 {
		t.Fatalf("second Discover: %v after %d requests", err, ct.n.Load())
	}

	h := sm.LoadAndSave(f.Handler())
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/login?return_to=/orgs/x", nil))
	p := page{status: rec.Code, body: rec.Body.String(), header: rec.Header()}
	expectUnavailable(t, p)
	if !strings.Contains(p.body, `href="/login?return_to=%2Forgs%2Fx"`) {
		t.Errorf("retry link loses return_to: %s", p.body)
	}
	if c := rec.Header().Get("Set-Cookie"); c != "" {
		t.Errorf("a refused login wrote the session: %s", c)
	}
	if ct.n.Load() != 1 {
		t.Fatalf("%d requests to the provider", ct.n.Load())
	}

	for _, tt := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/accept?token=nope", 404},
		{"GET", "/logout", 200},
		{"POST", "/logout", 303},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
		if rec.Code != tt.status {
			t.Errorf("%s %s: %d, want %d\n%s", tt.method, tt.path, rec.Code, tt.status, rec.Body.String())
		}
	}
}

// TestDiscoverSharesOneAttempt: against a provider that hangs, Discover
// gives up when its ctx ends while the attempt goes on; callers arriving
// meanwhile (Discover, logout) join it instead of starting their own.
func TestDiscoverSharesOneAttempt(t *testing.T) {
	var hits atomic.Int64
	release := make(chan struct{})
	var once sync.Once
	let := func() { once.Do(func() { close(release) }) }
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		<-release
		http.Error(w, "maintenance", http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(let) // runs first: srv.Close waits for the handler

	sm := scs.New()
	f, err := authflow.New(newService(t), sm, authflow.Config{
		Issuer: srv.URL + "/", ClientID: "app", RedirectURL: "https://app.example/auth/callback",
	})
	if err != nil {
		t.Fatal(err)
	}
	discover := func(d time.Duration) error {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		return f.Discover(ctx)
	}
	start := time.Now()
	if err := discover(100 * time.Millisecond); !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, authflow.ErrProviderUnavailable) {
		t.Fatalf("Discover against a hung provider: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Discover ignored its ctx (%v)", d)
	}
	var wg sync.WaitGroup
	for range 5 {
		wg.Go(func() {
			if err := discover(100 * time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("concurrent Discover: %v", err)
			}
		})
	}
	wg.Wait()
	if n := hits.Load(); n != 1 {
		t.Fatalf("%d discovery requests, want one shared attempt", n)
	}
	// Logout waits a little for the attempt, then signs out locally.
	start = time.Now()
	rec := httptest.NewRecorder()
	sm.LoadAndSave(f.Handler()).ServeHTTP(rec, httptest.NewRequest("POST", "/logout", nil))
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/" || time.Since(start) > 10*time.Second {
		t.Fatalf("logout against a hung provider: %d %q after %v", rec.Code, rec.Header().Get("Location"), time.Since(start))
	}
	if n := hits.Load(); n != 1 {
		t.Fatalf("%d discovery requests, want one shared attempt", n)
	}
	// The provider answers 503: the shared attempt fails with that cause,
	// and the next caller is told so without a new request.
	let()
	err = f.Discover(context.Background())
	if !errors.Is(err, authflow.ErrProviderUnavailable) || !strings.Contains(err.Error(), "503") {
		t.Fatalf("Discover after the provider answered: %v", err)
	}
	if n := hits.Load(); n != 1 {
		t.Fatalf("%d discovery requests, want 1", n)
	}
}
