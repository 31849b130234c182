package invite_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/invite/internal/invitetest"
	"github.com/invitekit/invitekit/store"
)

func ptr[T any](v T) *T { return &v }

// TestSSOConnections: save (sealed secret, events), read without the
// secret, keep the secret on update, open it for sign-in, delete; bad
// input refused with the field and nothing written; every store.
func TestSSOConnections(t *testing.T) {
	for _, sc := range invitetest.StoreCasesWithPostgres() {
		t.Run(sc.Name, func(t *testing.T) {
			ctx := context.Background()
			e := invitetest.NewEnv(t, sc.Open(t), nil)
			org := e.Org(t, "org_sso_"+strings.ReplaceAll(sc.Name, "store", ""))
			if _, err := e.Svc.SSOConnection(ctx, org.ID); !errors.Is(err, invite.ErrNotFound) {
				t.Fatalf("no connection yet: %v", err)
			}
			req := invite.SSOConnectionRequest{Name: "Okta", Issuer: "https://acme.okta.com", ClientID: "0oa1",
				ClientSecret: ptr("very-secret-value"), Scopes: []string{"groups"}, EmailClaim: "email", Enforce: true}
			c, err := e.Svc.SaveSSOConnection(ctx, org.ID, req, "usr_admin")
			if err != nil {
				t.Fatal(err)
			}
			if !c.HasSecret || c.Scopes[0] != "openid" || c.NameClaim != "name" || !c.Enforce || !strings.HasPrefix(c.ID, "ssc_") {
				t.Fatalf("view: %+v", c)
			}
			raw, _ := e.St.(store.SSOConnectionStore).GetSSOConnection(ctx, org.ID)
			if len(raw.SealedSecret) == 0 || bytes.Contains(raw.SealedSecret, []byte("very-secret-value")) {
				t.Fatalf("secret not sealed at rest: %q", raw.SealedSecret)
			}
			ev := e.LastEvent(t, org.ID)
			if ev.Type != store.EventSSOConnectionSaved || ev.Data["action"] != "created" || ev.ActorID != "usr_admin" || strings.Contains(ev.Data["issuer"], "secret") {
				t.Fatalf("event: %+v", ev)
			}
			// Update without a secret keeps it.
			req.ClientSecret, req.Enforce, req.Name = nil, false, "Okta (prod)"
			c2, err := e.Svc.SaveSSOConnection(ctx, org.ID, req, "usr_admin")
			if err != nil || c2.ID != c.ID || !c2.HasSecret || c2.Enforce {
				t.Fatalf("update: %+v %v", c2, err)
			}
			if ev := e.LastEvent(t, org.ID); ev.Data["action"] != "updated" || ev.Data["enforce"] != "false" {
				t.Fatalf("update event: %+v", ev)
			}
			cl, err := e.Svc.SSOClient(ctx, org.ID)
			if err != nil || cl.ClientSecret != "very-secret-value" || cl.Scopes[0] != "openid" {
				t.Fatalf("client: %+v %v", cl, err)
			}

			// Bad input: the field named, nothing written.
			before := len(e.Events(t, org.ID))
			for _, bad := range []struct {
				field string
				edit  func(*invite.SSOConnectionRequest)
			}{
				{"name", func(r *invite.SSOConnectionRequest) { r.Name = " " }},
				{"name", func(r *invite.SSOConnectionRequest) { r.Name = "a\x00b" }},
				{"issuer", func(r *invite.SSOConnectionRequest) { r.Issuer = "http://acme.okta.com" }},
				{"issuer", func(r *invite.SSOConnectionRequest) { r.Issuer = "https://acme.okta.com/#frag" }},
				{"issuer", func(r *invite.SSOConnectionRequest) { r.Issuer = "https://acme.okta.com/?q=1" }},
				{"issuer", func(r *invite.SSOConnectionRequest) { r.Issuer = "acme.okta.com" }},
				{"clientId", func(r *invite.SSOConnectionRequest) { r.ClientID = "" }},
				{"clientSecret", func(r *invite.SSOConnectionRequest) { r.ClientSecret = ptr("x\ny") }},
				{"scopes[1]", func(r *invite.SSOConnectionRequest) { r.Scopes = []string{"ok", "bad scope"} }},
				{"emailClaim", func(r *invite.SSOConnectionRequest) { r.EmailClaim = "e mail" }},
			} {
				r := req
				bad.edit(&r)
				_, err := e.Svc.SaveSSOConnection(ctx, org.ID, r, "usr_admin")
				invitetest.AssertFieldError(t, err, store.CodeInvalidArgument, bad.field)
			}
			if _, err := e.Svc.SaveSSOConnection(ctx, "org_nobody", req, ""); !errors.Is(err, invite.ErrNotFound) {
				t.Fatalf("unknown organization: %v", err)
			}
			if n := len(e.Events(t, org.ID)); n != before {
				t.Fatalf("refusals wrote %d events", n-before)
			}
			// http is accepted on a loopback host only (development).
			r := req
			r.Issuer = "http://127.0.0.1:9998/"
			if _, err := e.Svc.SaveSSOConnection(ctx, org.ID, r, ""); err != nil {
				t.Fatalf("loopback http issuer: %v", err)
			}

			if err := e.Svc.DeleteSSOConnection(ctx, org.ID, "usr_admin"); err != nil {
				t.Fatal(err)
			}
			if ev := e.LastEvent(t, org.ID); ev.Type != store.EventSSOConnectionDeleted {
				t.Fatalf("delete event: %+v", ev)
			}
			if err := e.Svc.DeleteSSOConnection(ctx, org.ID, ""); !errors.Is(err, invite.ErrNotFound) {
				t.Fatalf("delete again: %v", err)
			}
		})
	}
}

