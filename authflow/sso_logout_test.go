package authflow_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/invitekit/invitekit/invite"
)

// endSessionEndpoint is the end_session_endpoint of issuer's discovery.
func endSessionEndpoint(t *testing.T, issuer string) string {
	t.Helper()
	resp, err := http.Get(strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var d struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil || d.EndSession == "" {
		t.Fatalf("discovery of %s: end_session_endpoint %q, %v", issuer, d.EndSession, err)
	}
	return d.EndSession
}

// jwtClaims reads a JWT's payload (unverified: the provider verifies it).
func jwtClaims(t *testing.T, raw string) map[string]any {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("id_token_hint is not a JWT: %q", raw)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// expectEndSession checks that the logout redirect p goes to issuer's
// end_session_endpoint, with the hint of an ID token issuer gave sub for
// clientID, client_id and post_logout_redirect_uri; it returns the URL.
func (s *ssoEnv) expectEndSession(t *testing.T, p page, issuer, sub, clientID string) *url.URL {
	t.Helper()
	if p.status != http.StatusSeeOther {
		t.Fatalf("logout: %d %q %s", p.status, p.location, p.body)
	}
	u, err := url.Parse(p.location)
	if err != nil {
		t.Fatal(err)
	}
	want := endSessionEndpoint(t, issuer)
	if got := u.Scheme + "://" + u.Host + u.Path; got != want {
		t.Fatalf("logout goes to %q, want the connection's end_session_endpoint %q (the app's is %q)", p.location, want, endSessionEndpoint(t, s.def.issuer))
	}
	q := u.Query()
	if q.Get("client_id") != clientID || q.Get("post_logout_redirect_uri") != s.app.URL+"/bye" {
		t.Fatalf("logout parameters: %v", q)
	}
	c := jwtClaims(t, q.Get("id_token_hint"))
	aud := c["aud"]
	if a, ok := aud.([]any); ok && len(a) > 0 {
		aud = a[0]
	}
	if c["iss"] != issuer || c["sub"] != sub || aud != clientID {
		t.Fatalf("id_token_hint: iss %v sub %v aud %v; want %s %s %s", c["iss"], c["sub"], c["aud"], issuer, sub, clientID)
	}
	return u
}

// expectSignedOut checks that the kit's session is gone: the browser's
// request and one replaying the old cookie are both sent to sign in.
func (s *ssoEnv) expectSignedOut(t *testing.T, b *browser, oldCookie, dashboard string) {
	t.Helper()
	if p := b.get(dashboard); p.status != 303 || !strings.Contains(p.location, "/login") {
		t.Fatalf("dashboard after logout: %d %q", p.status, p.location)
	}
	req, _ := http.NewRequest("GET", dashboard, nil)
	req.Header.Set("Accept", "application/json")
	req.AddCookie(&http.Cookie{Name: s.sm.Cookie.Name, Value: oldCookie})
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the old session cookie after logout: %d, want 401", resp.StatusCode)
	}
}

// TestSSOLogoutThroughConnection: a session signed in through A's
// connection (a zitadel OP of its own) logs out at that provider, not at
// the app's: the kit's session ends, the redirect goes to the connection's
// end_session_endpoint (from its own discovery) with the ID token it
// issued as id_token_hint, the connection's client id and
// post_logout_redirect_uri; the provider accepts them, ends the session
// of that subject and client, and returns to the app. A connection that
// names another issuer since the sign-in, or was deleted, logs out
// locally only.
func TestSSOLogoutThroughConnection(t *testing.T) {
	s := newSSOEnv(t, false)
	ctx := context.Background()
	s.za.users.add("pat-a", "pat@example.com", true)
	_, link := s.inviteTo(s.a, "pat@example.com")
	b := newBrowser(t)
	if p := s.zitadel(b, s.za, s.join(b, link), "pat@example.com"); p.status != 303 || p.location != s.dashboard(s.a) {
		t.Fatalf("sign-in through A's connection: %d %q %s", p.status, p.location, p.body)
	}
	if p := b.get(s.dashboard(s.a)); p.status != 200 {
		t.Fatalf("dashboard: %d", p.status)
	}
	if p := b.get(s.app.URL + "/logout"); p.status != 200 || !strings.Contains(p.body, "of your sign-in provider") {
		t.Fatalf("logout page does not offer the provider's logout: %d %s", p.status, p.body)
	}
	old := b.cookie(s.app.URL, s.sm.Cookie.Name)
	u := s.expectEndSession(t, b.post(s.app.URL+"/logout", nil), s.za.issuer, "pat-a", "web")
	s.expectSignedOut(t, b, old, s.dashboard(s.a))

	// The provider takes the logout: it verifies the hint, ends pat's
	// session for the client and returns to the registered URI.
	p := b.get(u.String())
	if p.status/100 != 3 || !strings.HasPrefix(p.location, s.app.URL+"/bye") {
		t.Fatalf("connection's end_session_endpoint: %d %q %s", p.status, p.location, p.body)
	}
	if got := s.za.storage.ended(); !slices.Equal(got, []string{"pat-a web"}) {
		t.Fatalf("sessions the connection's provider ended: %q", got)
	}
	if got := s.def.storage.ended(); len(got) != 0 {
		t.Fatalf("the app's provider ended %q", got)
	}

	// Sign in again; then A's connection is repointed at another issuer
	// (the same connection id): its provider is not the one this session
	// came from, so logout stays local.
	p = s.zitadel(b, s.za, s.loginFor(s.a), "pat@example.com")
	if p.status != 303 {
		t.Fatalf("second sign-in: %d %q %s", p.status, p.location, p.body)
	}
	if _, err := s.svc.SaveSSOConnection(ctx, s.a.ID, invite.SSOConnectionRequest{
		Name: "Acme Okta", Issuer: s.bIssuer, ClientID: "web",
	}, ""); err != nil {
		t.Fatal(err)
	}
	old = b.cookie(s.app.URL, s.sm.Cookie.Name)
	if p = b.post(s.app.URL+"/logout", nil); p.status != 303 || p.location != s.app.URL+"/bye" {
		t.Fatalf("logout after the connection changed issuer: %d %q", p.status, p.location)
	}
	s.expectSignedOut(t, b, old, s.dashboard(s.a))

	// Back to A's provider, sign in, then the connection is deleted:
	// logout stays local too (and never falls back to the app's provider).
	if _, err := s.svc.SaveSSOConnection(ctx, s.a.ID, invite.SSOConnectionRequest{
		Name: "Acme Okta", Issuer: s.za.issuer, ClientID: "web",
	}, ""); err != nil {
		t.Fatal(err)
	}
	if p = s.zitadel(b, s.za, s.loginFor(s.a), "pat@example.com"); p.status != 303 {
		t.Fatalf("third sign-in: %d %q %s", p.status, p.location, p.body)
	}
	if err := s.svc.DeleteSSOConnection(ctx, s.a.ID, ""); err != nil {
		t.Fatal(err)
	}
	old = b.cookie(s.app.URL, s.sm.Cookie.Name)
	if p = b.post(s.app.URL+"/logout", nil); p.status != 303 || p.location != s.app.URL+"/bye" {
		t.Fatalf("logout after the connection was deleted: %d %q", p.status, p.location)
	}
	s.expectSignedOut(t, b, old, s.dashboard(s.a))
}

// authorizeSilently asks org's provider, through the app's login route,
// for an authorization with prompt=none and returns the query the
// provider sends back to the app's callback (code, or error).
func (s *ssoEnv) authorizeSilently(t *testing.T, b *browser, issuer, loginURL string) url.Values {
	t.Helper()
	p := b.get(loginURL)
	if p.status != 303 || !strings.HasPrefix(p.location, issuer) {
		t.Fatalf("login: %d %q", p.status, p.location)
	}
	u, _ := url.Parse(p.location)
	q := u.Query()
	q.Set("prompt", "none")
	u.RawQuery = q.Encode()
	p = b.get(u.String())
	for range 5 {
		if p.status/100 != 3 {
			break
		}
		if strings.HasPrefix(p.location, s.app.URL+"/auth/callback") {
			cb, _ := url.Parse(p.location)
			return cb.Query()
		}
		p = b.get(p.location)
	}
	t.Fatalf("prompt=none did not return to the app: %d %q %s", p.status, p.location, p.body)
	return nil
}

// TestSSOLogoutThroughConnectionPanva: the same against panva
// oidc-provider under Node as B's (enforcing) connection, whose sessions
// are real: while signed in, an authorization with prompt=none succeeds;
// logout goes to panva's end_session_endpoint with the right parameters,
// panva asks, the person confirms, panva ends its session and returns to
// post_logout_redirect_uri; a prompt=none authorization then fails
// login_required, and the kit's session is gone.
func TestSSOLogoutThroughConnectionPanva(t *testing.T) {
	s := newSSOEnv(t, true)
	_, link := s.inviteTo(s.b, "pat@example.com")
	b := newBrowser(t)
	if p := s.panvaSignIn(b, s.join(b, link), "pat"); p.status != 303 || p.location != s.dashboard(s.b) {
		t.Fatalf("sign-in through B's connection: %d %q %s", p.status, p.location, p.body)
	}
	if p := b.get(s.dashboard(s.b)); p.status != 200 {
		t.Fatalf("dashboard: %d", p.status)
	}
	if q := s.authorizeSilently(t, b, s.panva, s.loginFor(s.b)); q.Get("code") == "" || q.Get("error") != "" {
		t.Fatalf("prompt=none while signed in at panva: %v", q)
	}
	old := b.cookie(s.app.URL, s.sm.Cookie.Name)
	u := s.expectEndSession(t, b.post(s.app.URL+"/logout", nil), s.panva, "pat", "app")
	s.expectSignedOut(t, b, old, s.dashboard(s.b))

	// panva asks; "Yes, sign me out".
	p := b.get(u.String())
	if p.status != 200 || !formActionRe.MatchString(p.body) {
		t.Fatalf("panva's end_session_endpoint: %d %q %s", p.status, p.location, p.body)
	}
	form := url.Values{"logout": {"yes"}}
	for _, m := range hiddenRe.FindAllStringSubmatch(p.body, -1) {
		form.Set(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
	}
	action := html.UnescapeString(formActionRe.FindStringSubmatch(p.body)[1])
	if p = b.post(resolve(s.panva, action), form); p.status/100 != 3 || !strings.HasPrefix(p.location, s.app.URL+"/bye") {
		t.Fatalf("panva's logout confirmation: %d %q %s", p.status, p.location, p.body)
	}
	if q := s.authorizeSilently(t, b, s.panva, s.loginFor(s.b)); q.Get("error") != "login_required" {
		t.Fatalf("prompt=none after logout: %v, want error=login_required", q)
	}
}
