package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/invitekit/invitekit/examples/devidp"
	"github.com/invitekit/invitekit/examples/e2e"
	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/mailer"
	"github.com/invitekit/invitekit/store"
)

// browser is the package's one Chromium; each test opens its own tabs.
var browser e2e.Shared

func TestMain(m *testing.M) {
	code := m.Run()
	browser.Close()
	os.Exit(code)
}

// testApp is the quickstart running in-process on 127.0.0.1 (the dev
// provider uses the same host name, so cookies never cross hosts).
type testApp struct {
	*app
	base string // http://127.0.0.1:port
}

// startApp runs newApp with a fresh data folder, serves it on a free port
// and runs its mail dispatcher; everything stops at the end of the test.
// opts change the configuration before newApp.
func startApp(t testing.TB, opts ...func(*config)) *testApp {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil) // listens on 127.0.0.1:0 already
	base := "http://" + srv.Listener.Addr().String()
	cfg := config{
		Addr:       srv.Listener.Addr().String(),
		BaseURL:    base,
		DataDir:    t.TempDir(),
		DevIdPAddr: "127.0.0.1:0",
		Logger:     slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo})),
	}
	for _, o := range opts {
		o(&cfg)
	}
	a, err := newApp(t.Context(), cfg)
	if err != nil {
		srv.Close()
		t.Fatalf("newApp: %v", err)
	}
	t.Cleanup(func() { a.Close() })
	srv.Config.Handler = a.Handler
	srv.Start()
	t.Cleanup(srv.Close)

	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.Dispatcher.Run(ctx)
	}()
	t.Cleanup(func() { stop(); <-done })

	if cfg.Issuer == "" && a.IdP == nil {
		t.Fatal("no provider configured, and no dev provider running")
	}
	if a.IdP != nil && !strings.HasPrefix(a.IdP.Issuer, "http://127.0.0.1:") {
		t.Fatalf("dev provider issuer %q: want the app's host name 127.0.0.1", a.IdP.Issuer)
	}
	return &testApp{app: a, base: base}
}

