package invite_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/invite/internal/invitetest"
	"github.com/invitekit/invitekit/store"
)

// TestSSOSignInNamesConnection: a sign-in through an organization's
// connection makes the membership's PrimaryIdentityProvider the
// connection's name and fills in the organization's empty name with the
// asserted one, in one commit with the login (membership.updated, then
// user.logged_in); what the organization wrote stays; the person's other
// organization and app-wide profile keep theirs; a sign-in through the
// app's provider changes no provider; a bad name is refused with its
// field. Every store.
func TestSSOSignInNamesConnection(t *testing.T) {
	for _, sc := range invitetest.StoreCasesWithPostgres() {
		t.Run(sc.Name, func(t *testing.T) {
			ctx := context.Background()
			e := invitetest.NewEnv(t, sc.Open(t), nil)
			a, b := e.Org(t, "org_name_a"), e.Org(t, "org_name_b")
			pat := e.AddActive(t, a.ID, "pat@example.com").User // A wrote no name
			inv := e.Invite(t, b.ID, "pat@example.com")         // B wrote "Ann Lee"
			tok := inv.AcceptLink[strings.Index(inv.AcceptLink, "token=")+6:]
			if _, err := e.Svc.AcceptInvitation(ctx, tok, invitetest.Verified("pat@example.com")); err != nil {
				t.Fatal(err)
			}
			wasB, _ := e.St.GetMembership(ctx, b.ID, pat.ID)
			wasUser, _ := e.St.GetUser(ctx, pat.ID)
			if _, err := e.Svc.SaveSSOConnection(ctx, a.ID, invite.SSOConnectionRequest{Name: "Acme Okta", Issuer: "https://acme.okta.example", ClientID: "x"}, ""); err != nil {
				t.Fatal(err)
			}
			c, _ := e.St.(store.SSOConnectionStore).GetSSOConnection(ctx, a.ID)
			// B does not trust A's connection yet: the email link is refused,
			// and neither the provider nor the name is written.
			refused := connIdentity(c, "pat", pat.Email)
			refused.Name = "Pat Okta"
			eventsA := len(e.Events(t, a.ID))
			if _, _, err := e.Svc.SignIn(ctx, refused); !errors.Is(err, invite.ErrEmailLinkUntrusted) {
				t.Fatalf("untrusted link: %v", err)
			}
			if m, _ := e.St.GetMembership(ctx, a.ID, pat.ID); m.Profile.Name != "" || m.PrimaryIdentityProvider == "Acme Okta" || len(e.Events(t, a.ID)) != eventsA {
				t.Fatalf("a refused sign-in wrote: %+v", m)
			}
			if err := e.Svc.SetSSOTrust(ctx, b.ID, []string{c.ID}, ""); err != nil { // so that the email may link
				t.Fatal(err)
			}
			eventsB := len(e.Events(t, b.ID))

			id := connIdentity(c, "pat", pat.Email)
			id.Name, id.Provider = "Pat Okta", "ignored: the connection names itself"
			_, ms, err := e.Svc.SignIn(ctx, id)
			if err != nil || len(ms) != 1 {
				t.Fatalf("sign-in: %+v %v", ms, err)
			}
			m, _ := e.St.GetMembership(ctx, a.ID, pat.ID)
			if m.PrimaryIdentityProvider != "Acme Okta" || m.Profile.Name != "Pat Okta" || ms[0].Profile.Name != "Pat Okta" || ms[0].PrimaryIdentityProvider != "Acme Okta" {
				t.Fatalf("A's membership: %+v (returned %+v)", m, ms[0])
			}
			evs := e.Events(t, a.ID)
			upd, login := evs[len(evs)-2], evs[len(evs)-1]
			if upd.Type != store.EventMembershipUpdated || upd.Data["connection_id"] != c.ID ||
				upd.Data["primary_identity_provider"] != "Acme Okta" || upd.Data["profile"] != "updated" || upd.ActorID != pat.ID {
				t.Fatalf("membership.updated: %+v", upd)
			}
			if login.Type != store.EventUserLoggedIn || login.Data["connection_id"] != c.ID {
				t.Fatalf("user.logged_in: %+v", login)
			}
			if got, _ := e.St.GetMembership(ctx, b.ID, pat.ID); got.Profile.Name != wasB.Profile.Name || got.PrimaryIdentityProvider != wasB.PrimaryIdentityProvider {
				t.Fatalf("B's membership changed: %+v", got)
			}
			if got, _ := e.St.GetUser(ctx, pat.ID); got.Profile.Name != wasUser.Profile.Name {
				t.Fatalf("app-wide profile changed: %+v", got.Profile)
			}
			if n := len(e.Events(t, b.ID)); n != eventsB {
				t.Fatalf("B got %d events", n-eventsB)
			}

			// Again with another name: the name is A's now, nothing changes
			// but the login.
			id.Name = "Someone Else"
			if _, _, err := e.Svc.SignIn(ctx, id); err != nil {
				t.Fatal(err)
			}
			if m, _ := e.St.GetMembership(ctx, a.ID, pat.ID); m.Profile.Name != "Pat Okta" {
				t.Fatalf("name overwritten: %q", m.Profile.Name)
			}
			if evs2 := e.Events(t, a.ID); len(evs2) != len(evs)+1 || evs2[len(evs2)-1].Type != store.EventUserLoggedIn {
				t.Fatalf("second sign-in wrote %d events", len(evs2)-len(evs))
			}

			// The app's provider: every membership keeps its provider.
			app := invitetest.Verified(pat.Email)
			app.TrustEmail, app.Name = true, "From the app's provider"
			if _, _, err := e.Svc.SignIn(ctx, app); err != nil {
				t.Fatal(err)
			}
			if m, _ := e.St.GetMembership(ctx, a.ID, pat.ID); m.PrimaryIdentityProvider != "Acme Okta" || m.Profile.Name != "Pat Okta" {
				t.Fatalf("app's provider changed A: %+v", m)
			}

			// A name that breaks the text rule: refused with its field, nothing written.
			before := len(e.Events(t, a.ID))
			for _, bad := range []string{"Pat\x00", strings.Repeat("n", invite.MaxDisplayNameLen+1), "a\nb"} {
				id.Name = bad
				_, _, err := e.Svc.SignIn(ctx, id)
				invitetest.AssertFieldError(t, err, store.CodeInvalidArgument, "name")
			}
			if n := len(e.Events(t, a.ID)); n != before {
				t.Fatalf("a refused sign-in wrote %d events", n-before)
			}
		})
	}
}

