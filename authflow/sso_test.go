package authflow_test

import (
	"context"
	"encoding/json"
	"errors"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/alexedwards/scs/v2"

	"github.com/invitekit/invitekit/authflow"
	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/store"
)

// ssoEnv is an app whose default provider is one zitadel OP, with
// organization A (Acme) signing in through a second zitadel OP and B
// (Beta) through panva oidc-provider under Node: three real providers at
// once, each with its own discovery and keys.
type ssoEnv struct {
	*env
	def, za     *testOP
	zb          *testOP // B's provider when it is zitadel (without panva)
	panva       string  // B's issuer when B signs in through panva ("" otherwise)
	bIssuer     string  // B's issuer
	a, b        store.Organization
	connA       invite.SSOConnection
	connB       invite.SSOConnection
	panvaLogins map[string]map[string]any
}

// newSSOEnv builds it; without withPanva, B's provider is a third
// zitadel OP (the tests that need no Node).
func newSSOEnv(t *testing.T, withPanva bool) *ssoEnv {
	t.Helper()
	ctx := context.Background()
	e := &env{t: t, clock: &clock{}}
	var handler http.Handler
	e.app = newAppServer(t, &handler)
	s := &ssoEnv{env: e, panvaLogins: map[string]map[string]any{
		"pat":  {"email": "pat@example.com", "email_verified": true, "name": "Pat"},
		"boss": {"email": "boss@acme.example", "email_verified": true, "name": "Boss of Acme"},
	}}
	bClient, bSecret := "web", "secret"
	if withPanva {
		s.panva = startPanva(t, e.app.URL+"/auth/callback", e.app.URL+"/bye", s.panvaLogins)
		s.bIssuer, bClient, bSecret = s.panva, "app", "app-secret"
	} else {
		s.zb = startOP(t, e.app.URL+"/auth/callback", e.app.URL+"/bye", false)
		s.bIssuer = s.zb.issuer
	}
	s.def = startOP(t, e.app.URL+"/auth/callback", e.app.URL+"/bye", false)
	s.za = startOP(t, e.app.URL+"/auth/callback", e.app.URL+"/bye", false)
	e.op = s.def
	e.setupKit(t, func(sm *scs.SessionManager, svc *invite.Service) authflow.Config {
		return authflow.Config{
			Issuer: s.def.issuer, ClientID: "web", ClientSecret: "secret",
			RedirectURL: e.app.URL + "/auth/callback", DashboardURL: "/orgs/{orgID}/dashboard",
			EndSessionRedirect: e.app.URL + "/bye",
		}
	}, &handler)
	var err error
	s.a = e.org
	if s.b, _, err = e.svc.CreateOrganization(ctx, invite.CreateOrganizationRequest{Name: "Beta"}); err != nil {
		t.Fatal(err)
	}
	if s.connA, err = e.svc.SaveSSOConnection(ctx, s.a.ID, invite.SSOConnectionRequest{
		Name: "Acme Okta", Issuer: s.za.issuer, ClientID: "web", ClientSecret: ptr("secret"),
	}, ""); err != nil {
		t.Fatal(err)
	}
	if s.connB, err = e.svc.SaveSSOConnection(ctx, s.b.ID, invite.SSOConnectionRequest{
		Name: "Beta Entra", Issuer: s.bIssuer, ClientID: bClient, ClientSecret: ptr(bSecret), Enforce: true,
	}, ""); err != nil {
		t.Fatal(err)
	}
	return s
}

// inviteTo invites email into org and returns the accept link.
func (s *ssoEnv) inviteTo(org store.Organization, email string) (string, string) {
	s.t.Helper()
	res, err := s.svc.CreateUserAndMembership(context.Background(), org.ID, invite.InviteRequest{Email: email, ReturnAcceptLink: true})
	if err != nil {
		s.t.Fatal(err)
	}
	return res.User.ID, res.AcceptLink
}

// join opens link and posts Join; it returns where the app sends the
// browser to sign in.
func (s *ssoEnv) join(b *browser, link string) string {
	s.t.Helper()
	if p := b.get(link); p.status != 200 {
		s.t.Fatalf("accept page %d", p.status)
	}
	p := b.post(s.app.URL+"/accept", url.Values{"token": {token(link)}, "action": {"join"}})
	if p.status != 303 {
		s.t.Fatalf("accept POST: %d %s", p.status, p.body)
	}
	return p.location
}

