package invite_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/invite/inviteapi"
	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/store/memstore"
)

func TestAcceptInvitation(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, nil)
		ctx := context.Background()
		e.Org(t, "org_a")
		res := e.Invite(t, "org_a", "ann@example.com", "admin")
		e.Clock.Advance(time.Hour)
		id := verified("  ANN@example.com")
		id.Provider = "GOOGLE"
		m, err := e.Svc.AcceptInvitation(ctx, invite.TokenFromLink(res.AcceptLink), id)
		if err != nil {
			t.Fatal(err)
		}
		if m.Status != store.StatusActive || m.PrimaryIdentityProvider != "GOOGLE" || !m.HasRole("admin") {
			t.Errorf("membership = %+v", m)
		}
		ident, err := st.GetIdentity(ctx, id.Issuer, id.Subject)
		if err != nil || ident.UserID != res.User.ID {
			t.Errorf("identity = %+v, %v", ident, err)
		}
		u, err := st.GetUser(ctx, res.User.ID)
		if err != nil || !u.Profile.EmailVerified || u.LastLogin == nil || !u.LastLogin.Equal(e.Clock.Now()) {
			t.Errorf("user after accept = %+v (lastLogin %v), %v", u.Profile, u.LastLogin, err)
		}
		evs := e.Events(t, "org_a")
		acc, login := evs[len(evs)-2], evs[len(evs)-1]
		if acc.Type != store.EventMembershipAccepted || acc.UserID != res.User.ID || acc.ActorID != res.User.ID || acc.Data["email_mismatch"] != "" {
			t.Errorf("accept event = %+v", acc)
		}
		if login.Type != store.EventUserLoggedIn {
			t.Errorf("login event = %+v", login)
		}
		if calls := e.ChangeCalls(); calls[len(calls)-1] != "org_a/"+res.User.ID {
			t.Errorf("OnMembershipChange = %v", calls)
		}
	})
}

func TestAcceptEmailPolicy(t *testing.T) {
	no := false
	tests := []struct {
		name         string
		noVerify     bool
		id           invite.AcceptIdentity
		want         error
		wantField    string
		wantMismatch bool
		wantVerified bool
	}{
		{"match", false, verified("ann@example.com"), nil, "", false, true},
		{"match ignoring case and space", false, verified(" Ann@EXAMPLE.com "), nil, "", false, true},
		{"other email", false, verified("bob@example.com"), invite.ErrEmailMismatch, "", false, false},
		{"garbage email", false, verified("not an email"), invite.ErrEmailMismatch, "", false, false},
		{"no email", false, invite.AcceptIdentity{Issuer: "https://idp", Subject: "s", EmailVerified: true}, invite.ErrEmailMismatch, "", false, false},
		{"join as signed in", false, func() invite.AcceptIdentity {
			id := verified("bob@example.com")
			id.JoinAsSignedIn = true
			return id
		}(), nil, "", true, false},
		{"not verified", false, invite.AcceptIdentity{Issuer: "https://idp", Subject: "s", Email: "ann@example.com"}, invite.ErrEmailNotVerified, "", false, false},
		{"not verified allowed", true, invite.AcceptIdentity{Issuer: "https://idp", Subject: "s", Email: "ann@example.com"}, nil, "", false, false},
		{"no issuer", false, invite.AcceptIdentity{Subject: "s", Email: "ann@example.com", EmailVerified: true}, nil, "issuer", false, false},
		{"no subject", false, invite.AcceptIdentity{Issuer: "https://idp", Email: "ann@example.com", EmailVerified: true}, nil, "subject", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, memstore.New(), func(c *invite.Config) {
				if tt.noVerify {
					c.RequireVerifiedEmail = &no
				}
			})
			ctx := context.Background()
			e.Org(t, "org_a")
			res := e.Invite(t, "org_a", "ann@example.com")
			before := takeSnapshot(t, e.St, []string{"org_a"}, []string{"ann@example.com", "bob@example.com"})
			_, err := e.Svc.AcceptInvitation(ctx, invite.TokenFromLink(res.AcceptLink), tt.id)
			switch {
			case tt.wantField != "":
				assertFieldError(t, err, invite.CodeInvalidArgument, tt.wantField)
				assertUnchanged(t, before, takeSnapshot(t, e.St, []string{"org_a"}, []string{"ann@example.com", "bob@example.com"}))
				return
			case tt.want != nil:
				if !errors.Is(err, tt.want) {
					t.Fatalf("err = %v, want %v", err, tt.want)
				}
				if inviteapi.ProblemOf(err).Status != 403 {
					t.Errorf("status = %d", inviteapi.ProblemOf(err).Status)
				}
				assertUnchanged(t, before, takeSnapshot(t, e.St, []string{"org_a"}, []string{"ann@example.com", "bob@example.com"}))
				return
			case err != nil:
				t.Fatal(err)
			}
			evs := e.Events(t, "org_a")
			acc := evs[len(evs)-2]
			if (acc.Data["email_mismatch"] == "true") != tt.wantMismatch {
				t.Errorf("event data = %v, want mismatch=%v", acc.Data, tt.wantMismatch)
			}
			u, _ := e.St.GetUser(ctx, res.User.ID)
			if u.Profile.EmailVerified != tt.wantVerified {
				t.Errorf("EmailVerified = %v, want %v", u.Profile.EmailVerified, tt.wantVerified)
			}
			if u.Email != "ann@example.com" {
				t.Errorf("user email changed to %q", u.Email)
			}
		})
	}
}

