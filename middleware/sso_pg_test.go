package middleware_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/middleware"
)

// TestSSOEnforcementEveryReplica: enforcement is session and store
// state, not process state. Three replicas on one PostgreSQL schema share
// the sessions; an organization turns enforcement on through replica A;
// within the policy TTL (1 s) replicas A, B and C all refuse the session
// of the default provider and the one of another organization's
// connection, and admit the one signed in through the organization's own.
func TestSSOEnforcementEveryReplica(t *testing.T) {
	rs := newReplicasClock(t, 3, false)
	ctx := context.Background()
	a, b := rs.org(t, "Acme"), rs.org(t, "Beta")
	pat := rs.addMember(t, a, "pat@example.com")
	if _, err := rs.r[0].svc.CreateUserAndMembership(ctx, b, invite.InviteRequest{Email: "pat@example.com", SendInvitationEmail: new(bool)}); err != nil {
		t.Fatal(err)
	}
	save := func(org, name string, enforce bool) string {
		c, err := rs.r[0].svc.SaveSSOConnection(ctx, org, invite.SSOConnectionRequest{Name: name, Issuer: "https://" + name + ".example.com", ClientID: "app", Enforce: enforce}, "")
		if err != nil {
			t.Fatal(err)
		}
		return c.ID
	}
	connA, connB := save(a, "acme", false), save(b, "beta", false)
	gen := rs.r[0].svc.LoginSessionGeneration(ctx, pat)
	def := ssoSession(t, rs.r[1].sm, pat, gen, "", "")
	viaA := ssoSession(t, rs.r[2].sm, pat, gen, connA, a)
	viaB := ssoSession(t, rs.r[0].sm, pat, gen, connB, b)
	for _, r := range rs.r {
		for _, c := range []*http.Cookie{def, viaA} {
			if code, e := r.get(t, c, a); code != 200 {
				t.Fatalf("replica %s before enforcement: %d %s", r.name, code, e)
			}
		}
	}
	save(a, "acme", true)
	for _, r := range rs.r {
		r.eventually(t, def, a, http.StatusForbidden)
		if code, e := r.get(t, def, a); e != "sso_required" {
			t.Fatalf("replica %s, default provider: %d %s", r.name, code, e)
		}
		if code, e := r.get(t, viaB, a); code != 403 || e != "sso_required" {
			t.Fatalf("replica %s, B's connection: %d %s", r.name, code, e)
		}
		if code, e := r.get(t, viaA, a); code != 200 {
			t.Fatalf("replica %s, A's connection: %d %s", r.name, code, e)
		}
	}
}

// TestSSOPolicyPushedToEveryReplica: an organization's SSO policy is
// pushed, not waited for. With the replicas' clocks frozen (no policy
// ever expires by its TTL), enforcement turned on at replica A is refused
// by replica B right after, and turned off again is admitted again. Then
// B's subscription ends (push down): the next change is not pushed to B,
// which serves its kept policy until FallbackTTL has passed — and refuses
// from then on.
func TestSSOPolicyPushedToEveryReplica(t *testing.T) {
	rs := newReplicas(t, 2)
	ctx := context.Background()
	a, b := rs.r[0], rs.r[1]
	org := rs.org(t, "Acme")
	pat := rs.addMember(t, org, "pat@example.com")
	save := func(enforce bool) {
		t.Helper()
		if _, err := a.svc.SaveSSOConnection(ctx, org, invite.SSOConnectionRequest{Name: "acme", Issuer: "https://acme.example.com", ClientID: "app", Enforce: enforce}, ""); err != nil {
			t.Fatal(err)
		}
	}
	save(false)
	def := ssoSession(t, b.sm, pat, a.svc.LoginSessionGeneration(ctx, pat), "", "")
	for _, r := range rs.r {
		r.eventually(t, def, org, http.StatusOK) // the policy is now kept
	}
	save(true)
	b.eventually(t, def, org, http.StatusForbidden)
	if code, e := b.get(t, def, org); e != "sso_required" {
		t.Fatalf("replica B, default provider after enforcement: %d %s", code, e)
	}
	save(false)
	b.eventually(t, def, org, http.StatusOK)

	// Push down on B: its subscription ends.
	b.stop()
	if !waitUntil(func() bool { return b.mw.CacheStats().Push == "down" }) {
		t.Fatalf("replica B: push %s after its subscription ended", b.mw.CacheStats().Push)
	}
	save(true)
	a.eventually(t, def, org, http.StatusForbidden) // A is still pushed
	if code, e := b.get(t, def, org); code != http.StatusOK {
		// The clock is frozen and nothing is pushed to B: its kept
		// policy (not enforcing) still holds.
		t.Fatalf("replica B without push, before FallbackTTL: %d %s", code, e)
	}
	rs.advance(middleware.DefaultFallbackTTL)
	if code, e := b.get(t, def, org); code != http.StatusForbidden || e != "sso_required" {
		t.Fatalf("replica B without push, after FallbackTTL: %d %s", code, e)
	}
}