// zitadel signs in at op as username from the app's login URL and returns
// the callback page.
func (s *ssoEnv) zitadel(b *browser, op *testOP, loginURL, username string) page {
	s.t.Helper()
	saved := s.op
	s.op = op
	defer func() { s.op = saved }()
	return b.get(s.authorize(b, loginURL, username))
}

// panvaSignIn signs in at panva as login from the app's login URL and
// returns the callback page.
func (s *ssoEnv) panvaSignIn(b *browser, loginURL, login string) page {
	s.t.Helper()
	p := b.get(loginURL)
	if p.status != 303 || !strings.HasPrefix(p.location, s.panva+"/auth?") {
		s.t.Fatalf("login towards panva: %d %q %s", p.status, p.location, p.body)
	}
	for range 12 {
		switch {
		case p.status/100 == 3 && strings.HasPrefix(p.location, s.app.URL+"/auth/callback"):
			return b.get(p.location)
		case p.status/100 == 3:
			p = b.get(p.location)
		case p.status == 200 && formActionRe.MatchString(p.body):
			form := url.Values{}
			for _, m := range hiddenRe.FindAllStringSubmatch(p.body, -1) {
				form.Set(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
			}
			if strings.Contains(p.body, `name="login"`) {
				form.Set("login", login)
				form.Set("password", "any")
			}
			m := formActionRe.FindStringSubmatch(p.body)
			p = b.post(resolve(s.panva, html.UnescapeString(m[1])), form)
		default:
			s.t.Fatalf("unexpected panva page: %d %q %s", p.status, p.location, p.body)
		}
	}
	s.t.Fatal("too many steps at panva")
	return page{}
}

func (s *ssoEnv) dashboard(org store.Organization) string {
	return s.app.URL + "/orgs/" + org.ID + "/dashboard"
}

func (s *ssoEnv) loginFor(org store.Organization) string {
	return s.app.URL + "/login?org=" + org.ID
}

// TestSSOTwoProvidersInviteAcceptLoginSwitch: a person is invited to A
// (zitadel) and B (panva); each accept link signs them in through that
// organization's connection; the membership names the connection; the
// session reaches the organization it signed in for, and switching to
// the other signs in again through the other's provider.
func TestSSOTwoProvidersInviteAcceptLoginSwitch(t *testing.T) {
	s := newSSOEnv(t, true)
	ctx := context.Background()
	s.za.users.add("pat-a", "pat@example.com", true)
	b := newBrowser(t)

	// B's provider passes the test before saving, as A's does.
	if res, err := authflow.TestConnection(ctx, nil, s.panva); err != nil || res.Keys == 0 {
		t.Fatalf("panva: %+v %v", res, err)
	}

	// A: invite, accept through A's connection (zitadel), ACTIVE.
	pat, linkA := s.inviteTo(s.a, "pat@example.com")
	loginA := s.join(b, linkA)
	if loginA != s.loginFor(s.a) {
		t.Fatalf("accept of A goes to %q", loginA)
	}
	p := s.zitadel(b, s.za, loginA, "pat@example.com")
	if p.status != 303 || p.location != s.dashboard(s.a) {
		t.Fatalf("A callback: %d %q %s", p.status, p.location, p.body)
	}
	m, err := s.st.GetMembership(ctx, s.a.ID, pat)
	if err != nil || m.Status != store.StatusActive || m.PrimaryIdentityProvider != "Acme Okta" || m.Profile.Name != "First pat-a" {
		t.Fatalf("A membership: %+v %v", m, err) // the name from zitadel's UserInfo
	}
	if p = b.get(s.dashboard(s.a)); p.status != 200 {
		t.Fatalf("A dashboard: %d", p.status)
	}

	// B: invite, accept through B's connection (panva), ACTIVE.
	_, linkB := s.inviteTo(s.b, "pat@example.com")
	loginB := s.join(b, linkB)
	if loginB != s.loginFor(s.b) {
		t.Fatalf("accept of B goes to %q", loginB)
	}
	p = s.panvaSignIn(b, loginB, "pat")
	if p.status != 303 || p.location != s.dashboard(s.b) {
		t.Fatalf("B callback: %d %q %s", p.status, p.location, p.body)
	}
	if m, _ := s.st.GetMembership(ctx, s.b.ID, pat); m.Status != store.StatusActive || m.PrimaryIdentityProvider != "Beta Entra" || m.Profile.Name != "Pat" {
		t.Fatalf("B membership: %+v", m) // the name from panva's claims
	}
	if p = b.get(s.dashboard(s.b)); p.status != 200 {
		t.Fatalf("B dashboard: %d", p.status)
	}
	ev := s.lastEvent(t, s.b.ID)
	if ev.Type != store.EventUserLoggedIn || ev.Data["connection_id"] != s.connB.ID {
		t.Fatalf("B's sign-in event: %+v", ev)
	}
	// "My organizations" of a session from B's connection shows what it
	// reaches: B, not A.
	if p = b.get(s.app.URL + authflow.DefaultOrganizationsPath); p.status != 200 ||
		!strings.Contains(p.body, `data-org="`+s.b.ID+`"`) || strings.Contains(p.body, `data-org="`+s.a.ID+`"`) {
		t.Fatalf("my organizations through B's connection: %d %s", p.status, p.body)
	}

	// Switch to A: signed in through B's connection, so A sends the
	// person to sign in through A's; then back to B likewise.
	for range 2 {
		p = b.get(s.dashboard(s.a))
		if p.status != 303 || !strings.HasPrefix(p.location, s.loginFor(s.a)) {
			t.Fatalf("switch to A: %d %q", p.status, p.location)
		}
		if p = s.zitadel(b, s.za, p.location, "pat@example.com"); p.status != 303 || p.location != s.dashboard(s.a) {
			t.Fatalf("sign-in for A: %d %q %s", p.status, p.location, p.body)
		}
		if p = b.get(s.dashboard(s.a)); p.status != 200 {
			t.Fatalf("A after switch: %d", p.status)
		}
		p = b.get(s.dashboard(s.b))
		if p.status != 303 || !strings.HasPrefix(p.location, s.loginFor(s.b)) {
			t.Fatalf("switch to B: %d %q", p.status, p.location)
		}
		if p = s.panvaSignIn(b, p.location, "pat"); p.status != 303 {
			t.Fatalf("sign-in for B: %d %q %s", p.status, p.location, p.body)
		}
		if p = b.get(s.dashboard(s.b)); p.status != 200 {
			t.Fatalf("B after switch: %d", p.status)
		}
	}
}

// TestSSOEnforcement: B enforces its connection. The app's default
// provider signs pat in (A does not enforce) but cannot reach B; neither
// can A's provider; B's own does. JSON requests get 403 sso_required.
func TestSSOEnforcement(t *testing.T) {
	s := newSSOEnv(t, true)
	s.def.users.add("pat-d", "pat@example.com", true)
	s.za.users.add("pat-a", "pat@example.com", true)
	// Pat joins A and B by invitation, each through its connection (an
	// email link by one organization's provider alone is refused for a
	// person who belongs to the other: TestSSOMaliciousTenantProvider).
	b := newBrowser(t)
	_, linkA := s.inviteTo(s.a, "pat@example.com")
	if p := s.zitadel(b, s.za, s.join(b, linkA), "pat@example.com"); p.status != 303 {
		t.Fatalf("accept A: %d %s", p.status, p.body)
	}
	_, linkB := s.inviteTo(s.b, "pat@example.com")
	if p := s.panvaSignIn(b, s.join(b, linkB), "pat"); p.status != 303 {
		t.Fatalf("accept B: %d %s", p.status, p.body)
	}

	// The default provider.
	if p := s.zitadel(b, s.def, s.app.URL+"/login", "pat@example.com"); p.status != 303 {
		t.Fatalf("default sign-in: %d %q %s", p.status, p.location, p.body)
	}
	if p := b.get(s.dashboard(s.a)); p.status != 200 {
		t.Fatalf("default provider, A: %d", p.status)
	}
	p := b.get(s.dashboard(s.b))
	if p.status != 303 || !strings.HasPrefix(p.location, s.loginFor(s.b)) {
		t.Fatalf("default provider, B (enforced): %d %q", p.status, p.location)
	}
	if code := jsonCode(t, b, s.dashboard(s.b)); code != "sso_required" {
		t.Fatalf("default provider, B as JSON: %q", code)
	}
	// A's provider (another organization's connection).
	if p := s.zitadel(b, s.za, s.loginFor(s.a), "pat@example.com"); p.status != 303 {
		t.Fatalf("A sign-in: %d %s", p.status, p.body)
	}
	if code := jsonCode(t, b, s.dashboard(s.b)); code != "sso_required" {
		t.Fatalf("A's connection, B: %q", code)
	}
	// B's own.
	if p := s.panvaSignIn(b, s.loginFor(s.b), "pat"); p.status != 303 {
		t.Fatalf("B sign-in: %d %s", p.status, p.body)
	}
	if p := b.get(s.dashboard(s.b)); p.status != 200 {
		t.Fatalf("B's connection, B: %d", p.status)
	}
}

// TestSSOMaliciousTenantProvider: B's provider (panva, configured by B's
// admins) asserts the email of A's admin. It signs nobody into A, links
// nothing to A's admin (A does not trust B's connection), and A's admin
// still signs in through the app's provider with their own identity.
func TestSSOMaliciousTenantProvider(t *testing.T) {
	s := newSSOEnv(t, true)
	ctx := context.Background()
	no := false
	boss, err := s.svc.CreateUserAndMembership(ctx, s.a.ID, invite.InviteRequest{Email: "boss@acme.example", Roles: []string{"admin"}, SendInvitationEmail: &no})
	if err != nil {
		t.Fatal(err)
	}
	s.def.users.add("boss-d", "boss@acme.example", true)
	// A's admin signs in through the app's provider: linked there.
	b := newBrowser(t)
	if p := s.zitadel(b, s.def, s.app.URL+"/login", "boss@acme.example"); p.status != 303 {
		t.Fatalf("A's admin: %d %s", p.status, p.body)
	}
	countLinks := func() int {
		n := 0
		for _, org := range []store.Organization{s.a, s.b} {
			for _, ev := range s.events(t, org.ID) {
				if ev.Type == invite.EventIdentityLinked || ev.Data["identity_linked"] == "true" {
					n++
				}
			}
		}
		return n
	}
	links := countLinks()

	// 1. B's provider for B: A's admin is no member of B.
	evil := newBrowser(t)
	s.panvaSignIn(evil, s.loginFor(s.b), "boss").expect(t, 403, "invitation_required")
	// 2. B adds A's admin directly (it may add any email): B's provider
	// still may not link to a member of A.
	if _, err := s.svc.CreateUserAndMembership(ctx, s.b.ID, invite.InviteRequest{Email: "boss@acme.example", SendInvitationEmail: &no}); err != nil {
		t.Fatal(err)
	}
	s.panvaSignIn(evil, s.loginFor(s.b), "boss").expect(t, 403, "email_link_untrusted")
	// 3. B's provider aimed at A (a forged login for A through B's
	// provider is impossible: ?org=A goes to A's provider), and the
	// browser reaches nothing of A.
	if p := evil.get(s.dashboard(s.a)); p.status != 303 || !strings.HasPrefix(p.location, s.app.URL+"/login") {
		t.Fatalf("evil browser, A: %d %q", p.status, p.location)
	}
	if countLinks() != links {
		t.Fatal("an identity was linked to A's admin")
	}
	// A's admin still signs in as before and reaches A.
	if p := b.get(s.dashboard(s.a)); p.status != 200 {
		t.Fatalf("A's admin afterwards: %d", p.status)
	}
	if u, err := s.st.GetUser(ctx, boss.User.ID); err != nil || u.Email != "boss@acme.example" {
		t.Fatalf("A's admin: %+v %v", u, err)
	}
}

// TestSSOConnectionUnreachable: a connection that cannot be reached
// answers 503 for its organization only; the app's provider and the
// other organization's connection go on.
func TestSSOConnectionUnreachable(t *testing.T) {
	s := newSSOEnv(t, false)
	ctx := context.Background()
	if _, err := s.svc.SaveSSOConnection(ctx, s.a.ID, invite.SSOConnectionRequest{
		Name: "Acme Okta", Issuer: "http://127.0.0.1:1/", ClientID: "web",
	}, ""); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t)
	b.get(s.loginFor(s.a)).expect(t, 503, "provider_unavailable")
	if p := b.get(s.loginFor(s.b)); p.status != 303 || !strings.HasPrefix(p.location, s.bIssuer+"auth?") {
		t.Fatalf("B while A is down: %d %q", p.status, p.location)
	}
	if p := b.get(s.app.URL + "/login"); p.status != 303 || !strings.HasPrefix(p.location, s.def.issuer+"auth?") {
		t.Fatalf("default while A is down: %d %q", p.status, p.location)
	}
}

