package middleware_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/invitekit/invitekit/middleware"
	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/store/memstore"
)

// newApp returns a handler with:
//
//	GET /orgs/{orgID}/dash      RequireMember
//	GET /orgs/{orgID}/admin     RequireRole("admin")
//	GET /orgs/{orgID}/both      RequireMember(RequireRole("admin", "owner"))
func newApp(t testing.TB, st middleware.MembershipReader, cfg middleware.Config) (http.Handler, *scs.SessionManager, *middleware.Middleware) {
	t.Helper()
	sm := scs.New()
	mw, err := middleware.New(st, sm, cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /orgs/{orgID}/dash", mw.RequireMember(whoami))
	mux.Handle("GET /orgs/{orgID}/admin", mw.RequireRole("admin")(whoami))
	mux.Handle("GET /orgs/{orgID}/both", mw.RequireMember(mw.RequireRole("admin", "owner")(whoami)))
	return sm.LoadAndSave(mux), sm, mw
}

func TestRequireMember(t *testing.T) {
	st := memstore.New()
	seed(t, st)
	app, sm, _ := newApp(t, st, middleware.Config{Now: func() time.Time { return t0 }})

	tests := []struct {
		name     string
		user     string // "" = no session
		path     string
		api      bool
		status   int
		code     string // JSON error code (api) or "" for success
		location string
		body     string
	}{
		{name: "no session html redirects to login with return_to", path: "/orgs/org_a/dash?tab=1&x=%2F",
			status: 303, location: "/login?return_to=%2Forgs%2Forg_a%2Fdash%3Ftab%3D1%26x%3D%252F"},
		{name: "no session api is 401 json", path: "/orgs/org_a/dash", api: true, status: 401, code: "unauthenticated"},
		{name: "active member passes", user: "usr_bob", path: "/orgs/org_a/dash", status: 200, body: "usr_bob in org_a"},
		{name: "active member passes api", user: "usr_bob", path: "/orgs/org_a/dash", api: true, status: 200, body: "usr_bob in org_a"},
		{name: "member of another org only", user: "usr_zed", path: "/orgs/org_a/dash", api: true, status: 403, code: "not_member"},
		{name: "tenant isolation: org_a member on org_b", user: "usr_ann", path: "/orgs/org_b/dash", api: true, status: 403, code: "not_member"},
		{name: "unknown org", user: "usr_ann", path: "/orgs/org_nope/dash", api: true, status: 403, code: "not_member"},
		{name: "pending invitation", user: "usr_pat", path: "/orgs/org_a/dash", api: true, status: 403, code: "invitation_pending"},
		{name: "expired invitation", user: "usr_eve", path: "/orgs/org_a/dash", api: true, status: 403, code: "invitation_pending"},
		{name: "inactive member", user: "usr_ina", path: "/orgs/org_a/dash", api: true, status: 403, code: "membership_inactive"},
		{name: "inactive admin on admin route", user: "usr_ina", path: "/orgs/org_a/admin", api: true, status: 403, code: "membership_inactive"},
		{name: "unknown user id in session", user: "usr_ghost", path: "/orgs/org_a/dash", api: true, status: 403, code: "not_member"},
		{name: "wrong role", user: "usr_bob", path: "/orgs/org_a/admin", api: true, status: 403, code: "missing_role"},
		{name: "wrong role html is 403 page", user: "usr_bob", path: "/orgs/org_a/admin", status: 403, body: "do not have the role"},
		{name: "right role", user: "usr_ann", path: "/orgs/org_a/admin", status: 200, body: "usr_ann in org_a"},
		{name: "nested member+role", user: "usr_ann", path: "/orgs/org_a/both", status: 200, body: "usr_ann in org_a"},
		{name: "nested member+role refused", user: "usr_bob", path: "/orgs/org_a/both", api: true, status: 403, code: "missing_role"},
		{name: "non member html is 403 page", user: "usr_zed", path: "/orgs/org_a/dash", status: 403, body: "not a member"},
		{name: "no session on admin route api", path: "/orgs/org_a/admin", api: true, status: 401, code: "unauthenticated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", tt.path, nil)
			if tt.api {
				req.Header.Set("Accept", "application/json")
			} else {
				req.Header.Set("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
			}
			if tt.user != "" {
				req.AddCookie(sessionCookie(t, sm, tt.user))
			}
			rec := httptest.NewRecorder()
			app.ServeHTTP(rec, req)
			if rec.Code != tt.status {
				t.Fatalf("status = %d, want %d; body %q", rec.Code, tt.status, rec.Body.String())
			}
			if tt.location != "" {
				if got := rec.Header().Get("Location"); got != tt.location {
					t.Errorf("Location = %q, want %q", got, tt.location)
				}
			}
			if tt.code != "" {
				if ct := rec.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
					t.Errorf("Content-Type = %q", ct)
				}
				if got := errorCode(t, rec); got != tt.code {
					t.Errorf("code = %q, want %q", got, tt.code)
				}
			}
			if tt.body != "" && !strings.Contains(rec.Body.String(), tt.body) {
				t.Errorf("body %q does not contain %q", rec.Body.String(), tt.body)
			}
			if rec.Code >= 400 && !strings.Contains(rec.Header().Get("Cache-Control"), "no-store") {
				t.Errorf("refusal without Cache-Control: no-store")
			}
		})
	}
}