// connIdentity is what authflow passes for a sign-in through c.
func connIdentity(c store.SSOConnection, sub, email string) invite.AcceptIdentity {
	return invite.AcceptIdentity{Issuer: c.IdentityIssuer(), Subject: sub, Email: email, EmailVerified: true,
		TrustEmail: true, Organization: c.OrganizationID, Connection: c.ID, Provider: c.Name}
}

// TestSSOMaliciousTenantProvider: organization A configures a provider
// that asserts the email of B's admin. It signs nobody into B, links
// nothing to B's admin unless B trusts A's connection, and never takes
// over B's admin's identity; A's own members sign in through it, into A
// only. Every store.
func TestSSOMaliciousTenantProvider(t *testing.T) {
	for _, sc := range invitetest.StoreCasesWithPostgres() {
		t.Run(sc.Name, func(t *testing.T) {
			ctx := context.Background()
			e := invitetest.NewEnv(t, sc.Open(t), nil)
			a, b := e.Org(t, "org_evil"), e.Org(t, "org_victim")
			boss := e.AddActive(t, b.ID, "boss@victim.example", "admin").User
			// B's admin is linked at the app's provider.
			if _, _, err := e.Svc.SignIn(ctx, invite.AcceptIdentity{Issuer: "https://idp.example.com", Subject: "boss", Email: boss.Email, EmailVerified: true, TrustEmail: true}); err != nil {
				t.Fatal(err)
			}
			member := e.AddActive(t, a.ID, "mia@evil.example").User
			if _, err := e.Svc.SaveSSOConnection(ctx, a.ID, invite.SSOConnectionRequest{Name: "Evil IdP", Issuer: "https://idp.example.com", ClientID: "x"}, ""); err != nil {
				t.Fatal(err)
			}
			c, _ := e.St.(store.SSOConnectionStore).GetSSOConnection(ctx, a.ID)
			linked := func(issuer, sub string) bool {
				_, err := e.St.GetIdentity(ctx, issuer, sub)
				return err == nil
			}

			// 1. Not a member of A: invitation required, nothing linked.
			_, _, err := e.Svc.SignIn(ctx, connIdentity(c, "attacker", boss.Email))
			if !errors.Is(err, invite.ErrNoMembership) || linked(c.IdentityIssuer(), "attacker") {
				t.Fatalf("B's admin through A's provider: %v", err)
			}
			// 1b. Unverified, it is answered as for a stranger (no hint that
			// the email exists elsewhere).
			unverified := connIdentity(c, "attacker", boss.Email)
			unverified.EmailVerified = false
			if _, _, err := e.Svc.SignIn(ctx, unverified); !errors.Is(err, invite.ErrNoMembership) || errors.Is(err, invite.ErrEmailNotVerified) {
				t.Fatalf("unverified email of B's admin: %v", err)
			}
			// 2. A adds B's admin directly (it may add any email): still no
			// link, because B does not trust A's connection.
			e.AddActive(t, a.ID, boss.Email)
			_, _, err = e.Svc.SignIn(ctx, connIdentity(c, "attacker", boss.Email))
			if !errors.Is(err, invite.ErrEmailLinkUntrusted) || linked(c.IdentityIssuer(), "attacker") {
				t.Fatalf("link to B's admin: %v", err)
			}
			// 3. The same issuer URL as the app's provider and the same
			// subject never reach B's admin's identity: the connection is a
			// namespace of its own.
			_, _, err = e.Svc.SignIn(ctx, connIdentity(c, "boss", boss.Email))
			if !errors.Is(err, invite.ErrEmailLinkUntrusted) {
				t.Fatalf("subject of the app's provider through A's connection: %v", err)
			}
			if id, err := e.St.GetIdentity(ctx, "https://idp.example.com", "boss"); err != nil || id.UserID != boss.ID {
				t.Fatalf("B's admin's identity changed: %+v %v", id, err)
			}
			// 4. The connection of A claiming B's organization is refused.
			forged := connIdentity(c, "attacker", boss.Email)
			forged.Organization = b.ID
			if _, _, err := e.Svc.SignIn(ctx, forged); !errors.Is(err, invite.ErrSSOWrongOrganization) {
				t.Fatalf("A's connection for B: %v", err)
			}
			// 5. A's own member signs in through it: into A only.
			u, ms, err := e.Svc.SignIn(ctx, connIdentity(c, "mia", member.Email))
			if err != nil || u.ID != member.ID || len(ms) != 1 || ms[0].OrganizationID != a.ID {
				t.Fatalf("A's member: %+v %+v %v", u, ms, err)
			}
			if ev := e.LastEvent(t, a.ID); ev.Type != store.EventUserLoggedIn || ev.Data["connection_id"] != c.ID {
				t.Fatalf("sign-in event: %+v", ev)
			}
			// 6. B trusts A's connection: then the link is allowed.
			if err := e.Svc.SetSSOTrust(ctx, b.ID, []string{c.ID}, ""); err != nil {
				t.Fatal(err)
			}
			if _, _, err := e.Svc.SignIn(ctx, connIdentity(c, "attacker", boss.Email)); err != nil {
				t.Fatalf("trusted: %v", err)
			}
			// 7. A's invitation accepted through B's... no: an invitation
			// of B cannot be accepted through A's connection.
			inv := e.Invite(t, b.ID, "new@victim.example")
			if _, err := e.Svc.AcceptInvitation(ctx, inv.AcceptLink[strings.Index(inv.AcceptLink, "token=")+6:], connIdentity(c, "new", "new@victim.example")); !errors.Is(err, invite.ErrSSOWrongOrganization) {
				t.Fatalf("B's invitation through A's connection: %v", err)
			}
		})
	}
}

