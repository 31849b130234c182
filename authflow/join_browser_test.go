package authflow_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/invitekit/invitekit/internal/dnstest"
	"github.com/invitekit/invitekit/invite/teampage"
	"github.com/invitekit/invitekit/mailer/outbox"
	"github.com/invitekit/invitekit/middleware"
	"github.com/invitekit/invitekit/store"
)

// The Chromium tests of requests to join and domain auto-join: a real
// browser against the app (authflow, middleware, the team page) and the
// in-process OpenID provider, each person in a browser context of their
// own (their own cookies).

// startChromium starts a headless Chromium for t, or skips t without one.
func startChromium(t *testing.T) context.Context {
	t.Helper()
	path := "/usr/bin/chromium"
	if _, err := os.Stat(path); err != nil {
		t.Skip("chromium not found (install Debian's chromium, /usr/bin/chromium): skipping the browser test")
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900))
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// person opens a browser context of its own (cookies apart) with a tab.
func person(t *testing.T, browser context.Context) context.Context {
	t.Helper()
	tab, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	tab, cancelTimeout := context.WithTimeout(tab, 2*time.Minute)
	t.Cleanup(cancelTimeout)
	if err := chromedp.Do(tab); err != nil {
		t.Fatal(err)
	}
	return tab
}

func run(t *testing.T, tab context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(tab, steps...); err != nil {
		t.Fatal(err)
	}
}

func textOf(t *testing.T, tab context.Context, css string) string {
	t.Helper()
	s, err := chromedp.Run(tab, chromedp.Text(chromedp.CSS(css)))
	if err != nil {
		t.Fatalf("text of %s: %v", css, err)
	}
	return strings.TrimSpace(s)
}

// providerLogin signs in at the provider's login form the tab is on.
func providerLogin(t *testing.T, tab context.Context, username string) {
	t.Helper()
	run(t, tab,
		chromedp.WaitVisible(chromedp.CSS(`input[name=username]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=username]`), username),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), opPassword),
		chromedp.Submit(chromedp.CSS(`input[name=password]`)),
	)
}

// joinEnv is the app with the join page, the app link /orgs/{orgID}/join
// and the team page for the organization's admins.
func joinEnv(t *testing.T, dns *dnstest.Server) *env {
	e := newEnv(t, envOptions{joinPath: "/join", resolver: dns.Resolver(), mount: func(e *env, mux *http.ServeMux) {
		page, err := teampage.New(e.svc, teampage.Config{Actor: func(r *http.Request) string {
			m, _ := middleware.MemberFromContext(r.Context())
			return m.User.ID
		}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { page.Close() })
		mux.Handle("/organizations/{orgID}/team/", e.mw.RequireRole("admin")(page))
		mux.Handle("/orgs/{orgID}/join", e.flow.JoinHandler())
	}})
	e.op.users.add("boss", "boss@example.com", true)
	return e
}

// TestBrowserJoinRequestToDashboard: a person follows the app's join link
// for Acme, signs in (no membership: the invitation-required page), asks
// to join from there; Acme's admin approves on the team page; the person
// is told by mail, continues, and lands on Acme's dashboard.
func TestBrowserJoinRequestToDashboard(t *testing.T) {
	browser := startChromium(t)
	e := joinEnv(t, dnstest.Start(t))
	e.op.users.add("joe", "joe@example.com", true)

	joe := person(t, browser)
	run(t, joe, chromedp.Navigate(e.app.URL+"/orgs/"+e.org.ID+"/join"))
	providerLogin(t, joe, "joe@example.com")
	run(t, joe, chromedp.WaitVisible(chromedp.ID("error-code")))
	if code := textOf(t, joe, "#error-code"); code != "invitation_required" {
		t.Fatalf("after sign-in: %q", code)
	}
	run(t, joe, chromedp.Click(chromedp.CSS(`a[data-step="join"]`)), chromedp.WaitVisible(chromedp.ID("join-submit")))
	if h := textOf(t, joe, "h1"); h != "Ask to join Acme" {
		t.Fatalf("join page: %q", h)
	}
	run(t, joe,
		chromedp.SendKeys(chromedp.ID("join-name"), "Joe Jones"),
		chromedp.SendKeys(chromedp.ID("join-message"), "I run the Berlin office."),
		chromedp.Click(chromedp.ID("join-submit")),
		chromedp.WaitVisible(chromedp.CSS(`#join-state[data-state="pending"]`)),
	)

	boss := person(t, browser)
	run(t, boss, chromedp.Navigate(e.app.URL+"/login?return_to="+"/organizations/"+e.org.ID+"/team/join"))
	providerLogin(t, boss, "boss@example.com")
	run(t, boss, chromedp.WaitVisible(chromedp.CSS(`tr[data-email="joe@example.com"]`)))
	if msg := textOf(t, boss, `tr[data-email="joe@example.com"] td`); msg != "I run the Berlin office." {
		t.Fatalf("the admin sees %q", msg)
	}
	run(t, boss,
		chromedp.Click(chromedp.CSS(`tr[data-email="joe@example.com"] form[action$="/approve"] button`)),
		chromedp.WaitVisible(chromedp.ID("ik-flash")),
	)
	if f := textOf(t, boss, "#ik-flash"); f != "joe@example.com is a member now." {
		t.Fatalf("flash: %q", f)
	}

	msgs, err := e.st.ListOutbox(context.Background(), e.org.ID, store.OutboxQueued, 10)
	// The admin was told of the request (join_requested), then the person
	// of the approval.
	if err != nil || len(msgs) != 2 || msgs[0].Kind != outbox.KindJoinRequested || msgs[0].To != "boss@example.com" ||
		msgs[1].Kind != outbox.KindJoinApproved || msgs[1].To != "joe@example.com" {
		t.Fatalf("the admin's and the person's mail: %+v %v", msgs, err)
	}

	run(t, joe, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#join-state[data-state="approved"]`)),
		chromedp.Click(chromedp.ID("join-continue")))
	providerLogin(t, joe, "joe@example.com")
	run(t, joe, chromedp.WaitVisible(chromedp.CSS("body")))
	var body string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if body, _ = chromedp.Run(joe, chromedp.Text(chromedp.CSS("body"))); strings.Contains(body, "dashboard of") {
			break
		}
	}
	if want := fmt.Sprintf("dashboard of %s for joe@example.com", e.org.ID); !strings.Contains(body, want) {
		t.Fatalf("after approval: %q, want %q", body, want)
	}
}

