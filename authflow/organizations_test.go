package authflow_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/invitekit/invitekit/authflow"
	"github.com/invitekit/invitekit/invite"
)

// "My organizations" (Flow.OrganizationsHandler, registered by Routes):
// the signed-in person's ACTIVE organizations by name, the one last used
// marked, a switch link each that remembers the choice and lands on its
// dashboard; another organization's id is refused without naming it;
// without a session (or after "sign out everywhere") it sends the browser
// to sign in and back; the page speaks the person's language.
func TestMyOrganizations(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	if got := e.flow.OrganizationsPath(); got != authflow.DefaultOrganizationsPath {
		t.Fatalf("OrganizationsPath %q", got)
	}
	orgsURL := e.app.URL + authflow.DefaultOrganizationsPath

	// Not signed in: to the login, and back here after it.
	anon := newBrowser(t)
	p := anon.get(orgsURL)
	if p.status != http.StatusSeeOther || p.location != e.app.URL+"/login?return_to=%2Forganizations" {
		t.Fatalf("signed out: %d %q", p.status, p.location)
	}

	// Ann: a member of Acme (joined), Zeta (added), pending in Yonder,
	// deactivated in Xeno, and nothing in Wombat.
	e.op.users.add("ann-sub", "ann@example.com", true)
	_, link := e.invite("ann@example.com")
	b := newBrowser(t)
	e.startJoin(b, link, "join")
	if p := b.get(e.authorize(b, e.app.URL+"/login", "ann@example.com")); p.status != http.StatusSeeOther {
		t.Fatalf("join: %d %s", p.status, p.body)
	}
	direct, send := false, true
	orgs := map[string]string{}
	for _, o := range []struct{ id, name string }{{"org_zeta", "Zeta"}, {"org_yonder", "Yonder"}, {"org_xeno", "Xeno"}, {"org_wombat", "Wombat"}} {
		org, _, err := e.svc.CreateOrganization(ctx, invite.CreateOrganizationRequest{ID: o.id, Name: o.name})
		if err != nil {
			t.Fatal(err)
		}
		orgs[o.name] = org.ID
	}
	add := func(org string, sendMail *bool) string {
		t.Helper()
		res, err := e.svc.CreateUserAndMembership(ctx, org, invite.InviteRequest{Email: "ann@example.com", SendInvitationEmail: sendMail})
		if err != nil {
			t.Fatal(err)
		}
		return res.User.ID
	}
	add(orgs["Zeta"], &direct)
	add(orgs["Yonder"], &send)
	annID := add(orgs["Xeno"], &direct)
	if _, err := e.svc.DeactivateMembership(ctx, orgs["Xeno"], annID, ""); err != nil {
		t.Fatal(err)
	}

	p = b.get(orgsURL)
	if p.status != 200 {
		t.Fatalf("my organizations: %d %s", p.status, p.body)
	}
	acme, zeta := strings.Index(p.body, ">Acme<"), strings.Index(p.body, ">Zeta<")
	if acme < 0 || zeta < 0 || acme > zeta {
		t.Fatalf("want Acme then Zeta:\n%s", p.body)
	}
	for _, absent := range []string{"Yonder", "Xeno", "Wombat"} {
		if strings.Contains(p.body, absent) {
			t.Errorf("the page lists %s", absent)
		}
	}
	for _, want := range []string{`<html lang="en">`, "My organizations", `href="/organizations?org=` + orgs["Zeta"] + `"`, "Switch to Zeta",
		`href="/organizations?org=` + e.org.ID + `"`, "prefers-color-scheme"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if strings.Contains(p.body, "(Current)") {
		t.Errorf("nothing remembered yet, but an organization is marked current")
	}

	// Switching remembers the organization and lands on its dashboard.
	p = b.get(orgsURL + "?org=" + orgs["Zeta"])
	if p.status != http.StatusSeeOther || p.location != e.app.URL+"/orgs/"+orgs["Zeta"]+"/dashboard" {
		t.Fatalf("switch: %d %q", p.status, p.location)
	}
	if got := b.cookie(e.app.URL, authflow.LastOrgCookie); got != orgs["Zeta"] {
		t.Fatalf("remembered %q", got)
	}
	if p := b.get(p.location); p.status != 200 || !strings.Contains(p.body, "dashboard of "+orgs["Zeta"]) {
		t.Fatalf("dashboard: %d %s", p.status, p.body)
	}
	p = b.get(orgsURL)
	if !strings.Contains(p.body, "(Current)") || !strings.Contains(p.body, "Open Zeta") || strings.Contains(p.body, "Switch to Zeta") {
		t.Errorf("Zeta not marked as current:\n%s", p.body)
	}

	// Organizations that are not an ACTIVE membership: refused alike,
	// nothing remembered, no name shown.
	for _, name := range []string{"Yonder", "Xeno", "Wombat"} {
		p = b.get(orgsURL + "?org=" + orgs[name])
		p.expect(t, http.StatusForbidden, "not_member")
		if strings.Contains(p.body, name) || strings.Contains(p.body, orgs[name]) {
			t.Errorf("%s: the refusal names the organization", name)
		}
		if got := b.cookie(e.app.URL, authflow.LastOrgCookie); got != orgs["Zeta"] {
			t.Errorf("%s: remembered %q", name, got)
		}
	}
	p = b.get(orgsURL + "?org=" + url.QueryEscape("org_\x01"))
	if p.status/100 != 4 || p.code() == "" {
		t.Errorf("a control character in org: %d %q", p.status, p.code())
	}

	// German, from Accept-Language.
	req, _ := http.NewRequest(http.MethodGet, orgsURL, nil)
	req.Header.Set("Accept-Language", "de-DE")
	p = b.do(req)
	if !strings.Contains(p.body, `<html lang="de">`) || !strings.Contains(p.body, "Meine Organisationen") || !strings.Contains(p.body, "Zeta öffnen") {
		t.Errorf("German page:\n%s", p.body)
	}

	// After "sign out everywhere" the session no longer lists anything.
	if _, err := e.svc.SignOutEverywhere(ctx, annID, ""); err != nil {
		t.Fatal(err)
	}
	p = b.get(orgsURL)
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, e.app.URL+"/login?") {
		t.Errorf("after sign out everywhere: %d %q", p.status, p.location)
	}
}
