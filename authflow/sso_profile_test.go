package authflow_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/invite/inviteapi"
	"github.com/invitekit/invitekit/store"
)

// apiView is orgID's JSON API view (GET /organizations/{orgID}/users/{userID})
// of userID: its membership's primaryIdentityProvider and its
// userProfile.name, and the whole user object.
func (s *ssoEnv) apiView(t *testing.T, orgID, userID string) (provider, name string, user map[string]any) {
	t.Helper()
	h, err := inviteapi.NewHandler(s.svc, func(*http.Request, string, inviteapi.Action) (string, error) { return "usr_api", nil }, inviteapi.HandlerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/organizations/"+orgID+"/users/"+userID, nil))
	var body struct {
		User map[string]any `json:"user"`
	}
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &body) != nil {
		t.Fatalf("GET %s's view of %s: %d %s", orgID, userID, rec.Code, rec.Body)
	}
	ms, _ := body.User["memberships"].([]any)
	if len(ms) != 1 {
		t.Fatalf("%s's view has %d memberships: %v", orgID, len(ms), body.User)
	}
	provider, _ = ms[0].(map[string]any)["primaryIdentityProvider"].(string)
	name, _ = body.User["userProfile"].(map[string]any)["name"].(string)
	return provider, name, body.User
}

// TestSSOSignInNamesConnectionInAPI: through real providers (zitadel's OP,
// one per connection), a member that A added without a name signs in
// through A's connection: A's JSON API view then names the connection as
// primaryIdentityProvider and shows the name A's provider asserted
// (claim "name"). The same person accepts B's invitation through B's
// connection, whose name claim is given_name: B's view names B's
// connection and keeps the name B wrote at invite, a newcomer B named
// nobody gets B's provider's given_name, and A's view keeps A's provider
// and A's name. A sign-in through the app's default provider (A does not
// enforce) leaves A's view as it is. The events name the connection.
func TestSSOSignInNamesConnectionInAPI(t *testing.T) {
	s := newSSOEnv(t, false)
	ctx := context.Background()
	bOP := s.zb
	s.za.users.add("pat-a", "pat@example.com", true)
	s.za.users.GetUserByID("pat-a").FirstName, s.za.users.GetUserByID("pat-a").LastName = "Pat", "Lee"
	bOP.users.add("pat-b", "pat@example.com", true)
	bOP.users.add("sam-b", "sam@example.com", true)
	bOP.users.GetUserByID("sam-b").FirstName = "Sam"
	s.def.users.add("pat-d", "pat@example.com", true)
	if _, err := s.svc.SaveSSOConnection(ctx, s.b.ID, invite.SSOConnectionRequest{
		Name: "Beta Entra", Issuer: s.bIssuer, ClientID: "web", Enforce: true, NameClaim: "given_name",
	}, ""); err != nil {
		t.Fatal(err)
	}

	no := false
	res, err := s.svc.CreateUserAndMembership(ctx, s.a.ID, invite.InviteRequest{Email: "pat@example.com", SendInvitationEmail: &no})
	if err != nil {
		t.Fatal(err)
	}
	pat := res.User.ID
	if prov, name, _ := s.apiView(t, s.a.ID, pat); prov != invite.IdentityProviderUnspecified || name != "" {
		t.Fatalf("A's view before: %q %q", prov, name)
	}

	// A sign-in through A's connection.
	b := newBrowser(t)
	if p := s.zitadel(b, s.za, s.loginFor(s.a), "pat@example.com"); p.status != 303 || p.location != s.dashboard(s.a) {
		t.Fatalf("sign-in through A's connection: %d %q %s", p.status, p.location, p.body)
	}
	prov, name, viewA := s.apiView(t, s.a.ID, pat)
	if prov != "Acme Okta" || name != "Pat Lee" {
		t.Fatalf("A's view after signing in through its connection: %q %q", prov, name)
	}
	evs := s.events(t, s.a.ID)
	upd, login := evs[len(evs)-2], evs[len(evs)-1]
	if upd.Type != store.EventMembershipUpdated || upd.Data["connection_id"] != s.connA.ID ||
		upd.Data["primary_identity_provider"] != "Acme Okta" || upd.Data["profile"] != "updated" {
		t.Fatalf("A's membership.updated: %+v", upd)
	}
	if login.Type != store.EventUserLoggedIn || login.Data["connection_id"] != s.connA.ID {
		t.Fatalf("A's user.logged_in: %+v", login)
	}

	// B invites the same person with a name of its own and a newcomer
	// without one; both accept through B's connection.
	for _, inv := range []struct {
		email, login string
		profile      *invite.ProfileInput
		want         string
	}{
		{"pat@example.com", "pat@example.com", &invite.ProfileInput{Name: "P. Lee (Beta)"}, "P. Lee (Beta)"},
		{"sam@example.com", "sam@example.com", nil, "Sam"},
	} {
		r, err := s.svc.CreateUserAndMembership(ctx, s.b.ID, invite.InviteRequest{Email: inv.email, UserProfile: inv.profile, ReturnAcceptLink: true})
		if err != nil {
			t.Fatal(err)
		}
		bb := newBrowser(t)
		if p := s.zitadel(bb, bOP, s.join(bb, r.AcceptLink), inv.login); p.status != 303 || p.location != s.dashboard(s.b) {
			t.Fatalf("accept of B by %s: %d %q %s", inv.email, p.status, p.location, p.body)
		}
		if prov, name, _ := s.apiView(t, s.b.ID, r.User.ID); prov != "Beta Entra" || name != inv.want {
			t.Fatalf("B's view of %s: %q %q, want Beta Entra %q", inv.email, prov, name, inv.want)
		}
	}
	// A's view of the person is unchanged but for lastLogin (the person's
	// last sign-in anywhere, as every sign-in records) and emailVerified
	// (the app-wide flag B's accept of a verified email set; pat signed
	// in to A with a verified email too).
	prov, name, viewA2 := s.apiView(t, s.a.ID, pat)
	for _, v := range []map[string]any{viewA, viewA2} {
		v["lastLogin"] = nil
		delete(v["userProfile"].(map[string]any), "emailVerified")
	}
	if prov != "Acme Okta" || name != "Pat Lee" || !jsonEqual(viewA, viewA2) {
		t.Fatalf("A's view changed by B's sign-in:\n%v\n%v", viewA, viewA2)
	}

	// The app's default provider into A (not enforcing): A's view keeps
	// the connection and the name.
	if p := s.zitadel(b, s.def, s.app.URL+"/login", "pat@example.com"); p.status != 303 {
		t.Fatalf("default sign-in: %d %q %s", p.status, p.location, p.body)
	}
	if p := b.get(s.dashboard(s.a)); p.status != 200 {
		t.Fatalf("A through the default provider: %d", p.status)
	}
	if prov, name, _ := s.apiView(t, s.a.ID, pat); prov != "Acme Okta" || name != "Pat Lee" {
		t.Fatalf("A's view after the default provider: %q %q", prov, name)
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}