// TestBrowserDomainAutoJoin: Acme's admin adds acme-corp.test on the team
// page, publishes the TXT record shown there on the test DNS server,
// verifies it and sets auto-join; a person with a verified address at it
// signs in and lands on Acme's dashboard. When the record disappears, the
// scheduled re-verification stops it granting: the next newcomer gets the
// invitation-required page.
func TestBrowserDomainAutoJoin(t *testing.T) {
	browser := startChromium(t)
	dns := dnstest.Start(t)
	e := joinEnv(t, dns)
	e.op.users.add("ann", "ann@acme-corp.test", true)
	e.op.users.add("ben", "ben@acme-corp.test", true)

	boss := person(t, browser)
	run(t, boss, chromedp.Navigate(e.app.URL+"/login?return_to="+"/organizations/"+e.org.ID+"/team/join"))
	providerLogin(t, boss, "boss@example.com")
	run(t, boss,
		chromedp.WaitVisible(chromedp.ID("ik-domain-input")),
		chromedp.SendKeys(chromedp.ID("ik-domain-input"), "acme-corp.test"),
		chromedp.Submit(chromedp.ID("ik-domain-input")),
		chromedp.WaitVisible(chromedp.CSS(`[data-domain="acme-corp.test"] .ik-record-value`)),
	)
	name := textOf(t, boss, `[data-domain="acme-corp.test"] .ik-record-name`)
	value := textOf(t, boss, `[data-domain="acme-corp.test"] .ik-record-value`)
	if name != "_invitekit-challenge.acme-corp.test" || !strings.HasPrefix(value, "invitekit-verification=") {
		t.Fatalf("record: %q %q", name, value)
	}

	// Verify before publishing: refused, nothing verified.
	run(t, boss, chromedp.Click(chromedp.CSS(`[data-domain="acme-corp.test"] form[action$="/verify"] button`)),
		chromedp.WaitVisible(chromedp.ID("ik-alert")))
	dns.Set(name, value)
	run(t, boss, chromedp.Click(chromedp.CSS(`[data-domain="acme-corp.test"] form[action$="/verify"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-domain="acme-corp.test"][data-verified="true"]`)))
	run(t, boss,
		chromedp.Click(chromedp.CSS(`[data-domain="acme-corp.test"] input[name=policy][value=AUTO_JOIN]`)),
		chromedp.Click(chromedp.CSS(`[data-domain="acme-corp.test"] form[action$="/policy"] input[name=roles][value=member]`)),
		chromedp.Click(chromedp.CSS(`[data-domain="acme-corp.test"] form[action$="/policy"] button`)),
		chromedp.WaitVisible(chromedp.ID("ik-flash")),
	)

	ann := person(t, browser)
	run(t, ann, chromedp.Navigate(e.app.URL+"/login"))
	providerLogin(t, ann, "ann@acme-corp.test")
	var body string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if body, _ = chromedp.Run(ann, chromedp.Text(chromedp.CSS("body"))); strings.Contains(body, "dashboard of") {
			break
		}
	}
	if want := fmt.Sprintf("dashboard of %s for ann@acme-corp.test", e.org.ID); !strings.Contains(body, want) {
		t.Fatalf("auto-join: %q, want %q", body, want)
	}

	// The record disappears; the re-verification (a day later) drops it.
	dns.Delete(name)
	e.clock.Add(25 * time.Hour)
	if _, lost, err := e.svc.RecheckDomains(context.Background(), 0); err != nil || lost != 1 {
		t.Fatalf("recheck: %d %v", lost, err)
	}
	ben := person(t, browser)
	run(t, ben, chromedp.Navigate(e.app.URL+"/login"))
	providerLogin(t, ben, "ben@acme-corp.test")
	run(t, ben, chromedp.WaitVisible(chromedp.ID("error-code")))
	if code := textOf(t, ben, "#error-code"); code != "invitation_required" {
		t.Fatalf("after the record disappeared: %q", code)
	}
}
