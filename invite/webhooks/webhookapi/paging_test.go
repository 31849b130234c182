package webhookapi_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/store"
)

// deliveryPage is one page of GET …/deliveries: the message ids and the
// next page's token.
func deliveryPage(t *testing.T, r resp) (ids []string, next string) {
	t.Helper()
	require.Equal(t, http.StatusOK, r.status, r.body)
	for _, d := range r.json["deliveries"].([]any) {
		ids = append(ids, d.(map[string]any)["messageId"].(string))
	}
	next, ok := r.json["nextPageToken"].(string)
	require.True(t, ok, "nextPageToken is always there: %s", r.body)
	return ids, next
}

// TestDeliveriesPaged pages an endpoint's deliveries through the API on
// memstore, SQLite and PostgreSQL: the pages walked with nextPageToken
// are every delivery once, oldest first, at most pageSize each, the last
// with nextPageToken "". A page token holds only where it was handed out:
// org_a's token on org_b's endpoint (by org_b's admin or by the app), on
// another endpoint of org_a, on another status of the same endpoint,
// altered or made up is the same
// 422 pageToken, byte for byte; and org_a's endpoint stays 404 to org_b
// with any token.
func TestDeliveriesPaged(t *testing.T) {
	forStores(t, func(t *testing.T, st store.Store) {
		e, alice, bea := twoOrgs(t, st)
		body := `{"url": "http://127.0.0.1:1/hook", "eventTypes": ["invitation.created", "membership.created"]}`
		epA, _ := e.created(t, as(alice), "/api/organizations/org_a/webhooks/endpoints", body)
		epB, _ := e.created(t, as(bea), "/api/organizations/org_b/webhooks/endpoints", body)
		epA2, _ := e.created(t, as(alice), "/api/organizations/org_a/webhooks/endpoints", body)
		for i := range 5 {
			e.Invite(t, "org_a", fmt.Sprintf("a%d@a.example", i), "member")
			e.Invite(t, "org_b", fmt.Sprintf("b%d@b.example", i), "member")
		}
		pathA := "/api/organizations/org_a/webhooks/endpoints/" + epA + "/deliveries"
		pathB := "/api/organizations/org_b/webhooks/endpoints/" + epB + "/deliveries"

		all, next := deliveryPage(t, e.do(t, as(alice), "GET", pathA, ""))
		require.Len(t, all, 10, "the default page holds them all")
		require.Empty(t, next)
		want, err := e.hooks.Deliveries(t.Context(), "org_a", epA, "", 1000)
		require.NoError(t, err)
		for i, d := range want {
			require.Equal(t, d.MessageID, all[i], "oldest first")
		}

		var walked []string
		var firstToken string
		for token, pages := "", 0; ; pages++ {
			require.Less(t, pages, 10, "the pages never ran out")
			ids, next := deliveryPage(t, e.do(t, as(alice), "GET", pathA+"?pageSize=3&pageToken="+url.QueryEscape(token), ""))
			require.LessOrEqual(t, len(ids), 3)
			walked = append(walked, ids...)
			if firstToken == "" {
				firstToken = next
			}
			if next == "" {
				require.Equal(t, 4, pages+1, "10 in pages of 3")
				break
			}
			token = next
		}
		require.Equal(t, all, walked, "every delivery once, in order")
		ids, _ := deliveryPage(t, e.do(t, as(alice), "GET", pathA+"?pageSize=3&pageToken="+url.QueryEscape(firstToken), ""))
		require.Equal(t, all[3:6], ids, "a token can be used again")
		ids, next = deliveryPage(t, e.do(t, as(alice), "GET", pathA+"?pageSize=10", ""))
		require.Len(t, ids, 10)
		require.Empty(t, next, "an exact last page has no next")

		// Dead letters page on their own tokens.
		dead, err := e.hooks.Deliveries(t.Context(), "org_a", epA, "", 1000)
		require.NoError(t, err)
		wh := st.(store.WebhookStore)
		for _, d := range dead[:4] {
			require.NoError(t, wh.MarkWebhookDead(t.Context(), epA, d.MessageID, 1, "gone"))
		}
		ids, deadNext := deliveryPage(t, e.do(t, as(alice), "GET", pathA+"?status=DEAD&pageSize=3", ""))
		require.Equal(t, all[:3], ids)
		ids, next = deliveryPage(t, e.do(t, as(alice), "GET", pathA+"?status=dead&pageSize=3&pageToken="+url.QueryEscape(deadNext), ""))
		require.Equal(t, all[3:4], ids)
		require.Empty(t, next)

		garbage := e.do(t, as(bea), "GET", pathB+"?pageSize=3&pageToken=garbage", "")
		require.Equal(t, http.StatusUnprocessableEntity, garbage.status, garbage.body)
		require.Equal(t, "invalid_argument", garbage.errorCode())
		require.Equal(t, "pageToken", garbage.errorField())
		altered := []byte(firstToken)
		altered[len(altered)/2] ^= 1
		for name, r := range map[string]resp{
			"org_a's token on org_b's endpoint":               e.do(t, as(bea), "GET", pathB+"?pageSize=3&pageToken="+url.QueryEscape(firstToken), ""),
			"org_a's token on org_b's endpoint, the app":      e.do(t, app, "GET", "/api/webhooks/endpoints/"+epB+"/deliveries?pageSize=3&pageToken="+url.QueryEscape(firstToken), ""),
			"another endpoint's token, the same organization": e.do(t, as(alice), "GET", "/api/organizations/org_a/webhooks/endpoints/"+epA2+"/deliveries?pageSize=3&pageToken="+url.QueryEscape(firstToken), ""),
			"another status's token":                          e.do(t, as(alice), "GET", pathA+"?status=DEAD&pageSize=3&pageToken="+url.QueryEscape(firstToken), ""),
			"a status's token without it":                     e.do(t, as(alice), "GET", pathA+"?pageSize=3&pageToken="+url.QueryEscape(deadNext), ""),
			"an altered token":                                e.do(t, as(alice), "GET", pathA+"?pageSize=3&pageToken="+url.QueryEscape(string(altered)), ""),
			"a number":                                        e.do(t, as(alice), "GET", pathA+"?pageToken=3", ""),
		} {
			require.Equal(t, garbage.status, r.status, "%s: %s", name, r.body)
			require.Equal(t, garbage.body, r.body, "%s: the same answer as garbage", name)
		}

		for _, q := range []string{"", "?pageToken=" + url.QueryEscape(firstToken), "?pageToken=garbage", "?pageSize=2&pageToken=" + url.QueryEscape(deadNext)} {
			nowhere := e.do(t, as(bea), "GET", "/api/organizations/org_b/webhooks/endpoints/whep_nowhere/deliveries"+q, "")
			require.Equal(t, http.StatusNotFound, nowhere.status, nowhere.body)
			r := e.do(t, as(bea), "GET", "/api/organizations/org_b/webhooks/endpoints/"+epA+"/deliveries"+q, "")
			require.Equal(t, nowhere.status, r.status, "%q: %s", q, r.body)
			require.Equal(t, nowhere.body, r.body, "%q: org_a's endpoint is nowhere to org_b", q)
		}
	})
}
