package authflow_test

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/store"
)

// TestSSOMisbehavingConnection: the misbehaving-provider cases, run
// through an organization's connection (a second zitadel OP, its ID
// tokens rewritten and re-signed by the test's transport). Each is
// refused with its code and leaves the invitation PENDING_INVITE; the
// connection is held to its own issuer, client and keys — a token of the
// app's provider, or signed with its key, does not pass as the
// connection's.
func TestSSOMisbehavingConnection(t *testing.T) {
	e := newEnv(t, envOptions{})
	conn := startOP(t, e.app.URL+"/auth/callback", e.app.URL+"/bye", false)
	if _, err := e.svc.SaveSSOConnection(context.Background(), e.org.ID, invite.SSOConnectionRequest{
		Name: "Acme Okta", Issuer: conn.issuer, ClientID: "web", ClientSecret: ptr("secret"),
	}, ""); err != nil {
		t.Fatal(err)
	}
	key, kid := conn.signingKey(t)
	appKey, appKid := e.op.signingKey(t)
	for i, tc := range []struct {
		name   string
		mutate func(map[string]any)
		wrong  bool // sign with the app provider's key
		iss    string
		code   string
	}{
		{name: "nonce", mutate: func(c map[string]any) { c["nonce"] = "attacker" }, code: "nonce_mismatch"},
		{name: "audience: the app's client elsewhere", mutate: func(c map[string]any) { c["aud"] = []string{"another-app"} }, code: "id_token_audience"},
		{name: "issuer: the app's provider", mutate: func(c map[string]any) { c["iss"] = e.op.issuer }, code: "id_token_issuer"},
		{name: "expired", mutate: func(c map[string]any) {
			c["iat"] = time.Now().Add(-2 * time.Hour).Unix()
			c["exp"] = time.Now().Add(-time.Hour).Unix()
		}, code: "id_token_expired"},
		{name: "signed with the app provider's key", mutate: func(map[string]any) {}, wrong: true, code: "id_token_signature"},
		{name: "azp of another client", mutate: func(c map[string]any) { c["azp"] = "another-app" }, code: "id_token_azp_mismatch"},
		{name: "iat missing", mutate: func(c map[string]any) { delete(c, "iat") }, code: "id_token_iat_missing"},
		{name: "RFC 9207 iss of the app's provider", iss: e.op.issuer, code: "issuer_mismatch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			email := "m" + string(rune('a'+i)) + "@example.com"
			conn.users.add("sub-"+email, email, true)
			userID, link := e.invite(email)
			b := newBrowser(t)
			e.startJoinTo(b, link, e.app.URL+"/login?org="+e.org.ID)
			saved := e.op
			e.op = conn
			cb := e.authorize(b, e.app.URL+"/login?org="+e.org.ID, email)
			e.op = saved
			if tc.iss != "" {
				u, _ := url.Parse(cb)
				q := u.Query()
				q.Set("iss", tc.iss)
				u.RawQuery = q.Encode()
				cb = u.String()
			}
			if tc.mutate != nil {
				k, id := key, kid
				if tc.wrong {
					k, id = appKey, appKid
				}
				e.tamper.set(tc.mutate, k, id, false)
				defer e.tamper.set(nil, nil, "", false)
			}
			p := b.get(cb)
			if p.code() != tc.code || p.status/100 != 4 {
				t.Fatalf("got %d %q, want %q", p.status, p.code(), tc.code)
			}
			if st := e.status(userID); st != store.StatusPendingInvite {
				t.Fatalf("membership %s after a refused sign-in", st)
			}
		})
	}
}

// startJoinTo is startJoin for an invitation whose Join goes to login.
func (e *env) startJoinTo(b *browser, link, login string) {
	e.t.Helper()
	if p := b.get(link); p.status != 200 {
		e.t.Fatalf("accept page %d", p.status)
	}
	p := b.post(e.app.URL+"/accept", url.Values{"token": {token(link)}, "action": {"join"}})
	if p.status != 303 || p.location != login {
		e.t.Fatalf("accept POST: %d %q, want %q", p.status, p.location, login)
	}
}
