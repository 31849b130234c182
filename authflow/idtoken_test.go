package authflow_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/invitekit/invitekit/authflow"
	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/store"
)

// liarEnv is the kit next to a liarOP, with max_age sent (MaxAuthAge) when
// maxAuthAge is positive; ClockSkew and IDTokenMaxAge are the defaults
// (2 and 10 minutes).
func liarEnv(t *testing.T, maxAuthAge time.Duration) (*env, *liarOP) {
	t.Helper()
	e := &env{t: t, clock: &clock{}}
	var handler http.Handler
	e.app = newAppServer(t, &handler)
	op := startLiarOP(t, e.app.URL+"/auth/callback")
	e.setupKit(t, func(*scs.SessionManager, *invite.Service) authflow.Config {
		return authflow.Config{
			Issuer: op.issuer, ClientID: "web", ClientSecret: "secret",
			RedirectURL: e.app.URL + "/auth/callback", DashboardURL: "/orgs/{orgID}/dashboard",
			MaxAuthAge: maxAuthAge,
		}
	}, &handler)
	return e, op
}

// liarSignIn follows /login to the liar OP and back, and returns the
// callback's answer.
func liarSignIn(t *testing.T, e *env, b *browser) page {
	t.Helper()
	p := b.get(e.app.URL + "/login")
	if p.status != 303 || !strings.Contains(p.location, "/authorize?") {
		t.Fatalf("login: %d %q %s", p.status, p.location, p.body)
	}
	p = b.get(p.location)
	if p.status != 303 || !strings.HasPrefix(p.location, e.app.URL+"/auth/callback?") {
		t.Fatalf("provider /authorize: %d %q %s", p.status, p.location, p.body)
	}
	return b.get(p.location)
}

// TestIDTokenRules: the rules of OpenID Connect Core 3.1.3.7 and 3.1.3.8
// that go-oidc leaves to the relying party (azp, iat, nbf, auth_time with
// max_age) and the UserInfo subject rule, each against a provider that lies
// in exactly that one way (go-oidc accepts every one of these tokens). Each
// lie is refused with its own page and code, and the invitation stays
// PENDING_INVITE with nothing linked or written; the honest provider, and
// tokens inside the tolerances, get in.
func TestIDTokenRules(t *testing.T) {
	const maxAuthAge = 5 * time.Minute
	e, op := liarEnv(t, maxAuthAge)
	ctx := context.Background()

	tests := []struct {
		name        string
		lie         func(c map[string]any, now time.Time)
		userinfoSub string
		status      int
		code        string // "" = accepted
	}{
		{name: "honest"},
		{name: "two audiences, azp is this client", lie: func(c map[string]any, _ time.Time) { c["aud"] = []string{"web", "api"} }},
		{name: "no azp with one audience", lie: func(c map[string]any, _ time.Time) { delete(c, "azp") }},
		{name: "iat ahead within the skew", lie: func(c map[string]any, now time.Time) { c["iat"] = now.Add(time.Minute).Unix() }},
		{name: "iat 9 minutes old", lie: func(c map[string]any, now time.Time) { c["iat"] = now.Add(-9 * time.Minute).Unix() }},
		{name: "nbf ahead within the skew", lie: func(c map[string]any, now time.Time) { c["nbf"] = now.Add(time.Minute).Unix() }},
		{name: "no nbf", lie: func(c map[string]any, _ time.Time) { delete(c, "nbf") }},
		{name: "auth_time 6 minutes old (max_age 5m + skew)", lie: func(c map[string]any, now time.Time) { c["auth_time"] = now.Add(-6 * time.Minute).Unix() }},

		{name: "wrong azp", status: 400, code: authflow.CodeIDTokenAZPMismatch,
			lie: func(c map[string]any, _ time.Time) { c["azp"] = "another-app" }},
		{name: "missing azp with two audiences", status: 400, code: authflow.CodeIDTokenAZPMissing,
			lie: func(c map[string]any, _ time.Time) { c["aud"] = []string{"web", "api"}; delete(c, "azp") }},
		{name: "iat missing", status: 400, code: authflow.CodeIDTokenIATMissing,
			lie: func(c map[string]any, _ time.Time) { delete(c, "iat") }},
		{name: "iat in the future", status: 400, code: authflow.CodeIDTokenIATFuture,
			lie: func(c map[string]any, now time.Time) { c["iat"] = now.Add(10 * time.Minute).Unix() }},
		{name: "iat too old", status: 400, code: authflow.CodeIDTokenTooOld,
			lie: func(c map[string]any, now time.Time) { c["iat"] = now.Add(-30 * time.Minute).Unix() }},
		{name: "nbf in the future", status: 400, code: authflow.CodeIDTokenNotYetValid,
			// Within go-oidc's own 5-minute nbf leeway: only our check refuses.
			lie: func(c map[string]any, now time.Time) { c["nbf"] = now.Add(4 * time.Minute).Unix() }},
		{name: "auth_time too old with max_age", status: 400, code: authflow.CodeIDTokenAuthTimeTooOld,
			lie: func(c map[string]any, now time.Time) { c["auth_time"] = now.Add(-10 * time.Minute).Unix() }},
		{name: "auth_time missing with max_age", status: 400, code: authflow.CodeIDTokenAuthTimeMissing,
			lie: func(c map[string]any, _ time.Time) { delete(c, "auth_time") }},
		{name: "userinfo sub different", status: 400, code: authflow.CodeUserInfoSubjectMismatch, userinfoSub: "someone-else"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.t = t
			email := "liar" + string(rune('a'+i)) + "@example.com"
			sub := "sub-" + email
			userID, link := e.invite(email)
			op.as(sub, email, tt.lie, tt.userinfoSub)
			b := newBrowser(t)
			e.startJoin(b, link, "join")
			evBefore, _ := e.st.ListEvents(ctx, e.org.ID, 0, 1000)
			calls := op.userinfoCalls.Load()
			p := liarSignIn(t, e, b)

			if q := op.authorizeQuery(); q.Get("max_age") != "300" {
				t.Errorf("authorization request max_age = %q, want 300", q.Get("max_age"))
			}
			// The ID token has no email, so UserInfo is read once it passes.
			wantCalls := int64(0)
			if tt.code == "" || tt.userinfoSub != "" {
				wantCalls = 1
			}
			if got := op.userinfoCalls.Load() - calls; got != wantCalls {
				t.Errorf("UserInfo calls %d, want %d", got, wantCalls)
			}
			if tt.code == "" {
				if p.status != 303 || p.location != e.app.URL+"/orgs/"+e.org.ID+"/dashboard" {
					t.Fatalf("callback: %d %q %s", p.status, p.location, p.body)
				}
				if e.status(userID) != store.StatusActive {
					t.Fatal("not ACTIVE after an acceptable sign-in")
				}
				if ident, err := e.st.GetIdentity(ctx, op.issuer, sub); err != nil || ident.UserID != userID {
					t.Fatalf("identity: %+v %v", ident, err)
				}
				return
			}
			p.expect(t, tt.status, tt.code)
			if !strings.Contains(p.body, `href="/login"`) {
				t.Errorf("the page offers no new sign-in: %s", p.body)
			}
			if got := e.status(userID); got != store.StatusPendingInvite {
				t.Fatalf("membership is %s, want PENDING_INVITE", got)
			}
			if _, err := e.st.GetIdentity(ctx, op.issuer, sub); err == nil {
				t.Fatal("identity linked despite the refusal")
			}
			if evAfter, _ := e.st.ListEvents(ctx, e.org.ID, 0, 1000); len(evAfter) != len(evBefore) {
				t.Fatalf("events %d → %d: the refusal wrote something", len(evBefore), len(evAfter))
			}
			if q := b.get(e.app.URL + "/orgs/" + e.org.ID + "/dashboard"); q.status != 303 {
				t.Fatalf("browser signed in after a refusal: %d", q.status)
			}
			// The invitation is still pending in this browser: the honest
			// provider lets the same person join at the next attempt.
			op.as(sub, email, nil, "")
			if p := liarSignIn(t, e, b); p.status != 303 || e.status(userID) != store.StatusActive {
				t.Fatalf("honest retry: %d %s (membership %s)", p.status, p.body, e.status(userID))
			}
		})
	}
}

