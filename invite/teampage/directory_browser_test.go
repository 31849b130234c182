package teampage_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/invitekit/invitekit/invite/scim"
	"github.com/invitekit/invitekit/invite/teampage"
)

// TestBrowserDirectoryToken: in Chromium an admin opens Directory sync
// from the members page, creates a token and sees it once with the SCIM
// base URL; opening the page again shows only its id and "Never" used.
// The token, as copied from the page, works against the real SCIM handler
// (one request: 200, and the page then shows its last use); the admin
// revokes it (confirming), and the same request is then 401.
func TestBrowserDirectoryToken(t *testing.T) {
	tab := newTab(t)
	var scimHandler http.Handler
	scimSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { scimHandler.ServeHTTP(w, r) }))
	t.Cleanup(scimSrv.Close)
	f := newFixture(t, func(c *teampage.Config) { c.SCIMBaseURL = scimSrv.URL + "/scim/v2" })
	h, err := scim.New(scim.Config{Service: f.svc, BaseURL: scimSrv.URL + "/scim/v2"})
	if err != nil {
		t.Fatal(err)
	}
	scimHandler = h
	dialogs := acceptDialogs(t, tab)
	eval := func(js string) string {
		t.Helper()
		s, err := chromedp.Run(tab, chromedp.Evaluate[string](js))
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		return s
	}

	// 1. From the members page to the section; create a token.
	do(t, tab,
		chromedp.Navigate(f.base+"/"),
		chromedp.WaitVisible(chromedp.ID("ik-directory-link")),
		chromedp.Click(chromedp.ID("ik-directory-link")),
		chromedp.WaitVisible(chromedp.ID("ik-dir-no-tokens")),
	)
	checkLabels(t, tab)
	do(t, tab,
		chromedp.SendKeys(chromedp.ID("ik-dir-name"), "Okta"),
		chromedp.Click(chromedp.ID("ik-dir-create")),
		chromedp.WaitVisible(chromedp.ID("ik-dir-secret")),
	)
	secret := eval(`document.getElementById("ik-dir-secret").value`)
	baseURL := eval(`document.getElementById("ik-dir-url-new").value`)
	tokID, verifier, ok := strings.Cut(secret, ".")
	if !ok || !strings.HasPrefix(tokID, "dtk_") || verifier == "" || baseURL != scimSrv.URL+"/scim/v2" {
		t.Fatalf("shown: token %q, base URL %q", secret, baseURL)
	}
	if got := text(t, tab, chromedp.CSS("#ik-dir-new-title")); got != "Token “Okta” created" {
		t.Fatalf("title %q", got)
	}
	shot(t, tab, "teampage-directory-token")

	// 2. Opening the page again: the id and "Never", the secret gone.
	row := fmt.Sprintf(`tr[data-token=%q]`, tokID)
	do(t, tab,
		chromedp.Navigate(f.base+"/directory"),
		chromedp.WaitVisible(chromedp.CSS(row)),
	)
	if html := eval(`document.documentElement.outerHTML`); strings.Contains(html, verifier) || strings.Contains(html, `id="ik-dir-secret"`) {
		t.Fatal("the page shows the token again")
	}
	if got := text(t, tab, chromedp.CSS(row+" .ik-dir-last-used")); got != "Never" {
		t.Fatalf("last used %q", got)
	}
	if got := text(t, tab, chromedp.CSS(row+" th")); !strings.Contains(got, "Okta") || !strings.Contains(got, tokID+".…") {
		t.Fatalf("row %q", got)
	}

	// 3. The directory's request, with the token as copied.
	probe := func() (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, baseURL+"/Users?filter="+url.QueryEscape(`userName eq "nobody@example.com"`), nil)
		req.Header.Set("Authorization", "Bearer "+secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	status, body := probe()
	var list struct{ TotalResults int }
	if status != 200 || json.Unmarshal([]byte(body), &list) != nil || list.TotalResults != 0 {
		t.Fatalf("SCIM with the new token: %d %s", status, body)
	}
	do(t, tab, chromedp.Navigate(f.base+"/directory"), chromedp.WaitVisible(chromedp.CSS(row)))
	if n := eval(`String(document.querySelectorAll(` + jsString(row+" .ik-dir-last-used time") + `).length)`); n != "1" {
		t.Fatalf("last use not shown (%s time elements)", n)
	}

	// 4. Revoke it (the page asks first); the same request is refused.
	do(t, tab,
		chromedp.Click(chromedp.CSS(row+` form[action$="/revoke"] button`)),
		chromedp.WaitVisible(chromedp.ID("ik-flash")),
		chromedp.WaitNotPresent(chromedp.CSS(row)),
	)
	if got := text(t, tab, chromedp.CSS("#ik-flash")); !strings.HasPrefix(got, "Token “Okta” revoked") {
		t.Fatalf("flash %q", got)
	}
	if d := dialogs(); len(d) != 1 || !strings.Contains(d[0], "Revoke the token “Okta”?") {
		t.Fatalf("dialogs %q", d)
	}
	if got := eval(`document.getElementById("ik-dir-revoked").textContent`); !strings.Contains(got, tokID) { // inside a closed <details>
		t.Fatalf("revoked list %q", got)
	}
	shot(t, tab, "teampage-directory-revoked")
	if status, body := probe(); status != http.StatusUnauthorized {
		t.Fatalf("SCIM with the revoked token: %d %s", status, body)
	}
}

func jsString(s string) string { b, _ := json.Marshal(s); return string(b) }
