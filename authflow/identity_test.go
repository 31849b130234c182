package authflow_test

import (
	"context"
	"strings"
	"testing"

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/store"
)

// eventCount is how many events orgID's feed holds.
func (e *env) eventCount(orgID string) int {
	e.t.Helper()
	evs, err := e.st.ListEvents(context.Background(), orgID, 0, 1000)
	if err != nil {
		e.t.Fatal(err)
	}
	return len(evs)
}

// TestBoundIdentity, against the zitadel OP: once Ann is linked at the
// provider, a second provider account with the same verified email (another
// subject at the same issuer) is refused, at sign-in and when accepting an
// invitation to another organization, and nothing is linked or written;
// Ann's own account still signs in and joins.
func TestBoundIdentity(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	e.op.users.add("ann-sub", "ann@example.com", true)
	e.op.users.addNamed("ann-twin-sub", "ann-twin", "ann@example.com", true)
	userID, link := e.invite("ann@example.com")
	b := newBrowser(t)
	e.startJoin(b, link, "join")
	if p := b.get(e.authorize(b, e.app.URL+"/login", "ann@example.com")); p.status != 303 {
		t.Fatalf("first login: %d %s", p.status, p.body)
	}
	dash := e.app.URL + "/orgs/" + e.org.ID + "/dashboard"

	// The twin signs in: refused, nothing linked or written.
	events := e.eventCount(e.org.ID)
	twin := newBrowser(t)
	p := twin.get(e.authorize(twin, e.app.URL+"/login", "ann-twin"))
	p.expect(t, 409, "identity_bound")
	if !strings.Contains(p.body, "already linked to a different sign-in") {
		t.Errorf("page does not explain the refusal: %s", p.body)
	}
	if _, err := e.st.GetIdentity(ctx, e.op.issuer, "ann-twin-sub"); err == nil {
		t.Fatal("the twin's identity was linked")
	}
	if got := e.eventCount(e.org.ID); got != events {
		t.Fatalf("events %d → %d after a refusal", events, got)
	}
	if q := twin.get(dash); q.status != 303 {
		t.Fatalf("the twin is signed in: %d", q.status)
	}

	// Ann's own account still signs in.
	again := newBrowser(t)
	if p := again.get(e.authorize(again, e.app.URL+"/login", "ann@example.com")); p.status != 303 || p.location != dash {
		t.Fatalf("Ann's sign-in: %d %q %s", p.status, p.location, p.body)
	}

	// An invitation to another organization: the twin cannot accept it
	// either (the invitation stays pending and in the browser); Ann's own
	// account then joins at the next attempt, which asks the provider to
	// authenticate again.
	beta, _, err := e.svc.CreateOrganization(ctx, invite.CreateOrganizationRequest{Name: "Beta"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.svc.CreateUserAndMembership(ctx, beta.ID, invite.InviteRequest{
		Email: "ann@example.com", SendInvitationEmail: ptr(false), ReturnAcceptLink: true,
	})
	if err != nil || res.User.ID != userID || res.Membership.Status != store.StatusPendingInvite {
		t.Fatalf("invite to Beta: %+v %v", res, err)
	}
	events = e.eventCount(beta.ID)
	b4 := newBrowser(t)
	e.startJoin(b4, res.AcceptLink, "join")
	b4.get(e.authorize(b4, e.app.URL+"/login", "ann-twin")).expect(t, 409, "identity_bound")
	if m, err := e.st.GetMembership(ctx, beta.ID, userID); err != nil || m.Status != store.StatusPendingInvite {
		t.Fatalf("Beta membership after the twin: %+v %v", m, err)
	}
	if _, err := e.st.GetIdentity(ctx, e.op.issuer, "ann-twin-sub"); err == nil {
		t.Fatal("the twin's identity was linked at accept")
	}
	if got := e.eventCount(beta.ID); got != events {
		t.Fatalf("Beta events %d → %d after a refusal", events, got)
	}
	if p := b4.get(e.app.URL + "/login"); !strings.Contains(p.location, "prompt=login") {
		t.Errorf("retry does not ask the provider to authenticate again: %q", p.location)
	}
	p = b4.get(e.authorize(b4, e.app.URL+"/login", "ann@example.com"))
	if p.status != 303 || p.location != e.app.URL+"/orgs/"+beta.ID+"/dashboard" {
		t.Fatalf("Ann joins Beta: %d %q %s", p.status, p.location, p.body)
	}
	if m, err := e.st.GetMembership(ctx, beta.ID, userID); err != nil || m.Status != store.StatusActive {
		t.Fatalf("Beta membership: %+v %v", m, err)
	}
}

// TestLinkByEmail: a member added directly (no invitation) is linked by
// verified email at their first sign-in at the configured provider, with
// an identity.linked event; with TrustedEmailIssuers not naming the
// provider nobody is linked by email (email_link_untrusted, nothing
// written), while invitations still work (the link proves the email).
func TestLinkByEmail(t *testing.T) {
	for _, tt := range []struct {
		name    string
		trusted []string
		code    string // "" = linked
	}{
		{name: "default trusts the provider"},
		{name: "provider not trusted", trusted: []string{"https://other-idp.example/"}, code: "email_link_untrusted"},
		{name: "none trusted", trusted: []string{}, code: "email_link_untrusted"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, envOptions{trustedEmailIssuers: tt.trusted})
			ctx := context.Background()
			e.op.users.add("bob-sub", "bob@example.com", true)
			bob, err := e.svc.CreateUserAndMembership(ctx, e.org.ID, invite.InviteRequest{Email: "bob@example.com", SendInvitationEmail: ptr(false)})
			if err != nil || bob.Membership.Status != store.StatusActive {
				t.Fatalf("direct add: %+v %v", bob, err)
			}
			events := e.eventCount(e.org.ID)
			b := newBrowser(t)
			p := b.get(e.authorize(b, e.app.URL+"/login", "bob@example.com"))
			ident, identErr := e.st.GetIdentity(ctx, e.op.issuer, "bob-sub")
			if tt.code != "" {
				p.expect(t, 403, tt.code)
				if identErr == nil {
					t.Fatal("linked by email although the issuer is not trusted")
				}
				if got := e.eventCount(e.org.ID); got != events {
					t.Fatalf("events %d → %d after a refusal", events, got)
				}
				// An invitation is accepted whatever the trust setting.
				e.op.users.add("ann-sub", "ann@example.com", true)
				annID, link := e.invite("ann@example.com")
				b2 := newBrowser(t)
				e.startJoin(b2, link, "join")
				if p := b2.get(e.authorize(b2, e.app.URL+"/login", "ann@example.com")); p.status != 303 || e.status(annID) != store.StatusActive {
					t.Fatalf("accept with an untrusted issuer: %d %s", p.status, p.body)
				}
				return
			}
			if p.status != 303 || identErr != nil || ident.UserID != bob.User.ID {
				t.Fatalf("first sign-in of a direct member: %d %s; identity %+v %v", p.status, p.body, ident, identErr)
			}
			evs, _ := e.st.ListEvents(ctx, e.org.ID, 0, 1000)
			linked := 0
			for _, ev := range evs {
				if ev.Type == invite.EventIdentityLinked && ev.UserID == bob.User.ID && ev.Data["issuer"] == e.op.issuer {
					linked++
				}
			}
			if linked != 1 {
				t.Errorf("identity.linked events = %d, want 1", linked)
			}
		})
	}
}
