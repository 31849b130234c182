package middleware_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/invitekit/invitekit/middleware"
	"github.com/invitekit/invitekit/store"
)

var t0 = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

// seedUser describes one test person and their membership in org_a.
type seedUser struct {
	id     string
	status store.MembershipStatus // "" = no membership in org_a
	roles  []string
	expire time.Time // for pending
}

var seedUsers = []seedUser{
	{id: "usr_ann", status: store.StatusActive, roles: []string{"admin"}},
	{id: "usr_bob", status: store.StatusActive, roles: []string{"member"}},
	{id: "usr_pat", status: store.StatusPendingInvite, roles: []string{"member"}, expire: t0.Add(24 * time.Hour)},
	{id: "usr_eve", status: store.StatusPendingInvite, roles: []string{"member"}, expire: t0.Add(-time.Hour)},
	{id: "usr_ina", status: store.StatusInactive, roles: []string{"admin"}},
	{id: "usr_zed"}, // member of org_b only
}

// seed writes org_a and org_b and the seed users into st.
func seed(t testing.TB, st store.Store) {
	t.Helper()
	ctx := context.Background()
	for _, org := range []string{"org_a", "org_b"} {
		o := store.Organization{ID: org, Name: org, CreateTime: t0, UpdateTime: t0}
		if err := st.CreateOrganization(ctx, o, store.Event{OrganizationID: org, Type: store.EventOrganizationCreated, CreateTime: t0}); err != nil {
			t.Fatal(err)
		}
	}
	for i, u := range seedUsers {
		org, status, roles := "org_a", u.status, u.roles
		if status == "" {
			org, status, roles = "org_b", store.StatusActive, []string{"admin"}
		}
		stored := status
		if stored == store.StatusInactive {
			stored = store.StatusActive
		}
		p := store.CreateMembershipParams{
			User: store.User{ID: u.id, Email: fmt.Sprintf("u%d@example.com", i), CreateTime: t0, UpdateTime: t0},
			Membership: store.Membership{OrganizationID: org, Status: stored, Roles: roles,
				InviteExpireTime: u.expire, JoinTime: t0, UpdateTime: t0},
			Event: store.Event{OrganizationID: org, Type: store.EventMembershipAdded, CreateTime: t0},
		}
		if stored == store.StatusPendingInvite {
			p.Invitation = &store.Invitation{ID: "inv_" + u.id, OrganizationID: org, Email: p.User.Email,
				VerifierHash: make([]byte, 32), CreateTime: t0, ExpireTime: u.expire}
			p.Event.Type = store.EventMembershipInvited
		}
		if _, err := st.CreateMembership(ctx, p); err != nil {
			t.Fatal(err)
		}
		if status == store.StatusInactive {
			if _, err := st.SetMembershipStatus(ctx, org, u.id, store.StatusChange{From: store.StatusActive, To: store.StatusInactive, Now: t0, Event: store.Event{OrganizationID: org, Type: store.EventMembershipDeactivated, CreateTime: t0}}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// sessionCookie creates a session signed in as userID in sm's store and
// returns its cookie.
func sessionCookie(t testing.TB, sm *scs.SessionManager, userID string) *http.Cookie {
	t.Helper()
	ctx, err := sm.Load(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	sm.Put(ctx, middleware.SessionKeyUserID, userID)
	tok, _, err := sm.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Cookie{Name: sm.Cookie.Name, Value: tok}
}

// whoami reports the member the middleware put in the context.
var whoami = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	m, ok := middleware.MemberFromContext(r.Context())
	u, uok := middleware.UserFromContext(r.Context())
	if !ok || !uok || u.ID != m.User.ID {
		http.Error(w, "no member in context", http.StatusInternalServerError)
		return
	}
	fmt.Fprintf(w, "%s in %s", m.User.ID, m.OrganizationID())
})

// errorCode decodes {"error":{"code":…}}.
func errorCode(t testing.TB, rec *httptest.ResponseRecorder) string {
	t.Helper()
	var body struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("body %q is not a JSON error: %v", rec.Body.String(), err)
	}
	if body.Error.Message == "" {
		t.Fatalf("JSON error without message: %s", rec.Body.String())
	}
	return body.Error.Code
}