func TestLoginURLConfig(t *testing.T) {
	st := memstore.New()
	seed(t, st)
	app, _, _ := newApp(t, st, middleware.Config{LoginURL: "/auth/login?prompt=login"})
	rec := httptest.NewRecorder()
	app.ServeHTTP(rec, httptest.NewRequest("GET", "/orgs/org_a/dash", nil))
	if got, want := rec.Header().Get("Location"), "/auth/login?prompt=login&return_to=%2Forgs%2Forg_a%2Fdash"; got != want {
		t.Fatalf("Location = %q, want %q", got, want)
	}
}

func TestNoLoadAndSaveIsInternalErrorNotPanic(t *testing.T) {
	st := memstore.New()
	seed(t, st)
	mw, err := middleware.New(st, scs.New(), middleware.Config{})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /orgs/{orgID}/dash", mw.RequireMember(whoami)) // no LoadAndSave
	req := httptest.NewRequest("GET", "/orgs/org_a/dash", nil)
	req.Header.Set("Accept", "application/json")
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	if rec.Code != 500 || errorCode(t, rec) != "internal" {
		t.Fatalf("got %d %s", rec.Code, rec.Body.String())
	}
	if _, err := mw.Check(req); !errors.Is(err, middleware.ErrNoSessionManager) {
		t.Fatalf("Check err = %v", err)
	}
}

// failingReader fails every read with a message that must not be shown.
type failingReader struct{}

var errDB = errors.New("db: connection to 10.0.0.7 refused (secret detail)")

func (failingReader) GetMembership(context.Context, string, string) (store.Membership, error) {
	return store.Membership{}, errDB
}
func (failingReader) GetUser(context.Context, string) (store.User, error) { return store.User{}, errDB }

func TestStoreFailureIs500WithoutDetails(t *testing.T) {
	app, sm, mw := newApp(t, failingReader{}, middleware.Config{})
	for _, api := range []bool{true, false} {
		req := httptest.NewRequest("GET", "/orgs/org_a/dash", nil)
		if api {
			req.Header.Set("Accept", "application/json")
		}
		req.AddCookie(sessionCookie(t, sm, "usr_ann"))
		rec := httptest.NewRecorder()
		app.ServeHTTP(rec, req)
		if rec.Code != 500 {
			t.Fatalf("status %d", rec.Code)
		}
		if strings.Contains(rec.Body.String(), "10.0.0.7") {
			t.Fatalf("internal detail leaked: %s", rec.Body.String())
		}
	}
	// Check reports the wrapped store error to the caller.
	var gotErr error
	h := sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.SetPathValue("orgID", "org_a")
		_, gotErr = mw.Check(r)
	}))
	req := httptest.NewRequest("GET", "/", nil)
	req.AddCookie(sessionCookie(t, sm, "usr_ann"))
	h.ServeHTTP(httptest.NewRecorder(), req)
	if !errors.Is(gotErr, errDB) {
		t.Fatalf("Check err = %v, want wrapping errDB", gotErr)
	}
}

func TestErrorHandlerAndCheck(t *testing.T) {
	st := memstore.New()
	seed(t, st)
	var seen []error
	var mw *middleware.Middleware
	cfg := middleware.Config{
		Resolver: middleware.Header("X-Org-ID"),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			seen = append(seen, err)
			if errors.Is(err, middleware.ErrNoSession) {
				http.Error(w, "custom login", http.StatusTeapot)
				return
			}
			mw.RenderError(w, r, err)
		},
	}
	app, sm, m := newApp(t, st, cfg)
	mw = m
	mux := http.NewServeMux()
	mux.Handle("/api/me", mw.RequireMember(whoami))
	api := sm.LoadAndSave(mux)

	do := func(user, org string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", "/api/me", nil)
		req.Header.Set("Accept", "application/json")
		if org != "" {
			req.Header.Set("X-Org-ID", org)
		}
		if user != "" {
			req.AddCookie(sessionCookie(t, sm, user))
		}
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, req)
		return rec
	}
	if rec := do("", "org_a"); rec.Code != http.StatusTeapot {
		t.Fatalf("custom handler not used: %d", rec.Code)
	}
	if rec := do("usr_ann", ""); rec.Code != 400 || errorCode(t, rec) != "no_organization" {
		t.Fatalf("missing header: %d %s", rec.Code, rec.Body.String())
	}
	if rec := do("usr_ann", "org_a"); rec.Code != 200 || rec.Body.String() != "usr_ann in org_a" {
		t.Fatalf("member via header: %d %s", rec.Code, rec.Body.String())
	}
	if len(seen) != 2 || !errors.Is(seen[0], middleware.ErrNoSession) || !errors.Is(seen[1], middleware.ErrNoOrg) {
		t.Fatalf("ErrorHandler saw %v", seen)
	}
	_ = app

	// Check and CheckRole decide without writing.
	var got []error
	var member middleware.Member
	probe := sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m, err := mw.Check(r)
		got = append(got, err)
		if err == nil {
			member = m
		}
		_, err = mw.CheckRole(r, "owner")
		got = append(got, err)
	}))
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("X-Org-ID", "org_a")
	req.AddCookie(sessionCookie(t, sm, "usr_ann"))
	probe.ServeHTTP(httptest.NewRecorder(), req)
	if got[0] != nil || !errors.Is(got[1], middleware.ErrMissingRole) {
		t.Fatalf("Check/CheckRole = %v", got)
	}
	if member.User.ID != "usr_ann" || !member.HasRole("admin") || member.Membership.Status != store.StatusActive {
		t.Fatalf("member = %+v", member)
	}
}