// TestIDTokenAuthTimeWithoutMaxAge: without Config.MaxAuthAge no max_age is
// sent and auth_time is not required, nor bounded.
func TestIDTokenAuthTimeWithoutMaxAge(t *testing.T) {
	e, op := liarEnv(t, 0)
	for i, lie := range []func(map[string]any, time.Time){
		func(c map[string]any, _ time.Time) { delete(c, "auth_time") },
		func(c map[string]any, now time.Time) { c["auth_time"] = now.Add(-48 * time.Hour).Unix() },
	} {
		email := "old" + string(rune('a'+i)) + "@example.com"
		userID, link := e.invite(email)
		op.as("sub-"+email, email, lie, "")
		b := newBrowser(t)
		e.startJoin(b, link, "join")
		if p := liarSignIn(t, e, b); p.status != 303 || e.status(userID) != store.StatusActive {
			t.Fatalf("case %d: %d %s", i, p.status, p.body)
		}
		if q := op.authorizeQuery(); q.Has("max_age") {
			t.Errorf("max_age sent without MaxAuthAge: %q", q.Get("max_age"))
		}
	}
}

// TestAuthTimeTooOldForcesLogin: after an auth_time refusal the next login
// asks the provider to authenticate again (prompt=login).
func TestAuthTimeTooOldForcesLogin(t *testing.T) {
	e, op := liarEnv(t, time.Minute)
	email := "stale@example.com"
	userID, link := e.invite(email)
	op.as("sub-"+email, email, func(c map[string]any, now time.Time) { c["auth_time"] = now.Add(-time.Hour).Unix() }, "")
	b := newBrowser(t)
	e.startJoin(b, link, "join")
	liarSignIn(t, e, b).expect(t, 400, authflow.CodeIDTokenAuthTimeTooOld)
	if op.authorizeQuery().Get("prompt") != "" {
		t.Fatal("prompt sent on the first attempt")
	}
	op.as("sub-"+email, email, nil, "")
	if p := liarSignIn(t, e, b); p.status != 303 || e.status(userID) != store.StatusActive {
		t.Fatalf("retry: %d %s", p.status, p.body)
	}
	if q := op.authorizeQuery(); q.Get("prompt") != "login" || q.Get("max_age") != "60" {
		t.Errorf("retry authorization prompt=%q max_age=%q, want login and 60", q.Get("prompt"), q.Get("max_age"))
	}
}