// TestSSOConnectionJoinsNoOtherOrganization: a connection's asserted
// email at another organization's verified AUTO_JOIN domain joins nobody
// into it; at its own organization's domain it joins that organization.
// Every store with verified domains.
func TestSSOConnectionJoinsNoOtherOrganization(t *testing.T) {
	for _, sc := range invitetest.StoreCasesWithPostgres() {
		t.Run(sc.Name, func(t *testing.T) {
			ctx := context.Background()
			e := invitetest.NewEnv(t, sc.Open(t), nil)
			ds, ok := e.St.(store.DomainStore)
			if !ok {
				t.Skip("no verified domains in this store")
			}
			a, b := e.Org(t, "org_join_a"), e.Org(t, "org_join_b")
			now := e.Clock.Now().UTC()
			for _, d := range []struct{ org, domain string }{{a.ID, "evil.example"}, {b.ID, "victim.example"}} {
				ev := store.Event{OrganizationID: d.org, Type: "domain.claimed", CreateTime: now}
				if err := ds.CreateDomain(ctx, store.Domain{OrganizationID: d.org, Domain: d.domain, Token: "t-" + d.domain, CreateTime: now, UpdateTime: now}, ev); err != nil {
					t.Fatal(err)
				}
				if _, err := ds.RecordDomainCheck(ctx, d.org, d.domain, store.DomainCheck{Found: true, At: now}); err != nil {
					t.Fatal(err)
				}
				ev.Type = "domain.policy_set"
				if _, err := ds.SetDomainPolicy(ctx, d.org, d.domain, store.DomainPolicyAutoJoin, nil, now, ev); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := e.Svc.SaveSSOConnection(ctx, a.ID, invite.SSOConnectionRequest{Name: "Evil IdP", Issuer: "https://idp.evil.example", ClientID: "x"}, ""); err != nil {
				t.Fatal(err)
			}
			c, _ := e.St.(store.SSOConnectionStore).GetSSOConnection(ctx, a.ID)
			if _, err := e.Svc.JoinByDomain(ctx, connIdentity(c, "s1", "newcomer@victim.example")); !errors.Is(err, invite.ErrNoMembership) {
				t.Fatalf("A's connection joined B: %v", err)
			}
			if u, err := e.St.GetUserByEmail(ctx, "newcomer@victim.example"); err == nil {
				if _, err := e.St.GetMembership(ctx, b.ID, u.ID); err == nil {
					t.Fatal("a membership in B was written")
				}
			}
			m, err := e.Svc.JoinByDomain(ctx, connIdentity(c, "s2", "staff@evil.example"))
			if err != nil || m.OrganizationID != a.ID {
				t.Fatalf("A's connection at A's own domain: %+v %v", m, err)
			}
		})
	}
}