func TestPendingWrapsNotMember(t *testing.T) {
	if !errors.Is(middleware.ErrPendingInvite, middleware.ErrNotMember) {
		t.Fatal("ErrPendingInvite must wrap ErrNotMember")
	}
}

func TestNewValidatesConfig(t *testing.T) {
	sm := scs.New()
	st := memstore.New()
	tests := []struct {
		name string
		st   middleware.MembershipReader
		sm   *scs.SessionManager
		cfg  middleware.Config
		want string
	}{
		{"nil store", nil, sm, middleware.Config{}, "nil MembershipReader"},
		{"nil sessions", st, nil, middleware.Config{}, "nil scs.SessionManager"},
		{"cache ttl above MaxCacheTTL", st, sm, middleware.Config{CacheTTL: middleware.MaxCacheTTL + time.Second}, "CacheTTL"},
		// Without push the staleness bound stays 1s: FallbackTTL.
		{"fallback ttl above 1s", st, sm, middleware.Config{CacheTTL: time.Minute, FallbackTTL: 2 * time.Second}, "FallbackTTL"},
		{"negative fallback ttl", st, sm, middleware.Config{CacheTTL: time.Minute, FallbackTTL: -1}, "FallbackTTL"},
		{"negative cache bytes", st, sm, middleware.Config{CacheTTL: time.Second, CacheBytes: -1}, "CacheBytes"},
		{"negative cache ttl", st, sm, middleware.Config{CacheTTL: -1}, "CacheTTL"},
		{"negative cache size", st, sm, middleware.Config{CacheTTL: time.Second, CacheSize: -1}, "CacheSize"},
		{"bad login url", st, sm, middleware.Config{LoginURL: "http://[::1"}, "LoginURL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := middleware.New(tt.st, tt.sm, tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "middleware: ") {
				t.Fatalf("err = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
	for _, ttl := range []time.Duration{time.Second, middleware.MaxCacheTTL} {
		if _, err := middleware.New(st, sm, middleware.Config{CacheTTL: ttl}); err != nil {
			t.Fatalf("%v must be accepted: %v", ttl, err)
		}
	}
}

func TestContextAccessorsNeverPanic(t *testing.T) {
	if _, ok := middleware.MemberFromContext(context.Background()); ok {
		t.Fatal("member in empty context")
	}
	if _, ok := middleware.UserFromContext(nil); ok {
		t.Fatal("user in nil context")
	}
	// A look-alike key from another package cannot forge a member.
	type memberKey struct{}
	ctx := context.WithValue(context.Background(), memberKey{}, &middleware.Member{})
	if _, ok := middleware.MemberFromContext(ctx); ok {
		t.Fatal("forged member accepted")
	}
	ctx = middleware.WithMember(context.Background(), middleware.Member{User: store.User{ID: "usr_x"}})
	if u, ok := middleware.UserFromContext(ctx); !ok || u.ID != "usr_x" {
		t.Fatalf("WithMember round trip: %v %v", u, ok)
	}
}

func TestWantsJSON(t *testing.T) {
	tests := []struct {
		accept string
		want   bool
	}{
		{"", false},
		{"application/json", true},
		{"application/problem+json", true},
		{"text/html,application/xhtml+xml,*/*;q=0.8", false},
		{"text/html, application/json", false},
		{"*/*", false},
		{"Application/JSON; charset=utf-8", true},
	}
	for _, tt := range tests {
		t.Run(tt.accept, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Accept", tt.accept)
			if got := middleware.WantsJSON(r); got != tt.want {
				t.Fatalf("WantsJSON(%q) = %v", tt.accept, got)
			}
		})
	}
}
