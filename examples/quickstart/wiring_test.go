package main

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"

	"github.com/invitekit/invitekit/invite"
)

// TestDeactivationSeenAtOnce checks the quickstart's wiring
// OnMembershipChange: guard.Invalidate. The membership cache's clock is
// frozen, so a cached membership never expires by itself: only the
// Service's change hook can make the guard see that Bob was deactivated.
// (Without the hook his next request would still get the dashboard.)
func TestDeactivationSeenAtOnce(t *testing.T) {
	frozen := time.Now()
	qa := startApp(t, func(c *config) { c.Now = func() time.Time { return frozen } })
	ctx := t.Context()
	direct := false
	bob, err := qa.Service.CreateUserAndMembership(ctx, seedOrgID, invite.InviteRequest{Email: "bob@example.com", SendInvitationEmail: &direct})
	if err != nil {
		t.Fatal(err)
	}
	admin, err := qa.Service.GetMember(ctx, seedOrgID, invite.UserRef{Email: seedAdminEmail})
	if err != nil {
		t.Fatal(err)
	}

	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	dashboard := qa.base + "/orgs/" + seedOrgID + "/dashboard"
	get := func(what string) (int, string) {
		t.Helper()
		resp, err := client.Get(dashboard)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	// Bob signs in at the dev provider and lands on the dashboard.
	resp := devSignIn(t, client, qa.base, "bob@example.com", "/orgs/"+seedOrgID+"/dashboard")
	if resp.StatusCode != 200 || resp.Request.URL.String() != dashboard {
		t.Fatalf("Bob's login ended with %d at %s, want the dashboard", resp.StatusCode, resp.Request.URL)
	}
	if code, body := get("dashboard"); code != 200 || !strings.Contains(body, "bob@example.com") {
		t.Fatalf("Bob's dashboard: %d, want 200 (his ACTIVE membership is now cached)", code)
	}

	// Deactivated through the Service: the very next request is refused.
	if _, err := qa.Service.DeactivateMembership(ctx, seedOrgID, bob.User.ID, admin.User.ID); err != nil {
		t.Fatal(err)
	}
	if code, _ := get("dashboard after deactivation"); code != http.StatusForbidden {
		t.Fatalf("Bob's dashboard right after his deactivation: %d, want 403 (the guard served its cache)", code)
	}
}
