package teampage_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/store"
)

// startOP runs zitadel's example OP in process: the provider the admin
// connects.
func startOP(t *testing.T) string {
	t.Helper()
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	issuer := srv.URL + "/"
	h = exampleop.SetupServer(issuer, storage.NewStorage(storage.NewUserStore(issuer)), nil, false)
	return issuer
}

// TestBrowserSSOConnection: an admin configures the organization's
// single sign-on in Chromium: a provider that does not answer is refused
// by "Test connection" (the field marked, the reason shown), the real
// one passes, "Save connection" stores it (secret sealed, required, the
// name claim as typed),
// and the page shows it again without the secret; the other
// organization has none. Then the admin trusts the other organization's
// connection by its id (a malformed id is refused with the field
// marked), sees it listed, and removes it again.
func TestBrowserSSOConnection(t *testing.T) {
	tab := newTab(t)
	dialogs := acceptDialogs(t, tab)
	f := newFixture(t, nil)
	issuer := startOP(t)
	ctx := context.Background()
	// The members page links the section.
	do(t, tab,
		chromedp.Navigate(f.base+"/"),
		chromedp.WaitVisible(chromedp.ID("ik-sso-link")),
		chromedp.Click(chromedp.ID("ik-sso-link")),
		chromedp.WaitVisible(chromedp.ID("ik-sso-none")),
	)
	checkLabels(t, tab)
	do(t, tab,
		chromedp.SendKeys(chromedp.ID("ik-sso-name"), "Acme Okta"),
		chromedp.SendKeys(chromedp.ID("ik-sso-issuer"), "http://127.0.0.1:1/"),
		chromedp.SendKeys(chromedp.ID("ik-sso-client"), "web"),
		chromedp.SendKeys(chromedp.ID("ik-sso-secret"), "s3cret-value"),
		chromedp.Click(chromedp.ID("ik-sso-test")),
		chromedp.WaitVisible(chromedp.ID("ik-alert")),
	)
	if msg := text(t, tab, chromedp.CSS("#ik-alert")); !strings.Contains(msg, "discovery document") {
		t.Fatalf("alert: %q", msg)
	}
	inv, err := chromedp.Run(tab, chromedp.Evaluate[string](`document.getElementById('ik-sso-issuer').getAttribute('aria-invalid') || ''`))
	if err != nil || inv != "true" {
		t.Fatalf("issuer not marked: %q %v", inv, err)
	}
	if _, err := f.svc.SSOConnection(ctx, "org_acme"); err == nil {
		t.Fatal("a failed test saved something")
	}
	// The real provider: the test passes and says what it found.
	do(t, tab,
		chromedp.SetValue(chromedp.ID("ik-sso-issuer"), issuer),
		chromedp.SendKeys(chromedp.ID("ik-sso-secret"), "s3cret-value"),
		chromedp.Click(chromedp.ID("ik-sso-test")),
		chromedp.WaitVisible(chromedp.ID("ik-sso-tested")),
	)
	if msg := text(t, tab, chromedp.CSS("#ik-sso-tested")); !strings.Contains(msg, "signing keys") {
		t.Fatalf("tested: %q", msg)
	}
	// Save, required.
	do(t, tab,
		chromedp.SendKeys(chromedp.ID("ik-sso-secret"), "s3cret-value"),
		chromedp.SetValue(chromedp.ID("ik-sso-name-claim"), "given_name"),
		chromedp.Click(chromedp.ID("ik-sso-enforce")),
		chromedp.Click(chromedp.ID("ik-sso-save")),
		chromedp.WaitVisible(chromedp.ID("ik-flash")),
	)
	if got := waitText(t, tab, "#ik-flash", "Single sign-on connection saved."); got != "Single sign-on connection saved." {
		t.Fatalf("flash: %q", got)
	}
	c, err := f.svc.SSOConnection(ctx, "org_acme")
	if err != nil || c.Name != "Acme Okta" || c.Issuer != issuer || !c.Enforce || !c.HasSecret || c.NameClaim != "given_name" {
		t.Fatalf("saved: %+v %v", c, err)
	}
	raw, _ := any(f.st).(store.SSOConnectionStore).GetSSOConnection(ctx, "org_acme")
	if strings.Contains(string(raw.SealedSecret), "s3cret-value") {
		t.Fatal("secret stored in the clear")
	}
	html, err := chromedp.Run(tab, chromedp.OuterHTML(chromedp.CSS("main, body")))
	if err != nil || strings.Contains(html, "s3cret-value") || !strings.Contains(html, `value="Acme Okta"`) || !strings.Contains(html, `value="given_name"`) {
		t.Fatalf("page after save shows the secret or lost the values (%v)", err)
	}
	checkLabels(t, tab)
	if _, err := f.svc.SSOConnection(ctx, "org_other"); err == nil {
		t.Fatal("the other organization got a connection")
	}
	if got := text(t, tab, "#ik-sso-id"); got != c.ID {
		t.Fatalf("own connection id shown: %q, want %q", got, c.ID)
	}

	// Trust the other organization's connection, by the id its admin gives.
	other, err := f.svc.SaveSSOConnection(ctx, "org_other", invite.SSOConnectionRequest{Name: "Other IdP", Issuer: issuer, ClientID: "other"}, "")
	if err != nil {
		t.Fatal(err)
	}
	do(t, tab,
		chromedp.WaitVisible(chromedp.ID("ik-sso-trust-none")),
		chromedp.SendKeys(chromedp.ID("ik-sso-trust-id"), "okta-123"),
		chromedp.Click(chromedp.ID("ik-sso-trust-add")),
		chromedp.WaitVisible(chromedp.ID("ik-sso-trust-id-error")),
	)
	inv, err = chromedp.Run(tab, chromedp.Evaluate[string](`document.getElementById('ik-sso-trust-id').getAttribute('aria-invalid') || ''`))
	if msg := text(t, tab, "#ik-alert"); err != nil || inv != "true" || !strings.Contains(msg, "Connection id") {
		t.Fatalf("malformed id: aria-invalid %q, alert %q (%v)", inv, msg, err)
	}
	do(t, tab,
		chromedp.SetValue(chromedp.ID("ik-sso-trust-id"), other.ID),
		chromedp.Click(chromedp.ID("ik-sso-trust-add")),
		chromedp.WaitVisible(chromedp.ID("ik-sso-trust-list")),
	)
	if got := waitText(t, tab, "#ik-flash", "Connection trusted."); got != "Connection trusted." {
		t.Fatalf("flash: %q", got)
	}
	if got := text(t, tab, "#ik-sso-trust-list tbody"); strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(got), "Remove")) != other.ID {
		t.Fatalf("trusted list: %q, want %s", got, other.ID)
	}
	if ids, err := f.svc.SSOTrust(ctx, "org_acme"); err != nil || len(ids) != 1 || ids[0] != other.ID {
		t.Fatalf("stored trust: %v %v", ids, err)
	}
	checkLabels(t, tab)
	// Remove it (the page asks first).
	do(t, tab,
		chromedp.Click(chromedp.CSS(`#ik-sso-trust-list tr[data-connection="`+other.ID+`"] button`)),
		chromedp.WaitVisible(chromedp.ID("ik-sso-trust-none")),
	)
	if got := waitText(t, tab, "#ik-flash", "Connection no longer trusted."); got != "Connection no longer trusted." {
		t.Fatalf("flash: %q", got)
	}
	if ids, err := f.svc.SSOTrust(ctx, "org_acme"); err != nil || len(ids) != 0 {
		t.Fatalf("stored trust after removal: %v %v", ids, err)
	}
	if d := dialogs(); len(d) != 1 || !strings.Contains(d[0], "Stop trusting") {
		t.Fatalf("confirmations: %q", d)
	}
}