func TestAcceptConcurrent(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, nil)
		e.Org(t, "org_a")
		tok := invite.TokenFromLink(e.Invite(t, "org_a", "ann@example.com").AcceptLink)
		const n = 30
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				_, errs[i] = e.Svc.AcceptInvitation(context.Background(), tok, verified("ann@example.com"))
			})
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case errors.Is(err, invite.ErrInviteUsed), errors.Is(err, invite.ErrWrongStatus):
			default:
				t.Errorf("unexpected error: %v", err)
			}
		}
		if ok != 1 {
			t.Fatalf("%d accepts succeeded, want exactly 1", ok)
		}
		accepted := 0
		for _, ev := range e.Events(t, "org_a") {
			if ev.Type == store.EventMembershipAccepted {
				accepted++
			}
		}
		if accepted != 1 {
			t.Errorf("%d accept events, want 1", accepted)
		}
	})
}

func TestAcceptInvitationByID(t *testing.T) {
	e := newEnv(t, memstore.New(), nil)
	ctx := context.Background()
	e.Org(t, "org_a")
	res := e.Invite(t, "org_a", "ann@example.com")
	info, err := e.Svc.LookupInvitation(ctx, invite.TokenFromLink(res.AcceptLink))
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"", "inv_nope", "garbage!", info.Invitation.ID + "x"} {
		if _, err := e.Svc.AcceptInvitationByID(ctx, bad, verified("ann@example.com")); !errors.Is(err, invite.ErrInvalidToken) {
			t.Errorf("AcceptInvitationByID(%q) = %v, want ErrInvalidToken", bad, err)
		}
	}
	m, err := e.Svc.AcceptInvitationByID(ctx, info.Invitation.ID, verified("ann@example.com"))
	if err != nil || m.Status != store.StatusActive {
		t.Fatalf("accept by id = %+v, %v", m, err)
	}
	if _, err := e.Svc.AcceptInvitationByID(ctx, info.Invitation.ID, verified("ann@example.com")); !errors.Is(err, invite.ErrInviteUsed) {
		t.Errorf("second accept by id: %v", err)
	}
}

func TestAcceptIdentityTaken(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, nil)
		ctx := context.Background()
		e.Org(t, "org_a")
		ann := e.Invite(t, "org_a", "ann@example.com")
		bob := e.Invite(t, "org_a", "bob@example.com")
		id := verified("ann@example.com")
		if _, err := e.Svc.AcceptInvitation(ctx, invite.TokenFromLink(ann.AcceptLink), id); err != nil {
			t.Fatal(err)
		}
		// Ann's identity cannot join as Bob.
		id.JoinAsSignedIn = true
		before := takeSnapshot(t, st, []string{"org_a"}, nil)
		if _, err := e.Svc.AcceptInvitation(ctx, invite.TokenFromLink(bob.AcceptLink), id); !errors.Is(err, invite.ErrIdentityTaken) {
			t.Fatalf("err = %v, want ErrIdentityTaken", err)
		}
		assertUnchanged(t, before, takeSnapshot(t, st, []string{"org_a"}, nil))
		if _, err := e.Svc.LookupInvitation(ctx, invite.TokenFromLink(bob.AcceptLink)); err != nil {
			t.Errorf("bob's invitation was spent: %v", err)
		}
	})
}

