package webhookapi_test

import (
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/store"
)

// feedIDs pages a feed by its cursor, limit store events a page, and
// returns the messageIds with the seq of each.
func feedIDs(t *testing.T, e *env, c caller, path string, limit int) (ids []string, seqs []float64) {
	t.Helper()
	after := 0.0
	for range 1000 {
		r := e.do(t, c, "GET", fmt.Sprintf("%s?after=%d&limit=%d", path, int64(after), limit), "")
		require.Equal(t, http.StatusOK, r.status, r.body)
		evs := r.json["events"].([]any)
		next := r.json["next"].(float64)
		if len(evs) == 0 && next == after {
			return ids, seqs
		}
		for _, x := range evs {
			ev := x.(map[string]any)
			ids = append(ids, ev["messageId"].(string))
			seqs = append(seqs, ev["data"].(map[string]any)["seq"].(float64))
		}
		after = next
	}
	t.Fatal("the feed never ended")
	return nil, nil
}

// TestAppFeedAcrossOrganizations: the app's feed is every organization's
// feed merged in seq order, with the same messageIds, on the three
// stores; each organization's admin gets only theirs.
func TestAppFeedAcrossOrganizations(t *testing.T) {
	forStores(t, func(t *testing.T, st store.Store) {
		e, alice, bea := twoOrgs(t, st)
		for i := range 4 {
			e.Invite(t, "org_a", fmt.Sprintf("a%d@example.com", i), "member")
			e.Invite(t, "org_b", fmt.Sprintf("b%d@example.com", i), "member")
		}
		aIDs, aSeqs := feedIDs(t, e, as(alice), "/api/organizations/org_a/events", 3)
		bIDs, bSeqs := feedIDs(t, e, as(bea), "/api/organizations/org_b/events", 3)
		appIDs, appSeqs := feedIDs(t, e, app, "/api/events", 2)
		require.True(t, slices.IsSorted(appSeqs), "in seq order")
		require.Len(t, aIDs, 10, "alice's membership.created and activated, 4 invitations × 2")
		require.Len(t, appIDs, len(aIDs)+len(bIDs), "every organization's, each once")
		require.ElementsMatch(t, append(slices.Clone(aIDs), bIDs...), appIDs)
		for _, s := range aSeqs {
			require.NotContains(t, bSeqs, s)
		}
		require.Equal(t, http.StatusForbidden, e.do(t, as(alice), "GET", "/api/organizations/org_b/events", "").status)
		require.Equal(t, http.StatusUnauthorized, e.do(t, as(alice), "GET", "/api/events", "").status, "the app's feed is not an admin's")
	})
}
