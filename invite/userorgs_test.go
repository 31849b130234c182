package invite_test

import (
	"context"
	"testing"
	"time"

	"github.com/invitekit/invitekit/store"
)

// ListUserOrganizations lists exactly the ACTIVE memberships, by name, on
// every store: pending, expired and deactivated ones are left out.
func TestListUserOrganizations(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, nil)
		ctx := context.Background()
		for _, id := range []string{"org_c", "org_a", "org_b", "org_d"} {
			e.Org(t, id)
		}
		ann := e.AddActive(t, "org_c", "ann@example.com", "admin")
		e.AddActive(t, "org_a", "ann@example.com")
		off := e.AddActive(t, "org_b", "ann@example.com")
		e.AddActive(t, "org_b", "boss@example.com", "admin")
		if _, err := e.Svc.DeactivateMembership(ctx, "org_b", off.User.ID, "usr_actor"); err != nil {
			t.Fatal(err)
		}
		e.Invite(t, "org_d", "ann@example.com") // pending: not listed
		got, err := e.Svc.ListUserOrganizations(ctx, ann.User.ID)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, uo := range got {
			ids = append(ids, uo.Organization.ID)
			if uo.Membership.Status != store.StatusActive || uo.Organization.Name == "" {
				t.Errorf("entry %+v", uo)
			}
		}
		if len(ids) != 2 || ids[0] != "org_a" || ids[1] != "org_c" {
			t.Fatalf("organizations %v, want [org_a org_c]", ids)
		}
		if !got[1].Membership.HasRole("admin") {
			t.Errorf("org_c membership lacks its role: %+v", got[1].Membership)
		}
		e.Clock.Advance(time.Hour)
		if none, err := e.Svc.ListUserOrganizations(ctx, "usr_nobody"); err != nil || len(none) != 0 {
			t.Errorf("unknown user: %v, %v", none, err)
		}
		if _, err := e.Svc.ListUserOrganizations(ctx, "bad\x00id"); err == nil {
			t.Error("an id breaking the text rule was accepted")
		}
	})
}
