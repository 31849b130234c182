package authflow_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/invitekit/invitekit/authflow"
)

// rateLimitsOf is newEnv's Config.RateLimits: off unless opts names some.
func rateLimitsOf(opts envOptions) authflow.RateLimits {
	if opts.rateLimits == nil {
		return authflow.RateLimits{PerClient: authflow.RateLimit{Off: true}}
	}
	return *opts.rateLimits
}

// withoutRateLimits turns cfg's limits off (setupKit's tests sign in many
// times from one address).
func withoutRateLimits(cfg authflow.Config) authflow.Config {
	cfg.RateLimits = rateLimitsOf(envOptions{})
	return cfg
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// limitedFlow is a Flow on a static provider (no network) with limits and
// a fake clock, wrapped in its sessions.
func limitedFlow(t *testing.T, limits authflow.RateLimits) (http.Handler, *fakeClock) {
	t.Helper()
	c := &fakeClock{t: time.Now()}
	sm := scs.New()
	f, err := authflow.New(newService(t), sm, authflow.Config{
		Provider: staticProvider(), ClientID: "app", RedirectURL: "https://app.example/auth/callback",
		RateLimits: limits, Now: c.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return sm.LoadAndSave(f.Handler()), c
}

// request serves one request from remote.
func request(h http.Handler, method, target, remote string, hdr ...string) *httptest.ResponseRecorder {
	var r *http.Request
	if method == http.MethodPost {
		r = httptest.NewRequest(method, target, strings.NewReader(url.Values{"token": {"inv_nope.nope"}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		r = httptest.NewRequest(method, target, nil)
	}
	r.RemoteAddr = remote
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

func mustRateLimitedPage(t *testing.T, what string, rec *httptest.ResponseRecorder, retryAfter string) {
	t.Helper()
	body := rec.Body.String()
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != retryAfter {
		t.Fatalf("%s: %d, Retry-After %q; want 429, %q\n%s", what, rec.Code, rec.Header().Get("Retry-After"), retryAfter, body)
	}
	if !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") ||
		!strings.Contains(body, `<code id="error-code">`+authflow.CodeRateLimited+`</code>`) || !strings.Contains(body, "Too many attempts") {
		t.Fatalf("%s: not the rate_limited page:\n%s", what, body)
	}
}

// Each limited route: 10 at once per client (20 a minute), then 429 with
// Retry-After; another client is not affected; time restores it.
func TestRateLimitSignInRoutes(t *testing.T) {
	for _, tt := range []struct {
		name, method, target string
		status               int // the answer within the limit
	}{
		{"login", "GET", "/login", http.StatusSeeOther},
		{"callback", "GET", "/auth/callback?state=x&code=y", http.StatusBadRequest}, // login_not_started
		{"accept POST", "POST", "/accept", http.StatusNotFound},                     // invalid_token
	} {
		t.Run(tt.name, func(t *testing.T) {
			h, clock := limitedFlow(t, authflow.RateLimits{})
			const ann, bob = "198.51.100.7:40000", "198.51.100.8:40000"
			for i := range 10 {
				if rec := request(h, tt.method, tt.target, ann); rec.Code != tt.status {
					t.Fatalf("request %d: %d, want %d\n%s", i+1, rec.Code, tt.status, rec.Body)
				}
			}
			mustRateLimitedPage(t, "11th request", request(h, tt.method, tt.target, ann), "3")
			mustRateLimitedPage(t, "another port", request(h, tt.method, tt.target, "198.51.100.7:40001"), "3")
			if rec := request(h, tt.method, tt.target, bob); rec.Code != tt.status {
				t.Fatalf("another client: %d, want %d", rec.Code, tt.status)
			}
			clock.Advance(3 * time.Second)
			if rec := request(h, tt.method, tt.target, ann); rec.Code != tt.status {
				t.Fatalf("after the wait: %d, want %d", rec.Code, tt.status)
			}
		})
	}
}

// The routes count separately, the accept page (GET) not at all, and
// logout is not limited.
func TestRateLimitSignInScope(t *testing.T) {
	h, _ := limitedFlow(t, authflow.RateLimits{PerClient: authflow.RateLimit{Burst: 1}})
	const ann = "198.51.100.7:40000"
	for range 20 {
		if rec := request(h, "GET", "/accept?token=inv_nope.nope", ann); rec.Code != http.StatusNotFound {
			t.Fatalf("accept page: %d, want 404 (GET is never limited)", rec.Code)
		}
		if rec := request(h, "GET", "/logout", ann); rec.Code != http.StatusOK {
			t.Fatalf("logout page: %d", rec.Code)
		}
	}
	request(h, "GET", "/login", ann)
	mustRateLimitedPage(t, "second login", request(h, "GET", "/login", ann), "3")
	if rec := request(h, "GET", "/auth/callback?state=x", ann); rec.Code != http.StatusBadRequest {
		t.Fatalf("callback after the login ran out: %d, want 400 (its own budget)", rec.Code)
	}
	if rec := request(h, "POST", "/accept", ann); rec.Code != http.StatusNotFound {
		t.Fatalf("accept POST after the login ran out: %d, want 404 (its own budget)", rec.Code)
	}
}

// Config.RateLimits.ClientKey names the client (apps behind a proxy).
func TestRateLimitClientKey(t *testing.T) {
	h, _ := limitedFlow(t, authflow.RateLimits{
		PerClient: authflow.RateLimit{Burst: 1},
		ClientKey: func(r *http.Request) string { return r.Header.Get("X-Test-Client") },
	})
	const proxy = "10.0.0.1:5000" // every request comes through the proxy
	if rec := request(h, "GET", "/login", proxy, "X-Test-Client", "203.0.113.1"); rec.Code != http.StatusSeeOther {
		t.Fatalf("first client: %d", rec.Code)
	}
	if rec := request(h, "GET", "/login", proxy, "X-Test-Client", "203.0.113.2"); rec.Code != http.StatusSeeOther {
		t.Fatalf("second client behind the same proxy: %d, want 303 (ClientKey ignored?)", rec.Code)
	}
	mustRateLimitedPage(t, "first client again", request(h, "GET", "/login", proxy, "X-Test-Client", "203.0.113.1"), "3")
}

func TestRateLimitSignInConfig(t *testing.T) {
	h, _ := limitedFlow(t, authflow.RateLimits{PerClient: authflow.RateLimit{Off: true}})
	for i := range 50 {
		if rec := request(h, "GET", "/login", "198.51.100.7:40000"); rec.Code != http.StatusSeeOther {
			t.Fatalf("limits off, login %d: %d", i+1, rec.Code)
		}
	}
	_, err := authflow.New(newService(t), scs.New(), authflow.Config{
		Provider: staticProvider(), ClientID: "app", RedirectURL: "https://app.example/auth/callback",
		RateLimits: authflow.RateLimits{PerClient: authflow.RateLimit{Events: -1}},
	})
	if err == nil || !strings.Contains(err.Error(), "authflow: Config.RateLimits.PerClient") {
		t.Fatalf("a negative limit: %v", err)
	}
}

// With the default limits the whole sign-in path still works.
func TestRateLimitDefaultsHappyPath(t *testing.T) {
	e := newEnv(t, envOptions{rateLimits: &authflow.RateLimits{}})
	e.op.users.add("ann-sub", "ann@example.com", true)
	_, link := e.invite("ann@example.com")
	b := newBrowser(t)
	if p := b.post(e.app.URL+"/accept", url.Values{"token": {token(link)}}); p.status != 303 {
		t.Fatalf("accept POST: %d", p.status)
	}
	cb := e.authorize(b, e.app.URL+"/login", "ann@example.com")
	if p := b.get(cb); p.status != 303 || !strings.HasSuffix(p.location, "/dashboard") {
		t.Fatalf("callback: %d %q\n%s", p.status, p.location, p.body)
	}
}
