package authflow_test

import (
	"context"
	"html/template"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/invitekit/invitekit/authflow"
	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/store/memstore"
)

// staticProvider is a provider from fixed metadata (no discovery).
func staticProvider() *oidc.Provider {
	pc := oidc.ProviderConfig{
		IssuerURL: "https://idp.example/", AuthURL: "https://idp.example/auth", TokenURL: "https://idp.example/token",
		UserInfoURL: "https://idp.example/userinfo", JWKSURL: "https://idp.example/keys", Algorithms: []string{"RS256"},
	}
	return pc.NewProvider(context.Background())
}

func newService(t *testing.T) *invite.Service {
	t.Helper()
	svc, err := invite.New(memstore.New(), invite.Config{SecretKey: secretKey, AcceptURL: "https://app.example/accept"})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func TestNewValidatesConfig(t *testing.T) {
	svc := newService(t)
	sm := scs.New()
	good := authflow.Config{Provider: staticProvider(), ClientID: "app", RedirectURL: "https://app.example/auth/callback"}
	with := func(mod func(*authflow.Config)) authflow.Config { c := good; mod(&c); return c }
	tests := []struct {
		name string
		svc  *invite.Service
		sm   *scs.SessionManager
		cfg  authflow.Config
		want string
	}{
		{"nil service", nil, sm, good, "nil invite.Service"},
		{"nil sessions", svc, nil, good, "nil scs.SessionManager"},
		{"no client id", svc, sm, with(func(c *authflow.Config) { c.ClientID = "" }), "ClientID"},
		{"relative redirect", svc, sm, with(func(c *authflow.Config) { c.RedirectURL = "/cb" }), "RedirectURL"},
		{"no provider", svc, sm, with(func(c *authflow.Config) { c.Provider = nil }), "Provider or Config.Issuer"},
		{"bad path", svc, sm, with(func(c *authflow.Config) { c.LoginPath = "login" }), "LoginPath"},
		{"absolute dashboard", svc, sm, with(func(c *authflow.Config) { c.DashboardURL = "https://evil.com" }), "DashboardURL"},
		{"relative end session", svc, sm, with(func(c *authflow.Config) { c.EndSessionRedirect = "/bye" }), "EndSessionRedirect"},
		{"templates missing", svc, sm, with(func(c *authflow.Config) { c.Templates = template.Must(template.New("accept").Parse("x")) }), `no template "message"`},
		{"bad trusted origin", svc, sm, with(func(c *authflow.Config) { c.TrustedOrigins = []string{"not a url"} }), "TrustedOrigins"},
		{"relative issuer", svc, sm, with(func(c *authflow.Config) { c.Provider = nil; c.Issuer = "idp.example" }), "Issuer"},
		{"relative end session endpoint", svc, sm, with(func(c *authflow.Config) { c.EndSessionEndpoint = "/end" }), "EndSessionEndpoint"},
		{"negative login TTL", svc, sm, with(func(c *authflow.Config) { c.LoginTTL = -time.Second }), "LoginTTL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := authflow.New(tt.svc, tt.sm, tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "authflow: ") {
				t.Fatalf("err = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
	f, err := authflow.New(svc, sm, good)
	if err != nil {
		t.Fatal(err)
	}
	accept, login, callback, logout := f.Paths()
	if accept != "/accept" || login != "/login" || callback != "/auth/callback" || logout != "/logout" {
		t.Fatalf("default paths %s %s %s %s", accept, login, callback, logout)
	}
}

func TestScopesAndLoginURL(t *testing.T) {
	svc := newService(t)
	sm := scs.New()
	f, err := authflow.New(svc, sm, authflow.Config{Provider: staticProvider(), ClientID: "app",
		RedirectURL: "https://app.example/cb", OfflineAccess: true, Scopes: []string{"email"}})
	if err != nil {
		t.Fatal(err)
	}
	h := sm.LoadAndSave(f.Handler())
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", f.LoginURL("/orgs/x?y=1"), nil))
	loc := rec.Header().Get("Location")
	if rec.Code != 303 || !strings.Contains(loc, "scope=openid+email+offline_access") || strings.Contains(loc, "login_hint") {
		t.Fatalf("login redirect %d %q", rec.Code, loc)
	}
	// The callback path defaults to RedirectURL's path.
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/cb?state=x&code=y", nil))
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), "login_not_started") {
		t.Fatalf("callback at RedirectURL path: %d %s", rec.Code, rec.Body.String())
	}
}

func TestHandlersWithoutSessionsOrWrongMethod(t *testing.T) {
	f, err := authflow.New(newService(t), scs.New(), authflow.Config{Provider: staticProvider(), ClientID: "app", RedirectURL: "https://app.example/auth/callback"})
	if err != nil {
		t.Fatal(err)
	}
	h := f.Handler() // deliberately not wrapped in LoadAndSave
	for _, tt := range []struct {
		method, path string
		status       int
		code         string
	}{
		{"GET", "/login", 500, "session_unavailable"},
		{"GET", "/auth/callback?state=x&code=y", 500, "session_unavailable"},
		{"POST", "/logout", 500, "session_unavailable"},
		{"DELETE", "/login", 405, "method_not_allowed"},
		{"POST", "/auth/callback", 405, "method_not_allowed"},
		{"PUT", "/accept", 405, "method_not_allowed"},
	} {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
			if rec.Code != tt.status || !strings.Contains(rec.Body.String(), `<code id="error-code">`+tt.code+`</code>`) {
				t.Fatalf("%d %s", rec.Code, rec.Body.String())
			}
		})
	}
}

func TestTemplatesOverride(t *testing.T) {
	tmpl := template.Must(template.New("accept").Parse(`custom accept {{.OrgName}}`))
	template.Must(tmpl.New("message").Parse(`custom {{.Status}} {{.Error.Code}}`))
	template.Must(tmpl.New("logout").Parse(`custom logout`))
	sm := scs.New()
	f, err := authflow.New(newService(t), sm, authflow.Config{Provider: staticProvider(), ClientID: "app",
		RedirectURL: "https://app.example/auth/callback", Templates: tmpl})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	sm.LoadAndSave(f.Handler()).ServeHTTP(rec, httptest.NewRequest("GET", "/accept?token=nope", nil))
	if rec.Code != http.StatusNotFound || rec.Body.String() != "custom 404 invalid_token" {
		t.Fatalf("%d %q", rec.Code, rec.Body.String())
	}
}
