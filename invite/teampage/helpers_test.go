package teampage_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/invite/teampage"
	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/store/sqlitestore"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

type actorKey struct{}

// fixture is a team page on a real SQLite store, served by httptest, with
// a test auth shim that signs every request in as the org's admin.
type fixture struct {
	st      store.Store
	svc     *invite.Service
	page    *teampage.Handler
	srv     *httptest.Server
	adminID string
	base    string // URL of the page for org_acme
}

func newFixture(t testing.TB, mutate func(*teampage.Config)) *fixture {
	t.Helper()
	return newFixtureWith(t, nil, mutate)
}

func newFixtureWith(t testing.TB, mutateSvc func(*invite.Config), mutate func(*teampage.Config)) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "kit.db"), sqlitestore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	icfg := invite.Config{
		Roles:     []string{"admin", "member", "billing"},
		SecretKey: testKey,
		AcceptURL: "https://app.example.com/invite/accept",
	}
	if mutateSvc != nil {
		mutateSvc(&icfg)
	}
	svc, err := invite.New(st, icfg)
	if err != nil {
		t.Fatal(err)
	}
	no := false
	_, admin, err := svc.CreateOrganization(ctx, invite.CreateOrganizationRequest{ID: "org_acme", Name: "Acme",
		Admin: &invite.InviteRequest{Email: "admin@acme.example", SendInvitationEmail: &no, UserProfile: &invite.ProfileInput{FirstName: "Ada", LastName: "Admin"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.CreateOrganization(ctx, invite.CreateOrganizationRequest{ID: "org_other", Name: "Other"}); err != nil {
		t.Fatal(err)
	}
	cfg := teampage.Config{
		Actor: func(r *http.Request) string { id, _ := r.Context().Value(actorKey{}).(string); return id },
	}
	if mutate != nil {
		mutate(&cfg)
	}
	page, err := teampage.New(svc, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { page.Close() })
	f := &fixture{st: st, svc: svc, page: page, adminID: admin.User.ID}
	mux := http.NewServeMux()
	// The test auth shim: the app would put RequireRole("admin") here.
	mux.Handle("/organizations/{orgID}/team/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := context.WithValue(r.Context(), actorKey{}, f.adminID)
		page.ServeHTTP(w, r.WithContext(ctx))
	}))
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	f.base = f.srv.URL + "/organizations/org_acme/team"
	return f
}

// member returns the membership of email in org_acme (ok=false if none).
func (f *fixture) member(t testing.TB, email string) (store.Member, bool) {
	t.Helper()
	m, err := f.svc.GetMember(context.Background(), "org_acme", invite.UserRef{Email: email})
	if err != nil {
		return store.Member{}, false
	}
	return m, true
}

func (f *fixture) invite(t testing.TB, email string) store.Member {
	t.Helper()
	res, err := f.svc.CreateUserAndMembership(context.Background(), "org_acme", invite.InviteRequest{Email: email, InvitedBy: f.adminID})
	if err != nil {
		t.Fatal(err)
	}
	return store.Member{User: res.User, Membership: res.Membership}
}
