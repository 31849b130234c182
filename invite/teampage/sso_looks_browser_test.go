package teampage_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/invitekit/invitekit/internal/pages/pagetest"
	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/store"
)

// TestBrowserSSOLooks shows the Single sign-on section with a required
// connection (a 100-character name), two trusted connection ids (one of
// the longest length an id may have) and a refused id in the add form,
// in English and German, light and dark, at 1280×800 and 375×812: a
// screenshot of each, nothing scrolls horizontally, every button inside
// the viewport, the page in the asked language, dark mode really dark,
// and axe-core with no serious or critical violation when it is
// installed.
func TestBrowserSSOLooks(t *testing.T) {
	newTab(t) // skips without Chromium
	axe, err := pagetest.LoadAxe()
	if err != nil {
		t.Logf("%v: the accessibility part is skipped", err)
	}
	f := newFixture(t, nil)
	ctx := context.Background()
	if _, err := f.svc.SaveSSOConnection(ctx, "org_acme", invite.SSOConnectionRequest{Name: pagetest.LongName,
		Issuer: "https://idp.example.com/" + strings.Repeat("p", 200), ClientID: "web", Enforce: true}, f.adminID); err != nil {
		t.Fatal(err)
	}
	longID := "ssc_" + strings.Repeat("x", store.MaxIDLen-len("ssc_"))
	if err := f.svc.SetSSOTrust(ctx, "org_acme", []string{"ssc_06h3a1b2c3d4e5f6g7h8j9k0mn", longID}, f.adminID); err != nil {
		t.Fatal(err)
	}
	words := map[string]string{"en": "Trusted connections of other organizations", "de": "Vertrauenswürdige Verbindungen anderer Organisationen"}
	eachLook(t, "looks-sso", words, axe, func(tab context.Context, name string) {
		do(t, tab,
			chromedp.Navigate(f.base+"/sso"),
			chromedp.WaitVisible(chromedp.ID("ik-sso-trust-list")),
			chromedp.SendKeys(chromedp.ID("ik-sso-trust-id"), "okta-"+name),
			chromedp.Click(chromedp.ID("ik-sso-trust-add")),
			chromedp.WaitVisible(chromedp.ID("ik-sso-trust-id-error")),
		)
	})
}

// eachLook opens the page show opens in English and German, light and
// dark, at 1280×800 and 375×812, each in a tab of its own (and its 90 s:
// -race on a loaded machine is slow), and checks each (checkLooks): the
// views of one scheme share their background, and dark differs from
// light.
func eachLook(t *testing.T, prefix string, words map[string]string, axe []byte, show func(tab context.Context, name string)) {
	t.Helper()
	backgrounds := map[bool]string{}
	for _, lang := range []string{"en", "de"} {
		for _, dark := range []bool{false, true} {
			for _, w := range []int64{1280, 375} {
				h := int64(800)
				if w < 500 {
					h = 812
				}
				name := fmt.Sprintf("%s-%s-%d-%s", prefix, lang, w, map[bool]string{false: "light", true: "dark"}[dark])
				tab := newTab(t)
				if err := pagetest.Emulate(tab, lang, w, h, dark, false); err != nil {
					t.Fatal(err)
				}
				show(tab, name)
				bg := checkLooks(t, tab, name, lang, words, axe)
				if prev, ok := backgrounds[dark]; ok && prev != bg {
					t.Errorf("%s: background %s, the other views of the scheme %s", name, bg, prev)
				}
				backgrounds[dark] = bg
			}
		}
	}
	if backgrounds[false] == backgrounds[true] {
		t.Errorf("dark mode does not change the page: background %s in both", backgrounds[false])
	}
}

// checkLooks is what every looks test checks on the tab's page: a
// screenshot named name, nothing scrolls horizontally, every button
// inside the viewport, <html lang> and the page's words in lang (and not
// the English ones in another language), and axe-core's serious and
// critical violations when axe is not nil. It returns the body's
// background colour.
func checkLooks(t *testing.T, tab context.Context, name, lang string, words map[string]string, axe []byte) string {
	t.Helper()
	shot(t, tab, name)
	g, err := pagetest.Measure(tab)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range g.Problems() {
		t.Errorf("%s: %s", name, p)
	}
	if g.Lang != lang {
		t.Errorf("%s: <html lang=%q>, want %q", name, g.Lang, lang)
	}
	if body := text(t, tab, "body"); !strings.Contains(body, words[lang]) {
		t.Errorf("%s: the page lacks %q", name, words[lang])
	} else if lang != "en" && strings.Contains(body, words["en"]) {
		t.Errorf("%s: the page in %s shows the English %q", name, lang, words["en"])
	}
	if axe != nil {
		bad, err := pagetest.Axe(tab, axe)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(bad) > 0 {
			t.Errorf("%s: axe-core: %d serious/critical violations:\n  %s", name, len(bad), strings.Join(bad, "\n  "))
		}
	}
	return g.Background
}
