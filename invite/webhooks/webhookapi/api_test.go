package webhookapi_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/invite/inviteapi"
	"github.com/invitekit/invitekit/invite/webhooks"
	"github.com/invitekit/invitekit/invite/webhooks/webhookapi"
	"github.com/invitekit/invitekit/store"
)

// TestEndpointsLifecycle drives every route at app scope and the
// organization's own endpoints, on memstore, SQLite and PostgreSQL:
// create (the secret once), get and list (never a secret), update,
// disable and enable, a dead letter and its replay, rotation, delete, and
// both events feeds paged by their cursor.
func TestEndpointsLifecycle(t *testing.T) {
	forStores(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, insecure, nil)
		e.Org(t, "org_a")
		alice := e.AddActive(t, "org_a", "alice@a.example", "admin").User.ID
		bob := e.AddActive(t, "org_a", "bob@a.example", "member").User.ID
		var status atomic.Int32
		status.Store(http.StatusInternalServerError)
		rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(int(status.Load())) }))
		t.Cleanup(rcv.Close)

		// Who may: the app with its token, the organization's admins.
		body := fmt.Sprintf(`{"url": %q, "eventTypes": ["membership.created", "invitation.created", "membership.created"], "description": "CRM"}`, rcv.URL)
		require.Equal(t, http.StatusUnauthorized, e.do(t, caller{}, "POST", "/api/webhooks/endpoints", body).status)
		require.Equal(t, http.StatusUnauthorized, e.do(t, as(alice), "GET", "/api/webhooks/endpoints", "").status, "an org admin is not the app")
		require.Equal(t, http.StatusForbidden, e.do(t, as(bob), "GET", "/api/organizations/org_a/webhooks/endpoints", "").status)
		require.Equal(t, http.StatusUnauthorized, e.do(t, caller{}, "GET", "/api/organizations/org_a/events", "").status)

		r := e.do(t, app, "POST", "/api/webhooks/endpoints", body)
		require.Equal(t, http.StatusCreated, r.status, r.body)
		require.True(t, strings.HasPrefix(r.json["secret"].(string), "whsec_"))
		ep := r.json["endpoint"].(map[string]any)
		appID := ep["id"].(string)
		require.Equal(t, []any{"invitation.created", "membership.created"}, ep["eventTypes"])
		require.Equal(t, true, ep["enabled"])
		require.NotContains(t, ep, "organizationId", "app-wide")
		orgID, _ := e.created(t, as(alice), "/api/organizations/org_a/webhooks/endpoints",
			fmt.Sprintf(`{"url": %q, "eventTypes": ["membership.created"]}`, rcv.URL))

		r = e.do(t, app, "GET", "/api/webhooks/endpoints/"+appID, "")
		require.Equal(t, http.StatusOK, r.status)
		require.NotContains(t, r.json, "secret", "shown once")
		require.NotContains(t, strings.ToLower(r.body), "sealed")
		require.Equal(t, "CRM", r.json["endpoint"].(map[string]any)["description"])
		listed := func(c caller, path string) []string {
			r := e.do(t, c, "GET", path, "")
			require.Equal(t, http.StatusOK, r.status, r.body)
			require.NotContains(t, r.body, "whsec_")
			var ids []string
			for _, x := range r.json["endpoints"].([]any) {
				ids = append(ids, x.(map[string]any)["id"].(string))
			}
			return ids
		}
		require.Equal(t, []string{appID, orgID}, listed(app, "/api/webhooks/endpoints"))
		require.Equal(t, []string{orgID}, listed(app, "/api/webhooks/endpoints?organizationId=org_a"))
		require.Equal(t, []string{appID}, listed(app, "/api/webhooks/endpoints?organizationId="))
		require.Equal(t, []string{orgID}, listed(as(alice), "/api/organizations/org_a/webhooks/endpoints"))
		r = e.do(t, as(alice), "GET", "/api/organizations/org_a/webhooks/endpoints/"+orgID, "")
		require.Equal(t, "org_a", r.json["endpoint"].(map[string]any)["organizationId"])

		// Update: narrower types, disabled (nothing is written for it), enabled.
		r = e.do(t, app, "PATCH", "/api/webhooks/endpoints/"+appID, `{"eventTypes": ["membership.created"], "description": "", "enabled": false}`)
		require.Equal(t, http.StatusOK, r.status, r.body)
		ep = r.json["endpoint"].(map[string]any)
		require.Equal(t, false, ep["enabled"])
		require.Equal(t, "disabled by hand", ep["disabledReason"])
		require.Equal(t, []any{"membership.created"}, ep["eventTypes"])
		require.NotContains(t, ep, "description")
		e.Invite(t, "org_a", "carol@a.example", "member")
		ds := e.do(t, app, "GET", "/api/webhooks/endpoints/"+appID+"/deliveries", "")
		require.Equal(t, []any{}, ds.json["deliveries"], "a disabled endpoint gets no deliveries")
		r = e.do(t, app, "PATCH", "/api/webhooks/endpoints/"+appID, `{"enabled": true}`)
		require.Equal(t, true, r.json["endpoint"].(map[string]any)["enabled"])
		dan := e.Invite(t, "org_a", "dan@a.example", "member").User.ID

		// A failing receiver: dead letters, which a replay sends again.
		d := webhooks.NewDispatcher(e.hooks, webhooks.DispatcherConfig{MaxAttempts: 1})
		drain(t, d)
		dead := e.do(t, app, "GET", "/api/webhooks/endpoints/"+appID+"/deliveries?status=dead", "")
		require.Equal(t, http.StatusOK, dead.status, dead.body)
		require.Len(t, dead.json["deliveries"], 1)
		dl := dead.json["deliveries"].([]any)[0].(map[string]any)
		require.Equal(t, "DEAD", dl["status"])
		require.Equal(t, "membership.created", dl["type"])
		require.Contains(t, dl["lastError"], "500")
		msgID := dl["messageId"].(string)
		orgDead := e.do(t, as(alice), "GET", "/api/organizations/org_a/webhooks/endpoints/"+orgID+"/deliveries?status=DEAD&limit=1", "")
		require.Len(t, orgDead.json["deliveries"], 1, "limit")
		require.Equal(t, "receiver answered 500", orgDead.json["deliveries"].([]any)[0].(map[string]any)["lastError"])
		all := e.do(t, as(alice), "POST", "/api/organizations/org_a/webhooks/endpoints/"+orgID+"/deliveries/replay-dead", "")
		require.Equal(t, http.StatusAccepted, all.status, all.body)
		require.EqualValues(t, 2, all.json["replayed"], "carol's and dan's membership.created")
		orgDead = e.do(t, as(alice), "GET", "/api/organizations/org_a/webhooks/endpoints/"+orgID+"/deliveries?status=DEAD", "")
		require.Equal(t, []any{}, orgDead.json["deliveries"])

		require.Equal(t, http.StatusAccepted, e.do(t, app, "POST", "/api/webhooks/endpoints/"+appID+"/deliveries/"+msgID+"/replay", "").status)
		pending := e.do(t, app, "GET", "/api/webhooks/endpoints/"+appID+"/deliveries?status=Pending", "")
		require.Len(t, pending.json["deliveries"], 1)
		status.Store(http.StatusNoContent)
		drain(t, d)
		done := e.do(t, app, "GET", "/api/webhooks/endpoints/"+appID+"/deliveries?status=DELIVERED", "")
		require.Len(t, done.json["deliveries"], 1)
		require.Equal(t, msgID, done.json["deliveries"].([]any)[0].(map[string]any)["messageId"])
		require.Equal(t, http.StatusNotFound, e.do(t, app, "POST", "/api/webhooks/endpoints/"+appID+"/deliveries/msg_nope/replay", "").status)

		// Rotation: a new secret, shown once.
		r1 := e.do(t, as(alice), "POST", "/api/organizations/org_a/webhooks/endpoints/"+orgID+"/rotate-secret", "")
		require.Equal(t, http.StatusOK, r1.status, r1.body)
		r2 := e.do(t, as(alice), "POST", "/api/organizations/org_a/webhooks/endpoints/"+orgID+"/rotate-secret", "")
		require.True(t, strings.HasPrefix(r1.json["secret"].(string), "whsec_"))
		require.NotEqual(t, r1.json["secret"], r2.json["secret"])

		// The feeds: the organization's and the app's, paged by next.
		page := func(c caller, path string, limit int) ([]string, []map[string]any) {
			var ids []string
			var all []map[string]any
			after := -1.0
			for range 100 {
				q := fmt.Sprintf("%s?limit=%d", path, limit)
				if after >= 0 {
					q += fmt.Sprintf("&after=%d", int64(after))
				}
				r := e.do(t, c, "GET", q, "")
				require.Equal(t, http.StatusOK, r.status, r.body)
				next := r.json["next"].(float64)
				evs := r.json["events"].([]any)
				if len(evs) == 0 {
					require.Equal(t, max(after, 0), next, "nothing new: the same cursor")
					return ids, all
				}
				require.Greater(t, next, after)
				for _, x := range evs {
					ev := x.(map[string]any)
					ids = append(ids, ev["messageId"].(string))
					all = append(all, ev)
				}
				after = next
			}
			t.Fatal("the feed never ended")
			return nil, nil
		}
		orgIDs, orgEvents := page(as(alice), "/api/organizations/org_a/events", 2)
		require.Contains(t, orgIDs, msgID, "the feed carries the webhook's id")
		var danTypes []string
		for _, ev := range orgEvents {
			data := ev["data"].(map[string]any)
			require.Equal(t, "org_a", data["organizationId"])
			require.EqualValues(t, 1, ev["version"])
			if data["userId"] == dan {
				danTypes = append(danTypes, ev["type"].(string))
			}
		}
		require.Equal(t, []string{store.WebhookInvitationCreated, store.WebhookMembershipCreated}, danTypes)
		appIDs, _ := page(app, "/api/events", 3)
		require.Equal(t, orgIDs, appIDs, "one organization: the app's feed is its feed")

		require.Equal(t, http.StatusNoContent, e.do(t, app, "DELETE", "/api/webhooks/endpoints/"+appID, "").status)
		require.Equal(t, http.StatusNotFound, e.do(t, app, "GET", "/api/webhooks/endpoints/"+appID, "").status)
		require.Equal(t, http.StatusNotFound, e.do(t, app, "DELETE", "/api/webhooks/endpoints/"+appID, "").status)
		require.Equal(t, []string{orgID}, listed(app, "/api/webhooks/endpoints"))
	})
}

