package teampage_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/invite/teampage"
	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/store/memstore"
)

// TestSignOutEverywhere: an admin signs an ACTIVE member of their own
// organization out everywhere (POST, cross-origin protected): the user's
// session generation goes up, the event is in the organization's feed, the
// page says so. Pending members get no button and are refused; another
// organization's member is not reachable.
func TestSignOutEverywhere(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	no := false
	bob, err := f.svc.CreateUserAndMembership(ctx, "org_acme", invite.InviteRequest{Email: "bob@example.com", SendInvitationEmail: &no})
	if err != nil {
		t.Fatal(err)
	}
	pat := f.invite(t, "pat@example.com")
	gen := func(id string) int64 {
		t.Helper()
		u, err := f.st.GetUser(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return u.SessionGeneration
	}
	_, page, _ := get(t, f.base+"/")
	action := `action="/organizations/org_acme/team/members/`
	mustContain(t, page, action+bob.User.ID+`/signout"`, `aria-label="Sign out everywhere: bob@example.com"`, action+f.adminID+`/signout"`)
	if strings.Contains(page, action+pat.User.ID+`/signout"`) {
		t.Fatal("a pending member has a sign-out button")
	}

	// Cross-origin: refused, nothing revoked.
	if status, _, _ := post(t, f.base+"/members/"+bob.User.ID+"/signout", nil, "Sec-Fetch-Site", "cross-site"); status != http.StatusForbidden {
		t.Fatalf("cross-origin: %d", status)
	}
	if status, _, _ := get(t, f.base+"/members/"+bob.User.ID+"/signout"); status != http.StatusMethodNotAllowed {
		t.Fatalf("GET: %d", status)
	}
	if gen(bob.User.ID) != 0 {
		t.Fatal("a refused request revoked sessions")
	}

	status, _, hdr := post(t, f.base+"/members/"+bob.User.ID+"/signout", url.Values{"status": {"ACTIVE"}})
	loc := hdr.Get("Location")
	if status != http.StatusSeeOther || !strings.Contains(loc, "flash=") || !strings.Contains(loc, "status=ACTIVE") {
		t.Fatalf("sign out: %d %q", status, loc)
	}
	_, page, _ = get(t, f.srv.URL+loc)
	mustContain(t, page, "bob@example.com was signed out everywhere.")
	if g := gen(bob.User.ID); g != 1 {
		t.Fatalf("session generation %d, want 1", g)
	}
	evs, _ := f.svc.Events(ctx, "org_acme", 0, 1000)
	if ev := evs[len(evs)-1]; ev.Type != invite.EventSessionsRevoked || ev.UserID != bob.User.ID || ev.ActorID != f.adminID {
		t.Fatalf("last event %+v", ev)
	}

	// A pending member: refused, nothing revoked.
	status, body, _ := post(t, f.base+"/members/"+pat.User.ID+"/signout", nil)
	if status != http.StatusConflict || !strings.Contains(body, "current status") || gen(pat.User.ID) != 0 {
		t.Fatalf("pending member: %d", status)
	}
	// Another organization's member: not reachable from this page.
	other, err := f.svc.CreateUserAndMembership(ctx, "org_other", invite.InviteRequest{Email: "zed@example.com", SendInvitationEmail: &no})
	if err != nil {
		t.Fatal(err)
	}
	if status, _, _ := post(t, f.base+"/members/"+other.User.ID+"/signout", nil); status != http.StatusNotFound || gen(other.User.ID) != 0 {
		t.Fatalf("cross-tenant sign out: %d, generation %d", status, gen(other.User.ID))
	}
}

// plainStore hides a store's optional capabilities.
type plainStore struct{ store.Store }

// TestSignOutButtonNeedsRevoker: a store that cannot revoke sessions gets
// no "Sign out everywhere" button.
func TestSignOutButtonNeedsRevoker(t *testing.T) {
	ctx := context.Background()
	svc, err := invite.New(plainStore{memstore.New()}, invite.Config{SecretKey: testKey, AcceptURL: "https://app.example.com/invite/accept"})
	if err != nil {
		t.Fatal(err)
	}
	no := false
	if _, _, err := svc.CreateOrganization(ctx, invite.CreateOrganizationRequest{ID: "org_acme", Name: "Acme",
		Admin: &invite.InviteRequest{Email: "admin@acme.example", SendInvitationEmail: &no}}); err != nil {
		t.Fatal(err)
	}
	page, err := teampage.New(svc, teampage.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { page.Close() })
	mux := http.NewServeMux()
	mux.Handle("/organizations/{orgID}/team/", page)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	status, body, _ := get(t, srv.URL+"/organizations/org_acme/team/")
	if status != 200 || !strings.Contains(body, "admin@acme.example") {
		t.Fatalf("page: %d", status)
	}
	if strings.Contains(body, "/signout") {
		t.Fatal("a sign-out button without a store.SessionRevoker")
	}
}
