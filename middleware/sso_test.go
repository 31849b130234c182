package middleware_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/middleware"
	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/store/memstore"
)

// ssoSession makes a session for userID as authflow writes it after a
// sign-in through connID of connOrg ("" and "" for the default provider).
func ssoSession(t testing.TB, sm *scs.SessionManager, userID, gen, connID, connOrg string) *http.Cookie {
	t.Helper()
	ctx, err := sm.Load(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	sm.Put(ctx, middleware.SessionKeyUserID, userID)
	sm.Put(ctx, middleware.SessionKeyGeneration, gen)
	if connID != "" {
		sm.Put(ctx, middleware.SessionKeySSOConnection, connID)
		sm.Put(ctx, middleware.SessionKeySSOOrg, connOrg)
	}
	tok, _, err := sm.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Cookie{Name: sm.Cookie.Name, Value: tok}
}

// ssoWorld: organizations A (its connection, not enforced) and B (its
// connection, enforced) and a person who is an ACTIVE member of both.
type ssoWorld struct {
	svc        *invite.Service
	a, b       string // organization ids
	connA      string
	connB      string
	person     string
	sm         *scs.SessionManager
	gen        string
	now        time.Time
	mu         sync.Mutex
	app        http.Handler
	middleware *middleware.Middleware
}

func (w *ssoWorld) clock() time.Time { w.mu.Lock(); defer w.mu.Unlock(); return w.now }
func (w *ssoWorld) advance(d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.now = w.now.Add(d)
}

func newSSOWorld(t *testing.T, st store.Store) *ssoWorld {
	t.Helper()
	ctx := context.Background()
	w := &ssoWorld{sm: scs.New(), now: t0}
	svc, err := invite.New(st, invite.Config{SecretKey: make([]byte, 32), AcceptURL: "https://app.example/accept", Now: w.clock})
	if err != nil {
		t.Fatal(err)
	}
	w.svc = svc
	no := false
	for i, name := range []string{"Acme", "Beta"} {
		org, _, err := svc.CreateOrganization(ctx, invite.CreateOrganizationRequest{Name: name})
		if err != nil {
			t.Fatal(err)
		}
		res, err := svc.CreateUserAndMembership(ctx, org.ID, invite.InviteRequest{Email: "pat@example.com", SendInvitationEmail: &no})
		if err != nil {
			t.Fatal(err)
		}
		w.person = res.User.ID
		secret := "s3cret"
		c, err := svc.SaveSSOConnection(ctx, org.ID, invite.SSOConnectionRequest{
			Name: name + " SSO", Issuer: "https://idp" + name + ".example.com", ClientID: "app", ClientSecret: &secret, Enforce: i == 1,
		}, "")
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			w.a, w.connA = org.ID, c.ID
		} else {
			w.b, w.connB = org.ID, c.ID
		}
	}
	w.gen = svc.LoginSessionGeneration(ctx, w.person)
	w.middleware, err = middleware.New(st, w.sm, middleware.Config{Now: w.clock})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /orgs/{orgID}/dash", w.middleware.RequireMember(whoami))
	w.app = w.sm.LoadAndSave(mux)
	return w
}

// TestSSOPolicy: which session reaches which organization. A session
// signed in through an organization's connection reaches that
// organization (and those that trust the connection); an organization
// that enforces its connection admits only sessions signed in through
// it, never the default provider or another organization's connection.
func TestSSOPolicy(t *testing.T) {
	w := newSSOWorld(t, memstore.New())
	def := ssoSession(t, w.sm, w.person, w.gen, "", "")
	viaA := ssoSession(t, w.sm, w.person, w.gen, w.connA, w.a)
	viaB := ssoSession(t, w.sm, w.person, w.gen, w.connB, w.b)
	for _, tc := range []struct {
		name   string
		cookie *http.Cookie
		org    string
		code   int
		err    string
	}{
		{"default provider, A (no enforcement)", def, w.a, 200, ""},
		{"default provider, B (enforced)", def, w.b, 403, "sso_required"},
		{"A's connection, A", viaA, w.a, 200, ""},
		{"A's connection, B (enforced)", viaA, w.b, 403, "sso_required"},
		{"B's connection, B", viaB, w.b, 200, ""},
		{"B's connection, A (not trusted)", viaB, w.a, 403, "sso_wrong_organization"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, errCode := getAs(t, w.app, tc.cookie, "/orgs/"+tc.org+"/dash")
			if code != tc.code || errCode != tc.err {
				t.Fatalf("%d %q, want %d %q", code, errCode, tc.code, tc.err)
			}
		})
	}

	// An HTML request is sent to sign in through the organization's
	// connection, back to where it was.
	req := httptest.NewRequest("GET", "/orgs/"+w.b+"/dash?tab=1", nil)
	req.AddCookie(viaA)
	rec := httptest.NewRecorder()
	w.app.ServeHTTP(rec, req)
	loc, _ := url.Parse(rec.Header().Get("Location"))
	if rec.Code != http.StatusSeeOther || loc.Path != "/login" || loc.Query().Get("org") != w.b || loc.Query().Get("return_to") != "/orgs/"+w.b+"/dash?tab=1" {
		t.Fatalf("HTML refusal: %d %q", rec.Code, rec.Header().Get("Location"))
	}

	// A trusts B's connection: within the policy TTL B's sessions reach A.
	ctx := context.Background()
	if err := w.svc.SetSSOTrust(ctx, w.a, []string{w.connB}, ""); err != nil {
		t.Fatal(err)
	}
	w.advance(middleware.DefaultFallbackTTL)
	if code, e := getAs(t, w.app, viaB, "/orgs/"+w.a+"/dash"); code != 200 {
		t.Fatalf("trusted connection: %d %s", code, e)
	}
	// A now enforces its own connection: trust no longer suffices, and the
	// default provider is refused too.
	if _, err := w.svc.SaveSSOConnection(ctx, w.a, invite.SSOConnectionRequest{Name: "Acme SSO", Issuer: "https://idpAcme.example.com", ClientID: "app", Enforce: true}, ""); err != nil {
		t.Fatal(err)
	}
	w.advance(middleware.DefaultFallbackTTL)
	for _, c := range []*http.Cookie{viaB, def} {
		if code, e := getAs(t, w.app, c, "/orgs/"+w.a+"/dash"); code != 403 || e != "sso_required" {
			t.Fatalf("A enforcing: %d %s", code, e)
		}
	}
	if code, _ := getAs(t, w.app, viaA, "/orgs/"+w.a+"/dash"); code != 200 {
		t.Fatalf("A's own connection refused: %d", code)
	}
	// B removes its connection: its old sessions are no longer B's, the
	// default provider reaches B again.
	if err := w.svc.DeleteSSOConnection(ctx, w.b, ""); err != nil {
		t.Fatal(err)
	}
	w.advance(middleware.DefaultFallbackTTL)
	if code, e := getAs(t, w.app, viaB, "/orgs/"+w.b+"/dash"); code != 403 || e != "sso_wrong_organization" {
		t.Fatalf("deleted connection's session: %d %s", code, e)
	}
	if code, e := getAs(t, w.app, def, "/orgs/"+w.b+"/dash"); code != 200 {
		t.Fatalf("default provider after delete: %d %s", code, e)
	}
}