// TestTestConnection: the check before saving finds discovery and keys of
// both real providers, and names what fails for others.
func TestTestConnection(t *testing.T) {
	s := newSSOEnv(t, false)
	ctx := context.Background()
	for _, iss := range []string{s.za.issuer, s.bIssuer} {
		res, err := authflow.TestConnection(ctx, nil, iss)
		if err != nil || res.Keys == 0 || res.JWKSURI == "" {
			t.Fatalf("%s: %+v %v", iss, res, err)
		}
	}
	for _, iss := range []string{"http://127.0.0.1:1/", s.app.URL + "/", strings.TrimSuffix(s.za.issuer, "/") + "/other/"} {
		_, err := authflow.TestConnection(ctx, nil, iss)
		var fe *store.FieldError
		if !errors.As(err, &fe) || fe.Code != store.CodeSSOTestFailed || fe.Field != "issuer" {
			t.Fatalf("%s: %v", iss, err)
		}
	}
}

func jsonCode(t *testing.T, b *browser, u string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	req.Header.Set("Accept", "application/json")
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Error struct{ Code string } `json:"error"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	if resp.StatusCode != 403 {
		t.Fatalf("%s: status %d", u, resp.StatusCode)
	}
	return body.Error.Code
}

func (s *ssoEnv) events(t *testing.T, orgID string) []store.Event {
	t.Helper()
	evs, err := s.st.ListEvents(context.Background(), orgID, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func (s *ssoEnv) lastEvent(t *testing.T, orgID string) store.Event {
	evs := s.events(t, orgID)
	return evs[len(evs)-1]
}

// TestSSOEmailFirst: the email-first page sends an email whose domain A
// verified to A's connection (with login_hint), any other email to the
// app's provider, and asks again for something that is not an email.
func TestSSOEmailFirst(t *testing.T) {
	s := newSSOEnv(t, false)
	ctx := context.Background()
	ds, ok := any(s.st).(store.DomainStore)
	if !ok {
		t.Skip("the store has no verified domains")
	}
	now := s.clock.Now().UTC()
	if err := ds.CreateDomain(ctx, store.Domain{OrganizationID: s.a.ID, Domain: "acme.example", Token: "tok", CreateTime: now, UpdateTime: now},
		store.Event{OrganizationID: s.a.ID, Type: "domain.claimed", CreateTime: now}); err != nil {
		t.Fatal(err)
	}
	if _, err := ds.RecordDomainCheck(ctx, s.a.ID, "acme.example", store.DomainCheck{Found: true, At: now}); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t)
	p := b.get(s.app.URL + "/login/sso?return_to=/orgs/x")
	if p.status != 200 || !strings.Contains(p.body, `id="sso-email"`) || !strings.Contains(p.body, `name="return_to" value="/orgs/x"`) {
		t.Fatalf("email-first page: %d %s", p.status, p.body)
	}
	p = b.get(s.app.URL + "/login/sso?email=Pat@ACME.example&return_to=/orgs/x")
	u, _ := url.Parse(p.location)
	if p.status != 303 || u.Path != "/login" || u.Query().Get("org") != s.a.ID || u.Query().Get("login_hint") != "pat@acme.example" || u.Query().Get("return_to") != "/orgs/x" {
		t.Fatalf("verified domain: %d %q", p.status, p.location)
	}
	if p = b.get(p.location); p.status != 303 || !strings.HasPrefix(p.location, s.za.issuer+"auth?") || !strings.Contains(p.location, "login_hint=pat%40acme.example") {
		t.Fatalf("towards A's provider: %d %q", p.status, p.location)
	}
	p = b.get(s.app.URL + "/login/sso?email=pat@elsewhere.example")
	if u, _ = url.Parse(p.location); p.status != 303 || u.Query().Get("org") != "" || u.Query().Get("login_hint") != "pat@elsewhere.example" {
		t.Fatalf("other domain: %d %q", p.status, p.location)
	}
	p = b.get(s.app.URL + "/login/sso?email=not-an-email")
	if p.status != 422 || !strings.Contains(p.body, `aria-invalid="true"`) {
		t.Fatalf("bad email: %d %s", p.status, p.body)
	}
	b.get(s.app.URL+"/login/sso?return_to=//evil.example").expect(t, 400, "return_to_invalid")
}
