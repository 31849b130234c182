package authflow_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/invitekit/invitekit/store"
)

// TestHappyPath runs the whole flow against the real OP: invite → mail →
// link GET (spends nothing) → POST → /login → provider login → callback →
// ACTIVE → RequireMember passes → deactivate → next request 403.
func TestHappyPath(t *testing.T) {
	for _, tt := range []struct {
		name            string
		claimsInIDToken bool
		userinfoCalls   int64
	}{
		{name: "email from UserInfo", claimsInIDToken: false, userinfoCalls: 1},
		{name: "email in ID token", claimsInIDToken: true, userinfoCalls: 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, envOptions{claimsInIDToken: tt.claimsInIDToken})
			ctx := context.Background()
			e.op.users.add("ann-sub", "ann@example.com", true)
			userID, link := e.invite("ann@example.com")
			b := newBrowser(t)

			// A mail scanner and the person open the link: nothing is spent.
			for range 2 {
				p := b.get(link)
				if p.status != 200 {
					t.Fatalf("accept page: %d %s", p.status, p.body)
				}
				for _, want := range []string{"Join Acme", "Bea Boss", "ann@example.com", `method="post"`} {
					if !strings.Contains(p.body, want) {
						t.Errorf("accept page lacks %q", want)
					}
				}
				if p.header.Get("Cache-Control") != "no-store" || p.header.Get("Referrer-Policy") != "no-referrer" {
					t.Errorf("token page headers: %v", p.header)
				}
				if e.status(userID) != store.StatusPendingInvite {
					t.Fatal("GET changed the membership")
				}
			}

			p := b.post(e.app.URL+"/accept", url.Values{"token": {token(link)}})
			if p.status != 303 || p.location != e.app.URL+"/login" {
				t.Fatalf("accept POST: %d %q", p.status, p.location)
			}

			// The authorization request carries state, nonce, PKCE S256 and login_hint.
			p = b.get(e.app.URL + "/login")
			if p.status != 303 {
				t.Fatalf("login: %d %s", p.status, p.body)
			}
			au, _ := url.Parse(p.location)
			q := au.Query()
			for k, want := range map[string]string{
				"client_id": "web", "response_type": "code", "scope": "openid profile email",
				"code_challenge_method": "S256", "login_hint": "ann@example.com",
				"redirect_uri": e.app.URL + "/auth/callback",
			} {
				if q.Get(k) != want {
					t.Errorf("authorization %s = %q, want %q", k, q.Get(k), want)
				}
			}
			for _, k := range []string{"state", "nonce", "code_challenge"} {
				if len(q.Get(k)) < 43 {
					t.Errorf("authorization %s = %q, too short", k, q.Get(k))
				}
			}
			if strings.Contains(p.location, token(link)) {
				t.Fatal("invitation token leaked into the authorization URL")
			}

			cb := e.authorize(b, e.app.URL+"/login", "ann@example.com")
			before := b.cookie(e.app.URL, "session")
			p = b.get(cb)
			if p.status != 303 || p.location != e.app.URL+"/orgs/"+e.org.ID+"/dashboard" {
				t.Fatalf("callback: %d %q %s", p.status, p.location, p.body)
			}
			if after := after(b, e); after == "" || after == before {
				t.Fatal("session token not renewed at login")
			}
			if got := e.tamper.userinfoCalls.Load(); got != tt.userinfoCalls {
				t.Errorf("UserInfo calls = %d, want %d", got, tt.userinfoCalls)
			}

			m, err := e.st.GetMembership(ctx, e.org.ID, userID)
			if err != nil || m.Status != store.StatusActive {
				t.Fatalf("membership after callback: %+v %v", m, err)
			}
			ident, err := e.st.GetIdentity(ctx, e.op.issuer, "ann-sub")
			if err != nil || ident.UserID != userID {
				t.Fatalf("identity not linked: %+v %v", ident, err)
			}
			u, _ := e.st.GetUser(ctx, userID)
			if !u.Profile.EmailVerified || u.LastLogin == nil {
				t.Fatalf("user after accept: verified=%v lastLogin=%v", u.Profile.EmailVerified, u.LastLogin)
			}

			// Nothing secret reached the logs.
			cbq, _ := url.Parse(cb)
			logs := e.logs.String()
			if !strings.Contains(logs, "invitation accepted") {
				t.Fatalf("logger not wired: %s", logs)
			}
			for name, secret := range map[string]string{
				"invitation token": token(link), "authorization code": cbq.Query().Get("code"),
				"state": cbq.Query().Get("state"), "nonce": q.Get("nonce"), "session token": after(b, e),
			} {
				if secret == "" || strings.Contains(logs, secret) {
					t.Errorf("%s is empty or was logged", name)
				}
			}

			p = b.get(p.location)
			if p.status != 200 || p.body != "dashboard of "+e.org.ID+" for ann@example.com" {
				t.Fatalf("dashboard: %d %s", p.status, p.body)
			}

			// The callback URL cannot be used again.
			p = b.get(cb)
			p.expect(t, 400, "login_not_started")

			// The link is spent.
			b.get(link).expect(t, 410, "invite_used")

			if _, err := e.svc.DeactivateMembership(ctx, e.org.ID, userID, e.admin.ID); err != nil {
				t.Fatal(err)
			}
			p = b.get(e.app.URL + "/orgs/" + e.org.ID + "/dashboard")
			if p.status != 403 {
				t.Fatalf("dashboard after deactivation: %d %s", p.status, p.body)
			}
		})
	}
}