func TestSignIn(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, nil)
		ctx := context.Background()
		e.Org(t, "org_a")
		e.Org(t, "org_b")
		ann := e.Invite(t, "org_a", "ann@example.com")
		id := verified("ann@example.com")
		if _, err := e.Svc.AcceptInvitation(ctx, invite.TokenFromLink(ann.AcceptLink), id); err != nil {
			t.Fatal(err)
		}
		bob := e.AddActive(t, "org_b", "bob@example.com")
		e.Invite(t, "org_a", "pend@example.com")
		gone := e.AddActive(t, "org_a", "gone@example.com")
		if _, err := e.Svc.DeactivateMembership(ctx, "org_a", gone.User.ID, ""); err != nil {
			t.Fatal(err)
		}

		// Returning member by identity.
		e.Clock.Advance(time.Hour)
		u, ms, err := e.Svc.SignIn(ctx, id)
		if err != nil || u.ID != ann.User.ID || len(ms) != 1 || ms[0].OrganizationID != "org_a" || u.LastLogin == nil || !u.LastLogin.Equal(e.Clock.Now()) {
			t.Fatalf("SignIn = %+v %+v %v", u, ms, err)
		}
		if ev := e.LastEvent(t, "org_a"); ev.Type != store.EventUserLoggedIn || ev.UserID != ann.User.ID {
			t.Errorf("event = %+v", ev)
		}

		// Directly added member: linked by verified email on first sign-in
		// (the caller trusts the issuer to assert emails).
		bobID := verified("Bob@Example.com")
		bobID.TrustEmail = true
		u, _, err = e.Svc.SignIn(ctx, bobID)
		if err != nil || u.ID != bob.User.ID {
			t.Fatalf("SignIn bob = %+v %v", u, err)
		}
		if ident, err := st.GetIdentity(ctx, bobID.Issuer, bobID.Subject); err != nil || ident.UserID != bob.User.ID {
			t.Errorf("identity not linked: %+v %v", ident, err)
		}
		evs := e.Events(t, "org_b")
		if evs[len(evs)-2].Type != invite.EventIdentityLinked {
			t.Errorf("link event = %+v", evs[len(evs)-2])
		}

		orgs := []string{"org_a", "org_b"}
		bad := []struct {
			name string
			id   invite.AcceptIdentity
			want error
		}{
			{"unknown person", verified("stranger@example.com"), invite.ErrNoMembership},
			{"only pending", verified("pend@example.com"), invite.ErrNoMembership},
			{"only inactive", verified("gone@example.com"), invite.ErrNoMembership},
			{"unverified email of a user", invite.AcceptIdentity{Issuer: "https://idp.example.com", Subject: "x", Email: "bob@example.com"}, invite.ErrEmailNotVerified},
			{"no email", invite.AcceptIdentity{Issuer: "https://idp.example.com", Subject: "y"}, invite.ErrNoMembership},
		}
		for _, tt := range bad {
			t.Run(tt.name, func(t *testing.T) {
				before := takeSnapshot(t, st, orgs, nil)
				if _, _, err := e.Svc.SignIn(ctx, tt.id); !errors.Is(err, tt.want) {
					t.Fatalf("err = %v, want %v", err, tt.want)
				}
				if _, err := st.GetIdentity(ctx, tt.id.Issuer, tt.id.Subject); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("identity linked on a refused sign-in")
				}
				assertUnchanged(t, before, takeSnapshot(t, st, orgs, nil))
			})
		}
		_, _, err = e.Svc.SignIn(ctx, invite.AcceptIdentity{Email: "ann@example.com"})
		assertFieldError(t, err, invite.CodeInvalidArgument, "issuer")
	})
}

func TestRequestNewInvitation(t *testing.T) {
	e := newEnv(t, memstore.New(), nil)
	ctx := context.Background()
	e.Org(t, "org_a")
	res := e.Invite(t, "org_a", "ann@example.com")
	tok := invite.TokenFromLink(res.AcceptLink)
	before := takeSnapshot(t, e.St, []string{"org_a"}, nil)
	if err := e.Svc.RequestNewInvitation(ctx, tok); !errors.Is(err, invite.ErrWrongStatus) {
		t.Fatalf("valid invitation: %v, want ErrWrongStatus", err)
	}
	assertUnchanged(t, before, takeSnapshot(t, e.St, []string{"org_a"}, nil))
	e.Clock.Advance(16 * 24 * time.Hour)
	if err := e.Svc.RequestNewInvitation(ctx, tok); err != nil {
		t.Fatal(err)
	}
	ev := e.LastEvent(t, "org_a")
	if ev.Type != store.EventInvitationRenewRequest || ev.UserID != res.User.ID || ev.Data["email"] != "ann@example.com" {
		t.Errorf("event = %+v", ev)
	}
}