// TestOrgEndpointsOffByDefault: without Config.OrgEndpoints an
// organization's admin has only its events feed; no authorizer at all
// refuses everything.
func TestOrgEndpointsOffByDefault(t *testing.T) {
	st := openMem(t)
	e := newEnv(t, st, insecure, func(c *webhookapi.Config) { c.OrgEndpoints = false })
	e.Org(t, "org_a")
	alice := e.AddActive(t, "org_a", "alice@a.example", "admin").User.ID
	require.Equal(t, http.StatusNotFound, e.do(t, as(alice), "GET", "/api/organizations/org_a/webhooks/endpoints", "").status)
	require.Equal(t, http.StatusNotFound, e.do(t, as(alice), "POST", "/api/organizations/org_a/webhooks/endpoints", `{}`).status)
	require.Equal(t, http.StatusOK, e.do(t, as(alice), "GET", "/api/organizations/org_a/events", "").status)

	deny := newEnv(t, st, insecure, func(c *webhookapi.Config) { *c = webhookapi.Config{} })
	for _, path := range []string{"/api/webhooks/endpoints", "/api/events", "/api/organizations/org_a/events"} {
		r := deny.do(t, app, "GET", path, "")
		require.Equal(t, http.StatusForbidden, r.status, path)
		require.Equal(t, "permission_denied", r.errorCode())
	}
	r := deny.do(t, as(alice), "GET", "/api/organizations/org_a/webhooks/endpoints", "")
	require.Equal(t, http.StatusNotFound, r.status, "off unless enabled")
}

// TestMountsBesideTheJSONAPI: the README mounts this API, the JSON API
// and the bulk API on one ServeMux under /api; their patterns must not
// conflict (ServeMux panics on a conflict).
func TestMountsBesideTheJSONAPI(t *testing.T) {
	e := newEnv(t, openMem(t), insecure, nil)
	api, err := inviteapi.NewHandler(e.Svc, inviteapi.DenyAll, inviteapi.HandlerConfig{})
	require.NoError(t, err)
	bulk, err := inviteapi.NewBulkHandler(e.Svc, inviteapi.DenyAll, inviteapi.BulkHandlerConfig{})
	require.NoError(t, err)
	mux := http.NewServeMux()
	api.Routes(mux, "/api")
	bulk.Routes(mux, "/api")
	e.api.Routes(mux, "/api")
	srv := httptest.NewServer(mux)
	defer srv.Close()
	res, err := http.Get(srv.URL + "/api/organizations/org_a/events")
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusUnauthorized, res.StatusCode, "the events feed answers, through its own authorizer")
}
