package authflow_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/invitekit/invitekit/internal/dnstest"
	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/store"
)

// signInNoMembership signs b in as username, who has no membership: the
// callback answers the invitation-required page.
func (e *env) signInNoMembership(b *browser, loginURL, username string) page {
	e.t.Helper()
	p := b.get(e.authorize(b, loginURL, username))
	p.expect(e.t, http.StatusForbidden, "invitation_required")
	return p
}

// TestJoinPage drives the join page over HTTP: nobody signed in goes to
// login and back; the invitation-required page links the join page; a
// request is made once (a second POST shows it pending), is limited per
// person and organization, is refused cross-origin, and after a decline
// the page says why and until when.
func TestJoinPage(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, envOptions{joinPath: "/join", resolver: dnstest.Start(t).Resolver(), mount: func(e *env, mux *http.ServeMux) {
		mux.Handle("/orgs/{orgID}/join", e.flow.JoinHandler())
	}})
	e.op.users.add("joe", "joe@example.com", true)
	other, _, err := e.svc.CreateOrganization(ctx, invite.CreateOrganizationRequest{Name: "Other"})
	if err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t)
	link := e.app.URL + "/orgs/" + e.org.ID + "/join"

	// Nobody there: to login, coming back to the link.
	p := b.get(link)
	if p.status != http.StatusSeeOther || p.location != e.app.URL+"/login?return_to="+url.QueryEscape("/orgs/"+e.org.ID+"/join") {
		t.Fatalf("signed out: %d %q", p.status, p.location)
	}
	p = e.signInNoMembership(b, p.location, "joe@example.com")
	if !strings.Contains(p.body, `data-step="join" href="/join"`) {
		t.Fatalf("the invitation-required page offers no join step: %s", p.body)
	}

	// The join page (the organization kept from the link).
	p = b.get(e.app.URL + "/join")
	if p.status != http.StatusOK || !strings.Contains(p.body, "Ask to join Acme") || !strings.Contains(p.body, `id="join-submit"`) {
		t.Fatalf("join page: %d %s", p.status, p.body)
	}
	// Cross-origin: refused, nothing written.
	req, _ := http.NewRequest("POST", link, strings.NewReader(url.Values{"message": {"hi"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if p := b.do(req); p.status != http.StatusForbidden {
		t.Fatalf("cross-origin POST: %d", p.status)
	}
	if rs, _ := e.svc.JoinRequests(ctx, e.org.ID, "", 0); len(rs) != 0 {
		t.Fatalf("a cross-origin POST wrote %v", rs)
	}

	p = b.post(link, url.Values{"name": {"Joe"}, "message": {"Berlin office"}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("ask: %d %s", p.status, p.body)
	}
	p = b.get(link)
	if !strings.Contains(p.body, `data-state="pending"`) {
		t.Fatalf("after asking: %s", p.body)
	}
	rs, err := e.svc.JoinRequests(ctx, e.org.ID, store.JoinRequestPending, 0)
	if err != nil || len(rs) != 1 || rs[0].Email != "joe@example.com" || rs[0].Message != "Berlin office" {
		t.Fatalf("requests: %+v %v", rs, err)
	}

	// Per person and organization: the default allows bursts of 3.
	b.post(link, url.Values{})
	b.post(link, url.Values{})
	p = b.post(link, url.Values{})
	if p.status != http.StatusTooManyRequests || p.header.Get("Retry-After") == "" || !strings.Contains(p.body, `id="join-flash"`) {
		t.Fatalf("4th POST: %d %q %s", p.status, p.header.Get("Retry-After"), p.body)
	}
	// The page mounted twice shares the budget.
	if p := b.post(e.app.URL+"/join", url.Values{"org": {e.org.ID}}); p.status != http.StatusTooManyRequests {
		t.Fatalf("the other mount: %d", p.status)
	}
	// Another organization is another budget.
	p = b.post(e.app.URL+"/orgs/"+other.ID+"/join", url.Values{})
	if p.status != http.StatusSeeOther {
		t.Fatalf("another organization: %d %s", p.status, p.body)
	}

	// Declined: the reason and when to ask again; no form.
	if _, err := e.svc.DeclineJoinRequest(ctx, e.org.ID, rs[0].ID, e.admin.ID, "Only staff, sorry."); err != nil {
		t.Fatal(err)
	}
	p = b.get(link)
	if !strings.Contains(p.body, `data-state="declined"`) || !strings.Contains(p.body, "Only staff, sorry.") ||
		!strings.Contains(p.body, "You can ask again after") || strings.Contains(p.body, `id="join-submit"`) {
		t.Fatalf("declined: %s", p.body)
	}

	// An organization that does not exist: not found, like any address.
	p = b.get(e.app.URL + "/orgs/org_nope/join")
	p.expect(t, http.StatusNotFound, "not_found")
}

// TestJoinPageOffersVerifiedDomain: a MAY_REQUEST domain puts its
// organization on the person's join page; AUTO_JOIN signs them in as a
// member at once (no join page).
func TestJoinPageOffersVerifiedDomain(t *testing.T) {
	ctx := context.Background()
	dns := dnstest.Start(t)
	e := newEnv(t, envOptions{joinPath: "/join", resolver: dns.Resolver()})
	e.op.users.add("ann", "ann@acme-corp.test", true)
	e.op.users.add("uma", "uma@acme-corp.test", false)
	d, err := e.svc.ClaimDomain(ctx, e.org.ID, e.admin.ID, "acme-corp.test")
	if err != nil {
		t.Fatal(err)
	}
	name, value := e.svc.DomainRecord(d)
	dns.Set(name, value)
	if _, err := e.svc.VerifyDomain(ctx, e.org.ID, e.admin.ID, d.Domain); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.SetDomainPolicy(ctx, e.org.ID, e.admin.ID, d.Domain, store.DomainPolicyRequest, nil); err != nil {
		t.Fatal(err)
	}

	b := newBrowser(t)
	e.signInNoMembership(b, e.app.URL+"/login", "ann@acme-corp.test")
	p := b.get(e.app.URL + "/join")
	if !strings.Contains(p.body, "Your email address belongs to Acme") || !strings.Contains(p.body, `id="join-submit"`) {
		t.Fatalf("offer: %s", p.body)
	}

	// An unverified email is neither offered a request nor auto-joined.
	if _, err := e.svc.SetDomainPolicy(ctx, e.org.ID, e.admin.ID, d.Domain, store.DomainPolicyAutoJoin, nil); err != nil {
		t.Fatal(err)
	}
	uma := newBrowser(t)
	e.signInNoMembership(uma, e.app.URL+"/login", "uma@acme-corp.test")

	// AUTO_JOIN: straight to the dashboard.
	ann := newBrowser(t)
	p = ann.get(e.authorize(ann, e.app.URL+"/login", "ann@acme-corp.test"))
	if p.status != http.StatusSeeOther || !strings.HasSuffix(p.location, "/orgs/"+e.org.ID+"/dashboard") {
		t.Fatalf("auto-join sign-in: %d %q %s", p.status, p.location, p.body)
	}
}
