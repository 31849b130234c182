package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/invitekit/invitekit/examples/e2e"
	"github.com/invitekit/invitekit/internal/pages/pagetest"
	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/mailer"
)

// longName and longEmail are the longest values the kit accepts.
var longName, longEmail = pagetest.LongName, pagetest.LongEmail

// TestPagesLookLanguagesLayout visits every page the kit serves in the
// quickstart — the dev provider's login and signed-out pages, the accept
// page, refusal pages of authflow and of the middleware, the team page
// with a 100-character name and a 254-character email, the sign-out
// confirmation, the app's signed-out page and the dev inbox — in English
// and German, at 1280×800 and 375×812 (and 1280×800 in dark mode). Each
// visit keeps a screenshot (testdata/artifacts), checks that nothing
// scrolls horizontally and every action button is inside the viewport,
// and runs axe-core: no serious or critical violation.
func TestPagesLookLanguagesLayout(t *testing.T) {
	browser.Browser(t) // skips without Chromium
	axe, err := pagetest.LoadAxe()
	if err != nil {
		t.Logf("%v: the accessibility part is skipped", err)
	}
	qa := startApp(t)
	ctx := t.Context()
	send := true
	first := "Ann"
	if _, err := qa.Service.CreateUserAndMembership(ctx, seedOrgID, invite.InviteRequest{Email: "ann@example.com",
		UserProfile: &invite.ProfileInput{FirstName: first, LastName: "Lee"}, SendInvitationEmail: &send}); err != nil {
		t.Fatal(err)
	}
	if _, err := qa.Service.CreateUserAndMembership(ctx, seedOrgID, invite.InviteRequest{Email: longEmail,
		UserProfile: &invite.ProfileInput{FirstName: longName, LastName: longName}, SendInvitationEmail: &send}); err != nil {
		t.Fatal(err)
	}
	var accept string
	for _, l := range mailer.Links(waitMail(t, qa.Inbox, "ann@example.com").Text) {
		if strings.Contains(l, "/accept?token=") {
			accept = l
		}
	}
	waitMail(t, qa.Inbox, longEmail)
	if accept == "" {
		t.Fatal("no accept link in Ann's mail")
	}

	type visit struct {
		name, url string
		status    int
		admin     bool   // needs the signed-in admin
		wantLang  bool   // the page's text is translated
		contains  string // a text the English page shows
	}
	visits := []visit{
		{"idp-login", qa.base + "/login", 200, false, true, "Sign in to invitekit quickstart"},
		{"accept", accept, 200, false, true, "Join Acme"},
		{"refusal-invalid-token", qa.base + "/accept?token=inv_nope.nope", 404, false, true, "Invitation link not valid"},
		{"refusal-missing-token", qa.base + "/accept", 400, false, true, "Invitation link incomplete"},
		{"logout", qa.base + "/logout", 200, false, true, "Sign out"},
		{"signed-out", qa.base + "/signed-out", 200, false, true, "You are signed out"},
		{"idp-signed-out", qa.IdP.Issuer + "logged-out", 200, false, true, "Back to invitekit quickstart"},
		{"dev-inbox", qa.base + "/dev/inbox", 200, false, true, "Development inbox"},
		{"team", qa.base + "/orgs/" + seedOrgID + "/team/", 200, true, true, longName},
		{"refusal-not-member", qa.base + "/orgs/org_other/dashboard", 403, true, true, "Switch organization"},
		{"my-organizations", qa.base + "/orgs", 200, true, true, "Switch to Acme"},
	}
	for _, lang := range []string{"en", "de"} {
		for _, vp := range []struct {
			w, h int64
			dark bool
		}{{1280, 800, false}, {375, 812, false}, {1280, 800, true}} {
			t.Run(fmt.Sprintf("%s-%dx%d-dark=%v", lang, vp.w, vp.h, vp.dark), func(t *testing.T) {
				anon := browser.Tab(t, true)
				admin := browser.Tab(t, true)
				for _, tab := range []context.Context{anon, admin} {
					if err := pagetest.Emulate(tab, lang, vp.w, vp.h, vp.dark, true); err != nil {
						t.Fatal(err)
					}
				}
				// The admin signs in once (the login page is visited below too).
				mustStatus(t, "admin login", must(chromedp.Run(admin, chromedp.NavigateResponse(qa.base+"/login?return_to=/orgs/"+seedOrgID+"/team/")))(t), 200)
				mustStatus(t, "admin signed in", idpLogin(t, admin, seedAdminEmail), 200)
				for _, v := range visits {
					tab := anon
					if v.admin {
						tab = admin
					}
					resp := must(chromedp.Run(tab, chromedp.NavigateResponse(v.url)))(t)
					mustStatus(t, v.name, resp, v.status)
					name := fmt.Sprintf("%s-%s-%d", v.name, lang, vp.w)
					if vp.dark {
						name += "-dark"
					}
					e2e.Screenshot(t, tab, name)
					g, err := pagetest.Measure(tab)
					if err != nil {
						t.Fatal(err)
					}
					for _, p := range g.Problems() {
						t.Errorf("%s: %s", name, p)
					}
					if g.Buttons == 0 && v.name != "dev-inbox" {
						t.Errorf("%s: no action button at all", name)
					}
					if v.wantLang && g.Lang != lang {
						t.Errorf("%s: page language %q, want %q", name, g.Lang, lang)
					}
					if lang == "en" {
						if body := text(t, tab, "body"); !strings.Contains(body, v.contains) {
							t.Errorf("%s: page lacks %q", name, v.contains)
						}
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
				}
			})
		}
	}
}
