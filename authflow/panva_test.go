package authflow_test

import (
	"bufio"
	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/invitekit/invitekit/authflow"
	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/middleware"
	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/store/memstore"
)

// panvaVersion is the oidc-provider release the interop test runs.
const panvaVersion = "9.13.3"

// startPanva installs (once, into the user cache dir) and starts panva
// oidc-provider. It skips the test when node or npm is missing or the
// package cannot be installed (offline).
func startPanva(t *testing.T, redirectURI, postLogout string, accounts map[string]map[string]any) string {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping the panva oidc-provider interop test in -short mode")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("skipping: node is not on PATH (needed for the panva oidc-provider interop test)")
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Skip("skipping: npm is not on PATH (needed for the panva oidc-provider interop test)")
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	// scripts/test.sh installs it from the lock file (npm ci) into
	// testdata/panva; without that, once into the user cache dir.
	local, _ := filepath.Abs(filepath.Join("testdata", "panva"))
	dir := filepath.Join(cache, "invitekit-test", "oidc-provider-"+panvaVersion)
	if _, err := os.Stat(filepath.Join(local, "node_modules", "oidc-provider", "package.json")); err == nil {
		dir = local
	} else if _, err := os.Stat(filepath.Join(dir, "node_modules", "oidc-provider", "package.json")); err != nil {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, npm, "install", "--prefix", dir, "--no-audit", "--no-fund",
			"--loglevel=error", "oidc-provider@"+panvaVersion).CombinedOutput()
		if err != nil {
			t.Skipf("skipping: npm install oidc-provider@%s failed (offline?): %v\n%s", panvaVersion, err, out)
		}
	}
	if dir != local {
		script, err := os.ReadFile(filepath.Join(local, "provider.mjs"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "provider.mjs"), script, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	acc, _ := json.Marshal(accounts)
	cmd := exec.Command(node, "provider.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "REDIRECT_URI="+redirectURI, "POST_LOGOUT_URI="+postLogout, "ACCOUNTS="+string(acc))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if port, ok := strings.CutPrefix(sc.Text(), "LISTENING "); ok {
				ready <- port
			}
		}
	}()
	select {
	case port := <-ready:
		return "http://127.0.0.1:" + port
	case <-time.After(90 * time.Second): // Node starts slowly on a loaded machine
		t.Fatal("panva oidc-provider did not start within 90s")
	}
	return ""
}

var (
	formActionRe = regexp.MustCompile(`<form[^>]*action="([^"]+)"`)
	hiddenRe     = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)"`)
)

