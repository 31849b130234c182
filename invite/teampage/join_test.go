package teampage_test

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

// TestJoinSection: the section lists the organization's pending requests
// and domains, approves and declines, adds, verifies (against a DNS
// server on loopback) and configures a domain; refusals show the error
// table's words.
func TestJoinSection(t *testing.T) {
	ctx := context.Background()
	dns := dnstest.Start(t)
	f := newFixtureWith(t, func(c *invite.Config) { c.Domains.Resolver = dns.Resolver() }, nil)
	ann, err := f.svc.RequestToJoin(ctx, "org_acme", invite.JoinRequestInput{Email: "ann@example.com", EmailVerified: true, Message: "from sales"})
	if err != nil {
		t.Fatal(err)
	}
	bob, err := f.svc.RequestToJoin(ctx, "org_acme", invite.JoinRequestInput{Email: "bob@example.com", EmailVerified: true})
	if err != nil {
		t.Fatal(err)
	}

	_, body, _ := get(t, f.base+"/")
	mustContain(t, body, `id="ik-join-link"`)
	status, body, _ := get(t, f.base+"/join")
	if status != http.StatusOK {
		t.Fatalf("GET join: %d", status)
	}
	mustContain(t, body, `data-email="ann@example.com"`, "from sales", `data-email="bob@example.com"`)

	status, _, hdr := post(t, f.base+"/join/requests/"+ann.ID+"/approve", url.Values{"roles": {"billing"}})
	if status != http.StatusSeeOther {
		t.Fatalf("approve: %d", status)
	}
	_, body, _ = get(t, f.srv.URL+hdr.Get("Location"))
	mustContain(t, body, "ann@example.com is a member now.")
	if m, ok := f.member(t, "ann@example.com"); !ok || m.Membership.Status != store.StatusActive || m.Membership.Roles[0] != "billing" {
		t.Fatalf("ann: %+v", m)
	}
	status, body, _ = post(t, f.base+"/join/requests/"+ann.ID+"/approve", url.Values{})
	if status != http.StatusConflict {
		t.Fatalf("approve twice: %d", status)
	}
	mustContain(t, body, `id="ik-alert"`)
	status, _, _ = post(t, f.base+"/join/requests/"+bob.ID+"/decline", url.Values{"reason": {"not staff"}})
	if status != http.StatusSeeOther {
		t.Fatalf("decline: %d", status)
	}
	if jr, _ := f.svc.JoinRequest(ctx, "org_acme", bob.ID); jr.Status != store.JoinRequestDeclined || jr.Reason != "not staff" {
		t.Fatalf("bob: %+v", jr)
	}

	// Domains.
	status, body, _ = post(t, f.base+"/join/domains", url.Values{"domain": {"not a domain"}})
	if status != http.StatusUnprocessableEntity {
		t.Fatalf("bad domain: %d", status)
	}
	mustContain(t, body, `id="ik-alert"`, `value="not a domain"`)
	status, _, _ = post(t, f.base+"/join/domains", url.Values{"domain": {"acme-corp.test"}})
	if status != http.StatusSeeOther {
		t.Fatalf("add: %d", status)
	}
	d, err := f.svc.Domain(ctx, "org_acme", "acme-corp.test")
	if err != nil {
		t.Fatal(err)
	}
	name, value := f.svc.DomainRecord(d)
	_, body, _ = get(t, f.base+"/join")
	mustContain(t, body, name, value, `data-verified="false"`)
	status, body, _ = post(t, f.base+"/join/domains/acme-corp.test/verify", url.Values{})
	if status != http.StatusUnprocessableEntity || !strings.Contains(body, "The verification record was not found.") {
		t.Fatalf("verify without a record: %d %s", status, body)
	}
	dns.Set(name, value)
	if status, _, _ = post(t, f.base+"/join/domains/acme-corp.test/verify", url.Values{}); status != http.StatusSeeOther {
		t.Fatalf("verify: %d", status)
	}
	if status, _, _ = post(t, f.base+"/join/domains/acme-corp.test/policy", url.Values{"policy": {"AUTO_JOIN"}, "roles": {"member"}}); status != http.StatusSeeOther {
		t.Fatalf("policy: %d", status)
	}
	d, _ = f.svc.Domain(ctx, "org_acme", "acme-corp.test")
	if !d.Verified() || d.Policy != store.DomainPolicyAutoJoin || len(d.DefaultRoles) != 1 || d.DefaultRoles[0] != "member" {
		t.Fatalf("domain: %+v", d)
	}
	if status, _, _ = post(t, f.base+"/join/domains/acme-corp.test/remove", url.Values{}); status != http.StatusSeeOther {
		t.Fatalf("remove: %d", status)
	}
	if _, err := f.svc.Domain(ctx, "org_acme", "acme-corp.test"); err == nil {
		t.Fatal("still there")
	}
}

