package teampage_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/invitekit/invitekit/internal/pages/pagetest"
	"github.com/invitekit/invitekit/store"
)

// TestBrowserDirectoryLooks shows the Directory sync section right after
// a token was created (the one-time card, the token table with a
// 100-character token name, a revoked token, group → role rows with a
// 256-character group name) in English and German, light and dark, at
// 1280×800 and 375×812: a screenshot of each, nothing scrolls
// horizontally, every button inside the viewport, the page in the asked
// language, and axe-core with no serious or critical violation when it is
// installed.
func TestBrowserDirectoryLooks(t *testing.T) {
	newTab(t) // skips without Chromium
	axe, err := pagetest.LoadAxe()
	if err != nil {
		t.Logf("%v: the accessibility part is skipped", err)
	}
	f := directoryFixture(t)
	ctx := context.Background()
	if _, _, err := f.svc.CreateDirectoryToken(ctx, "org_acme", pagetest.LongName, f.adminID); err != nil {
		t.Fatal(err)
	}
	_, old, err := f.svc.CreateDirectoryToken(ctx, "org_acme", "Old Entra", f.adminID)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.RevokeDirectoryToken(ctx, "org_acme", old.ID, f.adminID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.SetDirectorySettings(ctx, "org_acme", store.DirectorySettings{GroupRoles: map[string]string{
		strings.Repeat("G", 256): "admin", "Billing": "billing",
	}}, f.adminID); err != nil {
		t.Fatal(err)
	}
	words := map[string]string{"en": "Groups that give roles", "de": "Gruppen, die Rollen vergeben"}
	eachLook(t, "looks-directory", words, axe, func(tab context.Context, name string) {
		do(t, tab,
			chromedp.Navigate(f.base+"/directory"),
			chromedp.WaitVisible(chromedp.ID("ik-dir-name")),
			chromedp.SendKeys(chromedp.ID("ik-dir-name"), "Okta "+name),
			chromedp.Click(chromedp.ID("ik-dir-create")),
			chromedp.WaitVisible(chromedp.ID("ik-dir-secret")),
		)
	})
}
