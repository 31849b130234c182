package teampage_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/invitekit/invitekit/internal/pages/pagetest"
	"github.com/invitekit/invitekit/invite"
)

// TestBrowserLooksLanguagesLayout shows the team page (with a member whose
// names are 100 characters and whose email is 254) and the import page
// (a preview with good and refused rows) in English and German, light and
// dark, at 1280×800 and 375×812: a screenshot of each, nothing scrolls
// horizontally, every button is inside the viewport, the page is in the
// asked language (its words, <html lang>, Content-Language), dark mode
// really is dark, and axe-core finds no serious or critical violation
// (contrast included) when it is installed.
func TestBrowserLooksLanguagesLayout(t *testing.T) {
	tab := newTab(t)
	axe, err := pagetest.LoadAxe()
	if err != nil {
		t.Logf("%v: the accessibility part is skipped", err)
	}
	longName, longEmail := pagetest.LongName, pagetest.LongEmail
	f := newFixture(t, nil)
	ctx := context.Background()
	send := true
	if _, err := f.svc.CreateUserAndMembership(ctx, "org_acme", invite.InviteRequest{Email: longEmail, Roles: []string{"admin", "member", "billing"},
		UserProfile: &invite.ProfileInput{FirstName: longName, LastName: longName}, SendInvitationEmail: &send, InvitedBy: f.adminID}); err != nil {
		t.Fatal(err)
	}
	no := false
	active, err := f.svc.CreateUserAndMembership(ctx, "org_acme", invite.InviteRequest{Email: "bo@example.com", SendInvitationEmail: &no,
		UserProfile: &invite.ProfileInput{FirstName: "Bo", LastName: "Active"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.CreateUserAndMembership(ctx, "org_acme", invite.InviteRequest{Email: "cy@example.com", SendInvitationEmail: &no}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.DeactivateMembership(ctx, "org_acme", active.User.ID, f.adminID); err != nil {
		t.Fatal(err)
	}
	csv := "email,first_name,roles\n" + longEmail + "," + longName + ",member\nbad-email,X,\nbob@example.com,Bob,owner\ncid@example.com,Cid,billing\n"
	status, _, loc := upload(t, f, "people.csv", csv, true)
	if status != 303 || loc == "" {
		t.Fatalf("upload: %d %q", status, loc)
	}

	pagesToSee := []struct {
		name, url string
		words     map[string]string // a heading in each language
	}{
		{"team", f.base + "/", map[string]string{"en": "Add a person", "de": "Person hinzufügen"}},
		{"import", f.srv.URL + loc, map[string]string{"en": "Results per row", "de": "Ergebnis je Zeile"}},
	}
	backgrounds := map[bool]string{}
	for _, lang := range []string{"en", "de"} {
		for _, dark := range []bool{false, true} {
			for _, w := range []int64{1280, 375} {
				h := int64(800)
				if w < 500 {
					h = 812
				}
				scheme := map[bool]string{false: "light", true: "dark"}[dark]
				if err := pagetest.Emulate(tab, lang, w, h, dark, false); err != nil {
					t.Fatal(err)
				}
				for _, p := range pagesToSee {
					name := fmt.Sprintf("looks-%s-%s-%d-%s", p.name, lang, w, scheme)
					resp, err := chromedp.Run(tab, chromedp.NavigateResponse(p.url))
					if err != nil {
						t.Fatalf("%s: %v", name, err)
					}
					if resp.Status != 200 {
						t.Fatalf("%s: status %d", name, resp.Status)
					}
					if cl := resp.Headers["Content-Language"]; cl != lang {
						t.Errorf("%s: Content-Language %v, want %s", name, cl, lang)
					}
					shot(t, tab, name)
					g, err := pagetest.Measure(tab)
					if err != nil {
						t.Fatal(err)
					}
					for _, p := range g.Problems() {
						t.Errorf("%s: %s", name, p)
					}
					if g.Buttons == 0 {
						t.Errorf("%s: no button at all", name)
					}
					if g.Lang != lang {
						t.Errorf("%s: <html lang=%q>, want %q", name, g.Lang, lang)
					}
					if body := text(t, tab, "body"); !strings.Contains(body, p.words[lang]) {
						t.Errorf("%s: the page lacks %q", name, p.words[lang])
					} else if lang == "de" && strings.Contains(body, p.words["en"]) {
						t.Errorf("%s: the German page shows the English %q", name, p.words["en"])
					}
					if prev, ok := backgrounds[dark]; ok && prev != g.Background {
						t.Errorf("%s: background %s, the other pages of the scheme %s", name, g.Background, prev)
					}
					backgrounds[dark] = g.Background
					if axe != nil {
						bad, err := pagetest.Axe(tab, axe)
						if err != nil {
							t.Fatalf("%s: %v", name, err)
						}
						if len(bad) > 0 {
							t.Errorf("%s: axe-core: %d serious/critical violations:\n  %s", name, len(bad), strings.Join(bad, "\n  "))
						}
					}
				}
			}
		}
	}
	if backgrounds[false] == backgrounds[true] {
		t.Errorf("dark mode does not change the page: background %s in both", backgrounds[false])
	}
}