// TestSSOAcceptNamesConnection: an invitation accepted through the
// connection names it and fills in the organization's empty name; a name
// the organization wrote at invite stays. Every store.
func TestSSOAcceptNamesConnection(t *testing.T) {
	for _, sc := range invitetest.StoreCasesWithPostgres() {
		t.Run(sc.Name, func(t *testing.T) {
			ctx := context.Background()
			e := invitetest.NewEnv(t, sc.Open(t), nil)
			a := e.Org(t, "org_acc_name")
			if _, err := e.Svc.SaveSSOConnection(ctx, a.ID, invite.SSOConnectionRequest{Name: "Acme Okta", Issuer: "https://acme.okta.example", ClientID: "x"}, ""); err != nil {
				t.Fatal(err)
			}
			c, _ := e.St.(store.SSOConnectionStore).GetSSOConnection(ctx, a.ID)
			for _, tc := range []struct {
				email string
				wrote *invite.ProfileInput
				want  string
			}{
				{"lee@example.com", nil, "Lee Okta"},
				{"ann@example.com", &invite.ProfileInput{Name: "Ann (by Acme)"}, "Ann (by Acme)"},
			} {
				res, err := e.Svc.CreateUserAndMembership(ctx, a.ID, invite.InviteRequest{Email: tc.email, UserProfile: tc.wrote, ReturnAcceptLink: true})
				if err != nil {
					t.Fatal(err)
				}
				id := connIdentity(c, "s-"+tc.email, tc.email)
				id.Name = "Lee Okta"
				m, err := e.Svc.AcceptInvitation(ctx, res.AcceptLink[strings.Index(res.AcceptLink, "token=")+6:], id)
				if err != nil || m.PrimaryIdentityProvider != "Acme Okta" || m.Profile.Name != tc.want {
					t.Fatalf("%s: %+v %v", tc.email, m, err)
				}
				if u, _ := e.St.GetUser(ctx, res.User.ID); u.Profile.Name == "Lee Okta" && tc.wrote == nil {
					t.Fatalf("%s: the asserted name reached the app-wide profile", tc.email)
				}
			}
		})
	}
}

// noSignInerStore is a store with SSO connections but without
// store.SSOSignIner.
type noSignInerStore struct {
	store.Store
	store.SSOConnectionStore
}