// TestNewcomerPath walks the README's quickstart in a real browser: the
// admin signs in and invites Ann from the team page; Ann opens the mail in
// the dev inbox, joins, signs in and lands on the dashboard as ACTIVE; the
// admin sees her ACTIVE, deactivates her, and her next request is refused.
// Admin and Ann use separate browser contexts (separate cookie jars).
func TestNewcomerPath(t *testing.T) {
	browser.Browser(t) // skips without Chromium
	qa := startApp(t)
	admin := browser.Tab(t, true) // tabs close before the app stops
	ann := browser.Tab(t, true)
	ctx := t.Context()
	const annEmail = "ann@example.com"
	teamURL := qa.base + "/orgs/" + seedOrgID + "/team/"
	dashboardURL := qa.base + "/orgs/" + seedOrgID + "/dashboard"
	annRow := `tr[data-email="` + annEmail + `"]`

	// The team page asks before deactivating (window.confirm): answer OK
	// and remember what was asked.
	var dialogsMu sync.Mutex
	var dialogs []string
	e2e.AcceptDialogs(admin, func(msg string) {
		dialogsMu.Lock()
		dialogs = append(dialogs, msg)
		dialogsMu.Unlock()
	})

	// 1. Home page, then "Sign in as the admin" → the dev provider's form.
	mustStatus(t, "home", must(chromedp.Run(admin, chromedp.NavigateResponse(qa.base+"/")))(t), http.StatusOK)
	if got := must(chromedp.Run(admin, chromedp.Text(chromedp.CSS("p.dev"))))(t); !strings.Contains(got, devidp.Password) {
		t.Errorf("home page dev note = %q, want it to name the password %q", got, devidp.Password)
	}
	e2e.Screenshot(t, admin, "01-home")
	mustStatus(t, "sign-in link", click(t, admin, `a[href^="/login?return_to="]`), http.StatusOK)
	requirePrefix(t, "after sign-in link", location(t, admin), qa.IdP.Issuer+"login/username")
	e2e.Screenshot(t, admin, "02-admin-idp-login")

	// 2. Sign in as the seeded admin → back on the team page.
	mustStatus(t, "admin login", idpLogin(t, admin, seedAdminEmail), http.StatusOK)
	requireEqual(t, "admin lands on", location(t, admin), teamURL)
	e2e.Screenshot(t, admin, "03-team")

	// 3. Add Ann through the form, with "Send invitation email" on.
	if on := must(chromedp.Run(admin, chromedp.JavascriptAttribute[bool](chromedp.CSS(`#ik-add input[name="send_email"]`), "checked")))(t); !on {
		t.Fatal(`"Send invitation email" is not checked by default`)
	}
	do(t, admin,
		chromedp.SendKeys(chromedp.ID("ik-add-email"), annEmail),
		chromedp.SendKeys(chromedp.ID("ik-add-first"), "Ann"),
		chromedp.SendKeys(chromedp.ID("ik-add-last"), "Lee"),
	)
	mustStatus(t, "add person", click(t, admin, "#ik-add-submit"), http.StatusOK)
	requireContains(t, "flash after adding", text(t, admin, "#ik-flash"), "Invitation sent to "+annEmail)
	requireEqual(t, "Ann's row status", attr(t, admin, annRow, "data-status"), string(store.StatusPendingInvite))
	e2e.Screenshot(t, admin, "04-team-ann-pending")

	// 4. The dispatcher renders the invitation into the dev inbox; Ann
	// opens it and clicks the accept link.
	mail := waitMail(t, qa.Inbox, annEmail)
	requireContains(t, "invitation subject", mail.Subject, seedOrgName)
	mustStatus(t, "dev inbox", must(chromedp.Run(ann, chromedp.NavigateResponse(qa.base+"/dev/inbox")))(t), http.StatusOK)
	e2e.Screenshot(t, ann, "05-dev-inbox")
	acceptLink := `article.mail[data-to*="` + annEmail + `"] a.mail-link[href*="/accept?token="]`
	requirePrefix(t, "accept link", attr(t, ann, acceptLink, "href"), qa.base+"/accept?token=")
	mustStatus(t, "accept link", click(t, ann, acceptLink), http.StatusOK)

	// 5. The "Join Acme" page (it spends nothing), then Join → provider.
	requireEqual(t, "accept page heading", text(t, ann, "h1"), "Join "+seedOrgName)
	requireContains(t, "accept page", text(t, ann, "dl"), annEmail)
	e2e.Screenshot(t, ann, "06-accept")
	mustStatus(t, "join", click(t, ann, `button[name="action"][value="join"]`), http.StatusOK)
	requirePrefix(t, "after join", location(t, ann), qa.IdP.Issuer+"login/username")
	e2e.Screenshot(t, ann, "07-ann-idp-login")

	// 6. Ann signs in → her dashboard, ACTIVE.
	mustStatus(t, "ann login", idpLogin(t, ann, annEmail), http.StatusOK)
	requireEqual(t, "ann lands on", location(t, ann), dashboardURL)
	requireEqual(t, "dashboard #status", text(t, ann, "#status"), string(store.StatusActive))
	requireContains(t, "dashboard #welcome", text(t, ann, "#welcome"), annEmail)
	requireEqual(t, "dashboard #roles", text(t, ann, "#roles"), "member")
	e2e.Screenshot(t, ann, "08-ann-dashboard")

	// The store agrees: ACTIVE, verified, identity linked to the provider account.
	m, err := qa.Service.GetMember(ctx, seedOrgID, invite.UserRef{Email: annEmail})
	if err != nil {
		t.Fatalf("GetMember(%s): %v", annEmail, err)
	}
	if m.Membership.Status != store.StatusActive {
		t.Fatalf("stored membership status = %s, want ACTIVE", m.Membership.Status)
	}
	if !m.User.Profile.EmailVerified {
		t.Error("Ann's email is not marked verified after joining")
	}
	id, err := qa.Store.GetIdentity(ctx, qa.IdP.Issuer, "dev-"+annEmail)
	if err != nil || id.UserID != m.User.ID {
		t.Errorf("GetIdentity(dev provider, Ann) = %+v, %v; want linked to %s", id, err, m.User.ID)
	}

	// A member is not an admin: the team page is refused to Ann.
	mustStatus(t, "team page as Ann", must(chromedp.Run(ann, chromedp.NavigateResponse(teamURL)))(t), http.StatusForbidden)

	// 7. The admin's team page shows Ann ACTIVE.
	mustStatus(t, "team page", must(chromedp.Run(admin, chromedp.NavigateResponse(teamURL)))(t), http.StatusOK)
	requireEqual(t, "Ann's row status", attr(t, admin, annRow, "data-status"), string(store.StatusActive))
	e2e.Screenshot(t, admin, "09-team-ann-active")

	// 8. The admin deactivates Ann (confirming the dialog) …
	mustStatus(t, "deactivate", click(t, admin, annRow+` form[action$="/deactivate"] button`), http.StatusOK)
	requireContains(t, "flash after deactivating", text(t, admin, "#ik-flash"), annEmail+" was deactivated")
	requireEqual(t, "Ann's row status", attr(t, admin, annRow, "data-status"), string(store.StatusInactive))
	dialogsMu.Lock()
	asked := strings.Join(dialogs, "\n")
	dialogsMu.Unlock()
	requireContains(t, "confirmation dialog", asked, "Deactivate "+annEmail+"?")
	e2e.Screenshot(t, admin, "10-team-ann-inactive")

	// … and Ann's very next dashboard request is refused.
	mustStatus(t, "Ann's dashboard after deactivation", must(chromedp.Run(ann, chromedp.NavigateResponse(dashboardURL)))(t), http.StatusForbidden)
	requireContains(t, "refusal page", strings.ToLower(text(t, ann, "body")), "inactive")
	e2e.Screenshot(t, ann, "11-ann-refused")
	m, err = qa.Service.GetMember(ctx, seedOrgID, invite.UserRef{Email: annEmail})
	if err != nil || m.Membership.Status != store.StatusInactive {
		t.Fatalf("after deactivation: membership %s, %v; want INACTIVE", m.Membership.Status, err)
	}
}

