package authflow_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/invitekit/invitekit/store"
)

// TestFailures: each attack or mistake is refused with a clear page
// (status + code) and leaves the invited membership PENDING_INVITE and the
// browser signed out.
func TestFailures(t *testing.T) {
	e := newEnv(t, envOptions{})
	type fixture struct {
		e      *env
		b      *browser
		email  string
		userID string
		link   string
	}
	// callback replaces one query parameter of a callback URL (del: remove it).
	withParam := func(cb, k, v string, del bool) string {
		u, _ := url.Parse(cb)
		q := u.Query()
		if del {
			q.Del(k)
		} else {
			q.Set(k, v)
		}
		u.RawQuery = q.Encode()
		return u.String()
	}
	key, kid := e.op.signingKey(t)
	tampered := func(mutate func(map[string]any)) func(f *fixture) page {
		return func(f *fixture) page {
			f.e.startJoin(f.b, f.link, "join")
			cb := f.e.authorize(f.b, f.e.app.URL+"/login", f.email)
			f.e.tamper.set(mutate, key, kid, false)
			defer f.e.tamper.set(nil, nil, "", false)
			return f.b.get(cb)
		}
	}

	tests := []struct {
		name   string
		opUser func(email string) (sub, loginAs string, verified bool) // default: email verified
		run    func(f *fixture) page
		status int
		code   string
		want   store.MembershipStatus // default PENDING_INVITE
	}{
		{name: "state mismatch", status: 400, code: "state_mismatch", run: func(f *fixture) page {
			f.e.startJoin(f.b, f.link, "join")
			return f.b.get(withParam(f.e.authorize(f.b, f.e.app.URL+"/login", f.email), "state", "forged", false))
		}},
		{name: "missing state", status: 400, code: "state_missing", run: func(f *fixture) page {
			f.e.startJoin(f.b, f.link, "join")
			return f.b.get(withParam(f.e.authorize(f.b, f.e.app.URL+"/login", f.email), "state", "", true))
		}},
		{name: "callback in another browser (no login started)", status: 400, code: "login_not_started", run: func(f *fixture) page {
			f.e.startJoin(f.b, f.link, "join")
			cb := f.e.authorize(f.b, f.e.app.URL+"/login", f.email)
			return newBrowser(f.e.t).get(cb)
		}},
		{name: "nonce mismatch", status: 400, code: "nonce_mismatch",
			run: tampered(func(c map[string]any) { c["nonce"] = "attacker-nonce" })},
		{name: "wrong audience", status: 400, code: "id_token_audience",
			run: tampered(func(c map[string]any) { c["aud"] = []string{"another-app"} })},
		{name: "wrong issuer", status: 400, code: "id_token_issuer",
			run: tampered(func(c map[string]any) { c["iss"] = "https://evil.example/" })},
		{name: "expired ID token", status: 400, code: "id_token_expired",
			run: tampered(func(c map[string]any) {
				c["iat"] = time.Now().Add(-2 * time.Hour).Unix()
				c["exp"] = time.Now().Add(-time.Hour).Unix()
			})},
		{name: "bad signature", status: 400, code: "id_token_signature", run: func(f *fixture) page {
			f.e.startJoin(f.b, f.link, "join")
			cb := f.e.authorize(f.b, f.e.app.URL+"/login", f.email)
			f.e.tamper.set(func(map[string]any) {}, otherKey(f.e.t), kid, false)
			defer f.e.tamper.set(nil, nil, "", false)
			return f.b.get(cb)
		}},
		{name: "code replayed", status: 400, code: "code_rejected", run: func(f *fixture) page {
			f.e.startJoin(f.b, f.link, "join")
			cb := f.e.authorize(f.b, f.e.app.URL+"/login", f.email)
			f.e.tamper.set(nil, nil, "", true)
			defer f.e.tamper.set(nil, nil, "", false)
			return f.b.get(cb)
		}},
		{name: "provider error", status: 403, code: "access_denied", run: func(f *fixture) page {
			f.e.startJoin(f.b, f.link, "join")
			cb := f.e.authorize(f.b, f.e.app.URL+"/login", f.email)
			u, _ := url.Parse(cb)
			u.RawQuery = url.Values{"state": {u.Query().Get("state")}, "error": {"access_denied"},
				"error_description": {"The user <b>cancelled</b>"}}.Encode()
			p := f.b.get(u.String())
			if !strings.Contains(p.body, "The user &lt;b&gt;cancelled&lt;/b&gt;") {
				f.e.t.Errorf("provider's description not shown (escaped): %s", p.body)
			}
			return p
		}},
		{name: "mix-up: iss parameter of another provider", status: 400, code: "issuer_mismatch", run: func(f *fixture) page {
			f.e.startJoin(f.b, f.link, "join")
			return f.b.get(withParam(f.e.authorize(f.b, f.e.app.URL+"/login", f.email), "iss", "https://evil.example/", false))
		}},
		{name: "email mismatch", status: 403, code: "email_mismatch",
			opUser: func(email string) (string, string, bool) { return "mallory-" + email, "mallory-" + email, true },
			run: func(f *fixture) page {
				f.e.startJoin(f.b, f.link, "join")
				return f.b.get(f.e.authorize(f.b, f.e.app.URL+"/login", "mallory-"+f.email))
			}},
		{name: "email_verified false", status: 403, code: "email_not_verified",
			opUser: func(email string) (string, string, bool) { return "sub-" + email, email, false },
			run: func(f *fixture) page {
				f.e.startJoin(f.b, f.link, "join")
				return f.b.get(f.e.authorize(f.b, f.e.app.URL+"/login", f.email))
			}},
		{name: "stale token after resend", status: 404, code: "invalid_token", run: func(f *fixture) page {
			if _, err := f.e.svc.ResendInvitation(context.Background(), f.e.org.ID, f.userID, f.e.admin.ID); err != nil {
				f.e.t.Fatal(err)
			}
			if p := f.b.post(f.e.app.URL+"/accept", url.Values{"token": {token(f.link)}}); p.code() != "invalid_token" {
				f.e.t.Errorf("POST with stale token: %d %s", p.status, p.code())
			}
			return f.b.get(f.link)
		}},
		{name: "garbage token", status: 404, code: "invalid_token", run: func(f *fixture) page {
			return f.b.get(f.e.app.URL + "/accept?token=" + url.QueryEscape(token(f.link)+"x"))
		}},
		{name: "no token", status: 400, code: "missing_token", run: func(f *fixture) page {
			return f.b.get(f.e.app.URL + "/accept")
		}},
		{name: "expired invite at the link", status: 410, code: "invite_expired", run: func(f *fixture) page {
			f.e.clock.Add(16 * 24 * time.Hour)
			defer f.e.clock.Add(-16 * 24 * time.Hour)
			p := f.b.get(f.link)
			if !strings.Contains(p.body, `value="request_new"`) {
				f.e.t.Errorf("expired page offers no new invitation: %s", p.body)
			}
			if q := f.b.post(f.e.app.URL+"/accept", url.Values{"token": {token(f.link)}}); q.code() != "invite_expired" {
				f.e.t.Errorf("POST join of expired link: %d %s", q.status, q.code())
			}
			return p
		}},
		{name: "invite expires during login", status: 410, code: "invite_expired", run: func(f *fixture) page {
			f.e.startJoin(f.b, f.link, "join")
			cb := f.e.authorize(f.b, f.e.app.URL+"/login", f.email)
			f.e.clock.Add(16 * 24 * time.Hour)
			defer f.e.clock.Add(-16 * 24 * time.Hour)
			return f.b.get(cb)
		}},
		{name: "revoked during login", status: 410, code: "invite_revoked", want: "NONE", run: func(f *fixture) page {
			f.e.startJoin(f.b, f.link, "join")
			cb := f.e.authorize(f.b, f.e.app.URL+"/login", f.email)
			if err := f.e.svc.RevokeInvitation(context.Background(), f.e.org.ID, f.userID, f.e.admin.ID); err != nil {
				f.e.t.Fatal(err)
			}
			p := f.b.get(cb)
			if q := f.b.get(f.link); q.status != 410 || q.code() != "invite_revoked" {
				f.e.t.Errorf("revoked link page: %d %s", q.status, q.code())
			}
			return p
		}},
		{name: "open redirect //evil.com", status: 400, code: "return_to_invalid", run: func(f *fixture) page {
			f.e.startJoin(f.b, f.link, "join")
			return f.b.get(f.e.app.URL + "/login?return_to=" + url.QueryEscape("//evil.com"))
		}},
		{name: "open redirect https://evil.com", status: 400, code: "return_to_invalid", run: func(f *fixture) page {
			f.e.startJoin(f.b, f.link, "join")
			return f.b.get(f.e.app.URL + "/login?return_to=" + url.QueryEscape("https://evil.com"))
		}},
		{name: `open redirect /\evil.com`, status: 400, code: "return_to_invalid", run: func(f *fixture) page {
			f.e.startJoin(f.b, f.link, "join")
			return f.b.get(f.e.app.URL + "/login?return_to=" + url.QueryEscape(`/\evil.com`))
		}},
		{name: "open redirect with tab", status: 400, code: "return_to_invalid", run: func(f *fixture) page {
			f.e.startJoin(f.b, f.link, "join")
			return f.b.get(f.e.app.URL + "/login?return_to=" + url.QueryEscape("/\t/evil.com"))
		}},
		{name: "cross-origin POST of the accept form", status: 403, code: "cross_origin", run: func(f *fixture) page {
			req, _ := http.NewRequest("POST", f.e.app.URL+"/accept", strings.NewReader(url.Values{"token": {token(f.link)}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Sec-Fetch-Site", "cross-site")
			req.Header.Set("Origin", "https://evil.example")
			return f.b.do(req)
		}},
		{name: "join as signed-in account not enabled", status: 400, code: "bad_request", run: func(f *fixture) page {
			return f.b.post(f.e.app.URL+"/accept", url.Values{"token": {token(f.link)}, "action": {"join_as_signed_in"}})
		}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.t = t
			email := "case" + string(rune('a'+i/26)) + string(rune('a'+i%26)) + "@example.com"
			sub, loginAs, verified := "sub-"+email, email, true
			if tt.opUser != nil {
				sub, loginAs, verified = tt.opUser(email)
			}
			e.op.users.add(sub, loginAs, verified)
			userID, link := e.invite(email)
			f := &fixture{e: e, b: newBrowser(t), email: email, userID: userID, link: link}
			p := tt.run(f)
			p.expect(t, tt.status, tt.code)
			want := tt.want
			if want == "" {
				want = store.StatusPendingInvite
			}
			if got := e.status(userID); got != want {
				t.Fatalf("membership is %s, want %s", got, want)
			}
			if _, err := e.st.GetIdentity(context.Background(), e.op.issuer, sub); err == nil {
				t.Fatal("identity linked despite the refusal")
			}
			if p.status == 200 || p.status/100 == 3 {
				t.Fatalf("refusal with status %d", p.status)
			}
			if q := f.b.get(e.app.URL + "/orgs/" + e.org.ID + "/dashboard"); q.status != 303 {
				t.Fatalf("browser signed in after a refusal: %d", q.status)
			}
		})
	}
}

// TestTokenReused: two browsers hold the same link; the first to finish
// joins, the second is refused (409) and links nothing.
func TestTokenReused(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	e.op.users.add("ann-sub", "ann@example.com", true)
	e.op.users.addNamed("ann-other-sub", "ann-other", "ann@example.com", true)
	userID, link := e.invite("ann@example.com")
	a, b := newBrowser(t), newBrowser(t)
	e.startJoin(a, link, "join")
	e.startJoin(b, link, "join")
	cbA := e.authorize(a, e.app.URL+"/login", "ann@example.com")
	// b signs in as another provider account with the same email.
	cbB := e.authorize(b, e.app.URL+"/login", "ann-other")
	if p := a.get(cbA); p.status != 303 {
		t.Fatalf("first accept: %d %s", p.status, p.body)
	}
	b.get(cbB).expect(t, 410, "invite_used")
	b.post(e.app.URL+"/accept", url.Values{"token": {token(link)}}).expect(t, 410, "invite_used")
	if e.status(userID) != store.StatusActive {
		t.Fatal("first accept did not activate")
	}
	if _, err := e.st.GetIdentity(ctx, e.op.issuer, "ann-other-sub"); err == nil {
		t.Fatal("the reused token linked a second identity")
	}
}

// TestRequestNewInvitation: an expired link's page posts a request that
// lands in the organization's event feed.
func TestRequestNewInvitation(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	userID, link := e.invite("late@example.com")
	e.clock.Add(16 * 24 * time.Hour)
	b := newBrowser(t)
	p := b.get(link)
	p.expect(t, 410, "invite_expired")
	m := tokenRe.FindStringSubmatch(p.body)
	if m == nil || m[1] != token(link) {
		t.Fatalf("expired page has no request form with the token: %s", p.body)
	}
	p = b.post(e.app.URL+"/accept", url.Values{"token": {m[1]}, "action": {"request_new"}})
	if p.status != 200 || !strings.Contains(p.body, "new invitation") {
		t.Fatalf("request new: %d %s", p.status, p.body)
	}
	evs, err := e.st.ListEvents(ctx, e.org.ID, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if last := evs[len(evs)-1]; last.Type != store.EventInvitationRenewRequest || last.UserID != userID {
		t.Fatalf("last event %+v", last)
	}
	// A garbage token asks for nothing.
	n := len(evs)
	b.post(e.app.URL+"/accept", url.Values{"token": {"inv_x.y"}, "action": {"request_new"}}).expect(t, 404, "invalid_token")
	if evs, _ = e.st.ListEvents(ctx, e.org.ID, 0, 0); len(evs) != n {
		t.Fatal("an invalid request wrote an event")
	}
}

// TestJoinAsSignedIn: with the option enabled, an explicit choice accepts
// a different signed-in email and records the mismatch.
func TestJoinAsSignedIn(t *testing.T) {
	e := newEnv(t, envOptions{allowJoinAsSignedIn: true})
	ctx := context.Background()
	e.op.users.add("work-sub", "ann.work@corp.example", true)
	userID, link := e.invite("ann@example.com")
	b := newBrowser(t)
	if p := b.get(link); !strings.Contains(p.body, `value="join_as_signed_in"`) {
		t.Fatalf("accept page lacks the join-as-signed-in option: %s", p.body)
	}
	// The plain Join button still insists on the invited email.
	e.startJoin(b, link, "join")
	b.get(e.authorize(b, e.app.URL+"/login", "ann.work@corp.example")).expect(t, 403, "email_mismatch")
	if e.status(userID) != store.StatusPendingInvite {
		t.Fatal("mismatch accepted without the explicit choice")
	}
	e.startJoin(b, link, "join_as_signed_in")
	if p := b.get(e.app.URL + "/login"); !strings.Contains(p.location, "prompt=login") {
		t.Fatalf("retry after a mismatch does not force re-authentication: %q", p.location)
	}
	if p := b.get(e.authorize(b, e.app.URL+"/login", "ann.work@corp.example")); p.status != 303 {
		t.Fatalf("join as signed in: %d %s", p.status, p.body)
	}
	if e.status(userID) != store.StatusActive {
		t.Fatal("not activated")
	}
	evs, _ := e.st.ListEvents(ctx, e.org.ID, 0, 0)
	found := false
	for _, ev := range evs {
		if ev.Type == store.EventMembershipAccepted && ev.UserID == userID && ev.Data["email_mismatch"] == "true" {
			found = true
		}
	}
	if !found {
		t.Fatal("mismatch not recorded in the accept event")
	}
}

// TestLoginExpired: a login left at the provider longer than LoginTTL
// (default 10 minutes) is refused.
func TestLoginExpired(t *testing.T) {
	c := &clock{}
	e := newEnv(t, envOptions{flowNow: c.Now})
	e.op.users.add("ann-sub", "ann@example.com", true)
	userID, link := e.invite("ann@example.com")
	b := newBrowser(t)
	e.startJoin(b, link, "join")
	cb := e.authorize(b, e.app.URL+"/login", "ann@example.com")
	c.Add(11 * time.Minute)
	b.get(cb).expect(t, 400, "login_expired")
	if e.status(userID) != store.StatusPendingInvite {
		t.Fatal("membership changed")
	}
	// Starting again works (the pending invitation is still in the session).
	c.Add(-11 * time.Minute)
	if p := b.get(e.authorize(b, e.app.URL+"/login", "ann@example.com")); p.status != 303 {
		t.Fatalf("retry: %d %s", p.status, p.body)
	}
	if e.status(userID) != store.StatusActive {
		t.Fatal("retry did not activate")
	}
}