func after(b *browser, e *env) string { return b.cookie(e.app.URL, "session") }

// TestReturningMemberAndStranger: an ACTIVE member logs in with no
// invitation and lands on return_to; someone unknown gets "invitation
// required"; logout ends the session and continues at the provider.
func TestReturningMemberAndStranger(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	e.op.users.add("ann-sub", "ann@example.com", true)
	userID, link := e.invite("ann@example.com")
	b := newBrowser(t)
	e.startJoin(b, link, "join")
	if p := b.get(e.authorize(b, e.app.URL+"/login", "ann@example.com")); p.status != 303 {
		t.Fatalf("first login: %d %s", p.status, p.body)
	}

	// Next day, another browser: returning member, with return_to.
	b2 := newBrowser(t)
	dash := "/orgs/" + e.org.ID + "/dashboard?tab=members"
	p := b2.get(e.app.URL + dash)
	if p.status != 303 || !strings.HasPrefix(p.location, e.app.URL+"/login?return_to=") {
		t.Fatalf("protected page without session: %d %q", p.status, p.location)
	}
	cb := e.authorize(b2, p.location, "ann@example.com")
	p = b2.get(cb)
	if p.status != 303 || p.location != e.app.URL+dash {
		t.Fatalf("returning callback: %d %q %s", p.status, p.location, p.body)
	}
	if p = b2.get(p.location); p.status != 200 {
		t.Fatalf("dashboard: %d", p.status)
	}
	evs, _ := e.st.ListEvents(ctx, e.org.ID, 0, 0)
	logins := 0
	for _, ev := range evs {
		if ev.Type == store.EventUserLoggedIn && ev.UserID == userID {
			logins++
		}
	}
	if logins != 2 {
		t.Errorf("login events = %d, want 2", logins)
	}

	// A stranger with a provider account but no invitation.
	e.op.users.add("zed-sub", "zed@example.com", true)
	b3 := newBrowser(t)
	p = b3.get(e.authorize(b3, e.app.URL+"/login", "zed@example.com"))
	p.expect(t, 403, "invitation_required")
	if _, err := e.st.GetUserByEmail(ctx, "zed@example.com"); err == nil {
		t.Fatal("a stranger's login created a user")
	}
	if p = b3.get(e.app.URL + "/orgs/" + e.org.ID + "/dashboard"); p.status != 303 {
		t.Fatalf("stranger is signed in: %d", p.status)
	}

	// Logout: confirmation page, then POST → provider end_session with
	// id_token_hint → back to our post-logout page; the session is gone.
	p = b2.get(e.app.URL + "/logout")
	if p.status != 200 || !strings.Contains(p.body, `method="post"`) {
		t.Fatalf("logout page: %d %s", p.status, p.body)
	}
	p = b2.post(e.app.URL+"/logout", nil)
	if p.status != 303 {
		t.Fatalf("logout: %d %s", p.status, p.body)
	}
	lu, _ := url.Parse(p.location)
	if !strings.HasPrefix(p.location, e.op.issuer) || lu.Query().Get("id_token_hint") == "" ||
		lu.Query().Get("post_logout_redirect_uri") != e.app.URL+"/bye" {
		t.Fatalf("logout redirect %q", p.location)
	}
	for i := 0; i < 5 && p.status/100 == 3 && !strings.HasPrefix(p.location, e.app.URL); i++ {
		p = b2.get(p.location)
	}
	if !strings.HasPrefix(p.location, e.app.URL+"/bye") {
		t.Fatalf("provider did not return to the app after logout: %d %q %s", p.status, p.location, p.body)
	}
	if p = b2.get(e.app.URL + dash); p.status != 303 {
		t.Fatalf("still signed in after logout: %d", p.status)
	}
}