// idpLogin fills the dev provider's login form and submits it; it returns
// the response of the page the redirects end on.
func idpLogin(t *testing.T, tab context.Context, email string) *network.Response {
	t.Helper()
	do(t, tab,
		chromedp.WaitReady(chromedp.ID("username")),
		// The form pre-fills the invited address (login_hint): replace it.
		chromedp.Clear(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), email),
		chromedp.SendKeys(chromedp.ID("password"), devidp.Password),
	)
	return click(t, tab, `button[type="submit"]`)
}

// waitMail waits for the dispatcher to deliver a mail to addr.
func waitMail(t *testing.T, inbox *mailer.DevInbox, addr string) mailer.Message {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		for _, m := range inbox.Messages() {
			if strings.Contains(m.To, addr) {
				return m
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no mail to %s in the dev inbox after 30s (%d mails)", addr, len(inbox.Messages()))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// must turns (v, err) into a func that fails t on err.
func must[T any](v T, err error) func(t *testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func do(t *testing.T, tab context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(tab, steps...); err != nil {
		t.Fatal(err)
	}
}

// click clicks the first element matching sel and waits for the page it
// leads to; it returns that page's response.
func click(t *testing.T, tab context.Context, sel string) *network.Response {
	t.Helper()
	resp, err := chromedp.RunResponse(tab, chromedp.Click(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("click %s: %v", sel, err)
	}
	return resp
}

func text(t *testing.T, tab context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(tab, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

func attr(t *testing.T, tab context.Context, sel, name string) string {
	t.Helper()
	v, err := chromedp.Run(tab, chromedp.AttributeValue(chromedp.CSS(sel), name))
	if err != nil {
		t.Fatalf("%s of %s: %v", name, sel, err)
	}
	if !v.Exists {
		t.Fatalf("%s has no attribute %s", sel, name)
	}
	return v.Value
}

func location(t *testing.T, tab context.Context) string {
	t.Helper()
	return must(chromedp.Run(tab, chromedp.Location()))(t)
}

func mustStatus(t *testing.T, what string, resp *network.Response, want int) {
	t.Helper()
	if resp == nil {
		t.Fatalf("%s: no response", what)
	}
	if int(resp.Status) != want {
		t.Fatalf("%s: %s answered %d, want %d", what, resp.URL, resp.Status, want)
	}
}

func requireEqual(t *testing.T, what, got, want string) {
	t.Helper()
	if got != want {
		t.Fatalf("%s = %q, want %q", what, got, want)
	}
}

func requirePrefix(t *testing.T, what, got, prefix string) {
	t.Helper()
	if !strings.HasPrefix(got, prefix) {
		t.Fatalf("%s = %q, want prefix %q", what, got, prefix)
	}
}

func requireContains(t *testing.T, what, got, sub string) {
	t.Helper()
	if !strings.Contains(got, sub) {
		t.Fatalf("%s = %q, want it to contain %q", what, got, sub)
	}
}