// TestSSOSignInWithoutSSOSignIner: a store without the capability still
// signs in through a connection (the link and the login, as before) and
// leaves the membership as it is.
func TestSSOSignInWithoutSSOSignIner(t *testing.T) {
	ctx := context.Background()
	mem := invitetest.OpenMem(t)
	e := invitetest.NewEnv(t, noSignInerStore{mem, mem.(store.SSOConnectionStore)}, nil)
	a := e.Org(t, "org_plain")
	pat := e.AddActive(t, a.ID, "pat@example.com").User
	if _, err := e.Svc.SaveSSOConnection(ctx, a.ID, invite.SSOConnectionRequest{Name: "Acme Okta", Issuer: "https://acme.okta.example", ClientID: "x"}, ""); err != nil {
		t.Fatal(err)
	}
	c, _ := mem.(store.SSOConnectionStore).GetSSOConnection(ctx, a.ID)
	id := connIdentity(c, "pat", pat.Email)
	id.Name = "Pat Okta"
	u, ms, err := e.Svc.SignIn(ctx, id)
	if err != nil || u.ID != pat.ID || len(ms) != 1 || ms[0].LastLogin == nil {
		t.Fatalf("sign-in: %+v %+v %v", u, ms, err)
	}
	if _, err := mem.GetIdentity(ctx, c.IdentityIssuer(), "pat"); err != nil {
		t.Fatalf("not linked: %v", err)
	}
	if m, _ := mem.GetMembership(ctx, a.ID, pat.ID); m.Profile.Name != "" || m.PrimaryIdentityProvider == "Acme Okta" || m.LastLogin == nil {
		t.Fatalf("membership: %+v", m)
	}
	if ev := e.LastEvent(t, a.ID); ev.Type != store.EventUserLoggedIn {
		t.Fatalf("last event: %+v", ev)
	}
}

// separateWritesFail is a store whose LinkIdentity and RecordLogin fail
// (and count): a sign-in that calls them took more than one commit.
type separateWritesFail struct {
	store.Store
	store.SSOConnectionStore
	store.SSOSignIner
	calls int
}

func (s *separateWritesFail) LinkIdentity(context.Context, store.Identity, store.Event) error {
	s.calls++
	return errors.New("LinkIdentity called")
}

func (s *separateWritesFail) RecordLogin(context.Context, string, time.Time, store.Event) error {
	s.calls++
	return errors.New("RecordLogin called")
}

// TestSSOSignInOneCommit: with a store.SSOSignIner, a first sign-in
// through a connection (an email link, the provider, the name, the login)
// is that one call: LinkIdentity and RecordLogin are never called. Every
// store.
func TestSSOSignInOneCommit(t *testing.T) {
	for _, sc := range invitetest.StoreCasesWithPostgres() {
		t.Run(sc.Name, func(t *testing.T) {
			ctx := context.Background()
			st := sc.Open(t)
			w := &separateWritesFail{Store: st, SSOConnectionStore: st.(store.SSOConnectionStore), SSOSignIner: st.(store.SSOSignIner)}
			e := invitetest.NewEnv(t, w, nil)
			a := e.Org(t, "org_one_commit")
			pat := e.AddActive(t, a.ID, "pat@example.com").User
			if _, err := e.Svc.SaveSSOConnection(ctx, a.ID, invite.SSOConnectionRequest{Name: "Acme Okta", Issuer: "https://acme.okta.example", ClientID: "x"}, ""); err != nil {
				t.Fatal(err)
			}
			c, _ := w.GetSSOConnection(ctx, a.ID)
			id := connIdentity(c, "pat", pat.Email)
			id.Name = "Pat Okta"
			if _, _, err := e.Svc.SignIn(ctx, id); err != nil || w.calls != 0 {
				t.Fatalf("sign-in: %v (%d separate writes)", err, w.calls)
			}
			if _, err := st.GetIdentity(ctx, c.IdentityIssuer(), "pat"); err != nil {
				t.Fatalf("not linked: %v", err)
			}
			m, _ := st.GetMembership(ctx, a.ID, pat.ID)
			u, _ := st.GetUser(ctx, pat.ID)
			if m.PrimaryIdentityProvider != "Acme Okta" || m.Profile.Name != "Pat Okta" || m.LastLogin == nil || u.LastLogin == nil {
				t.Fatalf("membership %+v, user last login %v", m, u.LastLogin)
			}
			var types []string
			for _, ev := range e.Events(t, a.ID) {
				types = append(types, ev.Type)
			}
			if got := strings.Join(types[len(types)-3:], " "); got != "identity.linked membership.updated user.logged_in" {
				t.Fatalf("events: %s", got)
			}
		})
	}
}