// TestPanvaOIDCProvider runs invite → accept → login → ACTIVE →
// RequireMember against panva oidc-provider, a second, independent
// certified OP (email from UserInfo, RFC 9207 iss in the callback,
// interaction + consent screens), and the email-mismatch refusal.
func TestPanvaOIDCProvider(t *testing.T) {
	e := &env{t: t, clock: &clock{}}
	var handler http.Handler
	app := newAppServer(t, &handler)
	issuer := startPanva(t, app.URL+"/auth/callback", app.URL+"/bye", map[string]map[string]any{
		"ann":     {"email": "ann@example.com", "email_verified": true, "name": "Ann"},
		"mallory": {"email": "mallory@example.com", "email_verified": true, "name": "Mallory"},
	})
	e.app = app
	e.setupKit(t, func(sm *scs.SessionManager, svc *invite.Service) authflow.Config {
		return authflow.Config{
			Issuer: issuer, ClientID: "app", ClientSecret: "app-secret",
			RedirectURL: app.URL + "/auth/callback", DashboardURL: "/orgs/{orgID}/dashboard",
			EndSessionRedirect: app.URL + "/bye",
		}
	}, &handler)

	signIn := func(b *browser, login, wantPrompt string) page {
		t.Helper()
		p := b.get(e.app.URL + "/login")
		if p.status != 303 || !strings.HasPrefix(p.location, issuer+"/auth?") {
			t.Fatalf("login: %d %q", p.status, p.location)
		}
		if u, _ := url.Parse(p.location); u.Query().Get("login_hint") != "ann@example.com" || u.Query().Get("prompt") != wantPrompt {
			t.Errorf("login_hint = %q, prompt = %q (want %q)", u.Query().Get("login_hint"), u.Query().Get("prompt"), wantPrompt)
		}
		for range 10 {
			switch {
			case p.status/100 == 3 && strings.HasPrefix(p.location, e.app.URL+"/auth/callback"):
				if u, _ := url.Parse(p.location); u.Query().Get("iss") != issuer {
					t.Errorf("callback without RFC 9207 iss: %q", p.location)
				}
				return b.get(p.location)
			case p.status/100 == 3:
				p = b.get(p.location)
			case p.status == 200 && formActionRe.MatchString(p.body):
				// A provider form (login, consent, or the end of a previous
				// session): submit its hidden fields, plus credentials.
				form := url.Values{}
				for _, m := range hiddenRe.FindAllStringSubmatch(p.body, -1) {
					form.Set(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
				}
				if strings.Contains(p.body, `name="login"`) {
					form.Set("login", login)
					form.Set("password", "any")
				}
				m := formActionRe.FindStringSubmatch(p.body)
				p = b.post(resolve(issuer, html.UnescapeString(m[1])), form)
			default:
				t.Fatalf("unexpected provider page: %d %q %s", p.status, p.location, p.body)
			}
		}
		t.Fatal("too many steps at the provider")
		return page{}
	}

	// Email mismatch first: refused, still pending.
	userID, link := e.invite("ann@example.com")
	b := newBrowser(t)
	e.startJoin(b, link, "join")
	signIn(b, "mallory", "").expect(t, 403, "email_mismatch")
	if e.status(userID) != store.StatusPendingInvite {
		t.Fatal("mismatch changed the membership")
	}
	// The right account joins (same browser: the invitation is still pending
	// in the session, and the retry asks the provider to authenticate again
	// instead of reusing mallory's session there).
	p := signIn(b, "ann", "login")
	if p.status != 303 || p.location != e.app.URL+"/orgs/"+e.org.ID+"/dashboard" {
		t.Fatalf("callback: %d %q %s", p.status, p.location, p.body)
	}
	if e.status(userID) != store.StatusActive {
		t.Fatal("not ACTIVE after login at panva")
	}
	if p = b.get(p.location); p.status != 200 || !strings.Contains(p.body, "ann@example.com") {
		t.Fatalf("dashboard: %d %s", p.status, p.body)
	}
	// RP-initiated logout goes to panva's end_session_endpoint.
	p = b.post(e.app.URL+"/logout", nil)
	if p.status != 303 || !strings.HasPrefix(p.location, issuer+"/session/end?") || !strings.Contains(p.location, "id_token_hint=") {
		t.Fatalf("logout: %d %q", p.status, p.location)
	}
}

// resolve resolves a form action against the provider's URL.
func resolve(base, ref string) string {
	b, _ := url.Parse(base)
	r, _ := url.Parse(ref)
	return b.ResolveReference(r).String()
}

// newAppServer starts the app server whose handler is set later.
func newAppServer(t *testing.T, h *http.Handler) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { (*h).ServeHTTP(w, r) }))
	t.Cleanup(s.Close)
	return s
}

// setupKit wires store, service, middleware and the flow (from mkCfg) into e.
func (e *env) setupKit(t *testing.T, mkCfg func(*scs.SessionManager, *invite.Service) authflow.Config, h *http.Handler) {
	t.Helper()
	ctx := context.Background()
	e.st, e.sm, e.logs = memstore.New(), scs.New(), &syncBuffer{}
	var err error
	if e.mw, err = middleware.New(e.st, e.sm, middleware.Config{}); err != nil {
		t.Fatal(err)
	}
	if e.svc, err = invite.New(e.st, invite.Config{SecretKey: secretKey, AcceptURL: e.app.URL + "/accept", Now: e.clock.Now}); err != nil {
		t.Fatal(err)
	}
	e.sealer = e.svc.Sealer()
	if e.flow, err = authflow.New(e.svc, e.sm, withoutRateLimits(mkCfg(e.sm, e.svc))); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	e.flow.Routes(mux)
	mux.Handle("GET /orgs/{orgID}/dashboard", e.mw.RequireMember(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m, _ := middleware.MemberFromContext(r.Context())
		w.Write([]byte("dashboard for " + m.User.Email))
	})))
	*h = e.sm.LoadAndSave(mux)
	if e.org, _, err = e.svc.CreateOrganization(ctx, invite.CreateOrganizationRequest{Name: "Acme"}); err != nil {
		t.Fatal(err)
	}
}
