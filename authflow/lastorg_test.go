package authflow_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/invitekit/invitekit/authflow"
	"github.com/invitekit/invitekit/invite"
)

// A returning member with several organizations lands on the one this
// browser last used (authflow.RememberOrganization), not on the first; a
// remembered organization they are no member of is ignored.
func TestReturningMemberLandsOnLastOrganization(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	e.op.users.add("ann-sub", "ann@example.com", true)
	_, link := e.invite("ann@example.com")
	b := newBrowser(t)
	e.startJoin(b, link, "join")
	if p := b.get(e.authorize(b, e.app.URL+"/login", "ann@example.com")); p.status != http.StatusSeeOther {
		t.Fatalf("join: %d %s", p.status, p.body)
	}
	other, _, err := e.svc.CreateOrganization(ctx, invite.CreateOrganizationRequest{ID: "org_zeta", Name: "Zeta"})
	if err != nil {
		t.Fatal(err)
	}
	direct := false
	if _, err := e.svc.CreateUserAndMembership(ctx, other.ID, invite.InviteRequest{Email: "ann@example.com", SendInvitationEmail: &direct}); err != nil {
		t.Fatal(err)
	}
	landing := func(remembered string) string {
		t.Helper()
		nb := newBrowser(t)
		if remembered != "" {
			u, _ := url.Parse(e.app.URL)
			nb.c.Jar.SetCookies(u, []*http.Cookie{{Name: authflow.LastOrgCookie, Value: remembered, Path: "/"}})
		}
		p := nb.get(e.authorize(nb, e.app.URL+"/login", "ann@example.com"))
		if p.status != http.StatusSeeOther {
			t.Fatalf("sign-in: %d %s", p.status, p.body)
		}
		return p.location
	}
	for _, org := range []string{e.org.ID, other.ID} {
		if got := landing(org); !strings.Contains(got, "/orgs/"+org+"/") {
			t.Errorf("remembered %s: landed on %s", org, got)
		}
	}
	first := landing("")
	if got := landing("org_not_mine"); got != first {
		t.Errorf("a foreign remembered org changed the landing: %s, want %s", got, first)
	}

	// RememberOrganization sets the cookie once.
	rec := httptest.NewRecorder()
	req, _ := http.NewRequest("GET", "/orgs/org_zeta/dashboard", nil)
	authflow.RememberOrganization(rec, req, "org_zeta")
	if c := rec.Header().Get("Set-Cookie"); !strings.Contains(c, authflow.LastOrgCookie+"=org_zeta") || !strings.Contains(c, "HttpOnly") {
		t.Errorf("Set-Cookie %q", c)
	}
	req.AddCookie(&http.Cookie{Name: authflow.LastOrgCookie, Value: "org_zeta"})
	rec = httptest.NewRecorder()
	authflow.RememberOrganization(rec, req, "org_zeta")
	if c := rec.Header().Get("Set-Cookie"); c != "" {
		t.Errorf("cookie set again: %q", c)
	}
}
