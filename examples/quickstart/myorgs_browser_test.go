package main

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/invitekit/invitekit/invite"
)

// TestMyOrganizationsSwitch drives "My organizations" (authflow's
// OrganizationsHandler, mounted by flow.Routes at /orgs) in Chromium: the
// admin of Acme, also a member of Beta and invited (pending) to Gamma,
// signs in and sees Acme and Beta (not Gamma), switches to Beta, lands on
// Beta's dashboard, sees Beta marked as current, signs out, signs in again
// and lands on Beta, the organization last used.
func TestMyOrganizationsSwitch(t *testing.T) {
	browser.Browser(t) // skips without Chromium
	qa := startApp(t)
	ctx := t.Context()
	no, yes := false, true
	for _, o := range []struct {
		id, name string
		send     *bool
	}{{"org_beta", "Beta", &no}, {"org_gamma", "Gamma", &yes}} {
		if _, _, err := qa.Service.CreateOrganization(ctx, invite.CreateOrganizationRequest{ID: o.id, Name: o.name}); err != nil {
			t.Fatal(err)
		}
		if _, err := qa.Service.CreateUserAndMembership(ctx, o.id, invite.InviteRequest{Email: seedAdminEmail, SendInvitationEmail: o.send}); err != nil {
			t.Fatal(err)
		}
	}
	tab := browser.Tab(t, true)
	mustStatus(t, "login", must(chromedp.Run(tab, chromedp.NavigateResponse(qa.base+"/login?return_to=/orgs")))(t), 200)
	mustStatus(t, "my organizations", idpLogin(t, tab, seedAdminEmail), 200)
	list := text(t, tab, "#my-orgs")
	if a, b := strings.Index(list, "Acme"), strings.Index(list, "Beta"); a < 0 || b < a || strings.Contains(list, "Gamma") {
		t.Fatalf("my organizations: %q (want Acme, then Beta, and no Gamma)", list)
	}
	if strings.Contains(list, "Current") {
		t.Fatalf("nothing used yet, but %q", list)
	}

	// Switch to Beta: its dashboard, remembered.
	mustStatus(t, "switch to Beta", click(t, tab, `li[data-org="org_beta"] a`), 200)
	requirePrefix(t, "after the switch", location(t, tab), qa.base+"/orgs/org_beta/dashboard")
	requireContains(t, "dashboard", text(t, tab, "#welcome"), "Beta")
	mustStatus(t, "my organizations again", must(chromedp.Run(tab, chromedp.NavigateResponse(qa.base+"/orgs")))(t), 200)
	requireContains(t, "Beta's entry", text(t, tab, `li[data-org="org_beta"]`), "Current")
	requireContains(t, "Beta's link", text(t, tab, `li[data-org="org_beta"] a`), "Open Beta")
	requireContains(t, "Acme's link", text(t, tab, `li[data-org="org_acme"] a`), "Switch to Acme")

	// Sign out, sign in again: Beta, the last used.
	mustStatus(t, "logout page", must(chromedp.Run(tab, chromedp.NavigateResponse(qa.base+"/logout")))(t), 200)
	mustStatus(t, "signed out", click(t, tab, `button[type="submit"]`), 200)
	requirePrefix(t, "after sign-out", location(t, tab), qa.base+"/signed-out")
	mustStatus(t, "login again", must(chromedp.Run(tab, chromedp.NavigateResponse(qa.base+"/login")))(t), 200)
	mustStatus(t, "signed in again", idpLogin(t, tab, seedAdminEmail), 200)
	requirePrefix(t, "landing", location(t, tab), qa.base+"/orgs/org_beta/dashboard")
}