// TestJoinSectionTenants: another organization's page neither lists nor
// decides org_acme's requests, nor touches its domains; a domain org_acme
// verified looks, from the other organization, like any domain whose
// record is missing.
func TestJoinSectionTenants(t *testing.T) {
	ctx := context.Background()
	dns := dnstest.Start(t)
	f := newFixtureWith(t, func(c *invite.Config) { c.Domains.Resolver = dns.Resolver() }, nil)
	jr, err := f.svc.RequestToJoin(ctx, "org_acme", invite.JoinRequestInput{Email: "ann@example.com", EmailVerified: true, Message: "ACME-ONLY"})
	if err != nil {
		t.Fatal(err)
	}
	d, err := f.svc.ClaimDomain(ctx, "org_acme", f.adminID, "acme-corp.test")
	if err != nil {
		t.Fatal(err)
	}
	name, value := f.svc.DomainRecord(d)
	dns.Set(name, value)
	if _, err := f.svc.VerifyDomain(ctx, "org_acme", f.adminID, d.Domain); err != nil {
		t.Fatal(err)
	}
	other := f.srv.URL + "/organizations/org_other/team"

	_, body, _ := get(t, other+"/join")
	if strings.Contains(body, "ann@example.com") || strings.Contains(body, "ACME-ONLY") || strings.Contains(body, "acme-corp.test") {
		t.Fatalf("org_other sees org_acme's data: %s", body)
	}
	for _, action := range []string{"approve", "decline"} {
		if status, _, _ := post(t, other+"/join/requests/"+jr.ID+"/"+action, url.Values{}); status != http.StatusNotFound {
			t.Fatalf("%s from org_other: %d", action, status)
		}
	}
	for _, action := range []string{"verify", "policy", "remove"} {
		if status, _, _ := post(t, other+"/join/domains/acme-corp.test/"+action, url.Values{"policy": {"AUTO_JOIN"}}); status != http.StatusNotFound {
			t.Fatalf("%s from org_other: %d", action, status)
		}
	}
	if got, _ := f.svc.JoinRequest(ctx, "org_acme", jr.ID); got.Status != store.JoinRequestPending {
		t.Fatalf("the request: %+v", got)
	}

	// org_other claims the domain: a claim like any other; verifying
	// without its own record is the same refusal as for a domain nobody has.
	for _, dom := range []string{"acme-corp.test", "nobody.test"} {
		if status, _, _ := post(t, other+"/join/domains", url.Values{"domain": {dom}}); status != http.StatusSeeOther {
			t.Fatalf("claim %s: %d", dom, status)
		}
	}
	var answers []string
	for _, dom := range []string{"acme-corp.test", "nobody.test"} {
		status, body, _ := post(t, other+"/join/domains/"+dom+"/verify", url.Values{})
		i := strings.Index(body, `id="ik-alert">`)
		if i < 0 {
			t.Fatalf("verify %s: %d %s", dom, status, body)
		}
		alert := body[i:]
		alert = alert[:strings.Index(alert, "<")]
		answers = append(answers, http.StatusText(status)+" "+alert)
	}
	if answers[0] != answers[1] {
		t.Fatalf("a domain verified elsewhere answers differently: %q vs %q", answers[0], answers[1])
	}
	if v, _, err := f.svc.OrganizationForVerifiedDomain(ctx, "acme-corp.test"); err != nil || v.ID != "org_acme" {
		t.Fatalf("the domain's organization: %v %v", v.ID, err)
	}
}
