package webhookapi_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/invite/internal/invitetest"
	"github.com/invitekit/invitekit/store"
)

// ifMatch is a request header If-Match: tag.
func ifMatch(tag string) http.Header { return http.Header{"If-Match": {tag}} }

// TestEndpointETag: GET and PATCH answer the endpoint's revision as a
// strong ETag; a PATCH or DELETE with If-Match is carried out only while
// the endpoint is at a tag it names (strong comparison: a weak tag never
// matches; "*" matches any), else 412 precondition_failed and nothing is
// written; a rotation and the dispatcher's disable change the tag, so a
// PATCH made from what was read before them is refused rather than
// writing over them; without If-Match nothing changes from before. On
// memstore, SQLite and PostgreSQL.
func TestEndpointETag(t *testing.T) {
	forStores(t, func(t *testing.T, st store.Store) {
		e, alice, bea := twoOrgs(t, st)
		id, _ := e.created(t, as(alice), "/api/organizations/org_a/webhooks/endpoints", `{"url": "http://127.0.0.1:1/hook", "eventTypes": ["membership.created"], "description": "v0"}`)
		path := "/api/organizations/org_a/webhooks/endpoints/" + id
		get := func() resp {
			t.Helper()
			r := e.do(t, as(alice), "GET", path, "")
			require.Equal(t, http.StatusOK, r.status, r.body)
			return r
		}
		description := func() string { return get().json["endpoint"].(map[string]any)["description"].(string) }
		patch := func(h http.Header, desc string) resp {
			t.Helper()
			return e.doHeader(t, as(alice), "PATCH", path, `{"description": "`+desc+`"}`, h)
		}
		refused := func(r resp, what string) {
			t.Helper()
			require.Equal(t, http.StatusPreconditionFailed, r.status, "%s: %s", what, r.body)
			require.Equal(t, "precondition_failed", r.errorCode(), what)
			require.Empty(t, r.header.Get("ETag"), what)
		}

		require.Equal(t, `"0"`, get().header.Get("ETag"), "a strong tag of the revision")
		r := patch(nil, "v1")
		require.Equal(t, http.StatusOK, r.status, r.body)
		require.Equal(t, `"1"`, r.header.Get("ETag"), "without If-Match as before, and the new tag")
		require.Equal(t, `"1"`, get().header.Get("ETag"))

		for _, stale := range []string{`"0"`, `W/"1"`, `"2"`, `1`, `"1`, `"1" "0"`, ``, `"0", "2"`} {
			refused(patch(ifMatch(stale), "stale"), "If-Match "+stale)
		}
		refused(e.doHeader(t, as(alice), "PATCH", path, `{"description": 7}`, ifMatch(`"0"`)), "stale, before the body is read")
		require.Equal(t, "v1", description(), "nothing written")
		require.Equal(t, `"1"`, get().header.Get("ETag"))

		r = patch(ifMatch(`"7", "1"`), "v2")
		require.Equal(t, http.StatusOK, r.status, r.body)
		require.Equal(t, `"2"`, r.header.Get("ETag"))
		r = patch(http.Header{"If-Match": {`"9"`, ` "2" `}}, "v3")
		require.Equal(t, http.StatusOK, r.status, "one of the fields names it: %s", r.body)
		r = patch(ifMatch(`*`), "v4")
		require.Equal(t, http.StatusOK, r.status, r.body)
		require.Equal(t, `"4"`, r.header.Get("ETag"))

		// A rotation changes the tag: a PATCH from before it is refused
		// (it never lands on the rotated endpoint unseen).
		beforeRotation := get().header.Get("ETag")
		r = e.do(t, as(alice), "POST", path+"/rotate-secret", "")
		require.Equal(t, http.StatusOK, r.status, r.body)
		refused(patch(ifMatch(beforeRotation), "over the rotation"), "after a rotation")
		// So does the dispatcher's disable.
		beforeDisable := get().header.Get("ETag")
		now := time.Now()
		health := st.(store.WebhookEndpointHealth)
		require.NoError(t, health.NoteWebhookFailure(t.Context(), id, now.Add(-time.Hour)))
		done, err := health.DisableFailingWebhookEndpoint(t.Context(), id, now.Add(-time.Hour), now, "failing",
			store.Event{ID: store.NewID("evt"), OrganizationID: "org_a", Type: store.EventWebhookEndpointDisabled, Data: map[string]string{"endpoint_id": id}, CreateTime: now})
		require.NoError(t, err)
		require.True(t, done)
		refused(e.doHeader(t, as(alice), "PATCH", path, `{"enabled": true}`, ifMatch(beforeDisable)), "after a disable")
		require.Equal(t, false, get().json["endpoint"].(map[string]any)["enabled"], "still disabled")

		// Another organization's endpoint is 404 with any If-Match, as one
		// that exists nowhere.
		for _, tag := range []string{get().header.Get("ETag"), `"0"`, `*`} {
			for _, method := range []string{"PATCH", "DELETE"} {
				nowhere := e.doHeader(t, as(bea), method, "/api/organizations/org_b/webhooks/endpoints/whep_nowhere", `{"description": "x"}`, ifMatch(tag))
				r := e.doHeader(t, as(bea), method, "/api/organizations/org_b/webhooks/endpoints/"+id, `{"description": "x"}`, ifMatch(tag))
				require.Equal(t, http.StatusNotFound, r.status, r.body)
				require.Equal(t, nowhere.body, r.body)
			}
		}

		// DELETE: a stale tag deletes nothing; the current one deletes.
		current := get().header.Get("ETag")
		for _, stale := range []string{beforeDisable, `W/` + current, `"x"`} {
			refused(e.doHeader(t, as(alice), "DELETE", path, "", ifMatch(stale)), "DELETE If-Match "+stale)
		}
		require.Equal(t, current, get().header.Get("ETag"), "not deleted")
		r = e.doHeader(t, as(alice), "DELETE", path, "", ifMatch(current))
		require.Equal(t, http.StatusNoContent, r.status, r.body)
		r = e.do(t, as(alice), "GET", path, "")
		require.Equal(t, http.StatusNotFound, r.status, r.body)
	})
}

// TestIfMatchRace: two PATCHes with the same ETag at the same moment, many
// times, on memstore, SQLite and PostgreSQL: one is 200, the other 412,
// and the endpoint holds the one that was answered 200, one revision on.
// A PATCH and a DELETE with the same ETag: one of them is carried out,
// never both.
func TestIfMatchRace(t *testing.T) {
	forStores(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, insecure, nil)
		path := func(id string) string { return "/api/webhooks/endpoints/" + id }
		id, _ := e.created(t, app, "/api/webhooks/endpoints", `{"url": "http://127.0.0.1:1/hook", "eventTypes": ["membership.created"]}`)
		for round := range 25 {
			tag := e.do(t, app, "GET", path(id), "").header.Get("ETag")
			var got [2]resp
			together(func(i int) {
				got[i] = e.doHeader(t, app, "PATCH", path(id), fmt.Sprintf(`{"description": "round %d by %d"}`, round, i), ifMatch(tag))
			})
			require.ElementsMatch(t, []int{http.StatusOK, http.StatusPreconditionFailed}, []int{got[0].status, got[1].status},
				"round %d: %s | %s", round, got[0].body, got[1].body)
			winner := 0
			if got[1].status == http.StatusOK {
				winner = 1
			}
			r := e.do(t, app, "GET", path(id), "")
			require.Equal(t, fmt.Sprintf("round %d by %d", round, winner), r.json["endpoint"].(map[string]any)["description"])
			require.Equal(t, got[winner].header.Get("ETag"), r.header.Get("ETag"))
			require.Equal(t, fmt.Sprintf(`"%d"`, round+1), r.header.Get("ETag"), "one write per round")
		}
		for round := range 10 {
			id, _ := e.created(t, app, "/api/webhooks/endpoints", `{"url": "http://127.0.0.1:1/hook", "eventTypes": ["membership.created"]}`)
			tag := e.do(t, app, "GET", path(id), "").header.Get("ETag")
			var got [2]resp
			together(func(i int) {
				if i == 0 {
					got[i] = e.doHeader(t, app, "PATCH", path(id), `{"description": "patched"}`, ifMatch(tag))
				} else {
					got[i] = e.doHeader(t, app, "DELETE", path(id), "", ifMatch(tag))
				}
			})
			after := e.do(t, app, "GET", path(id), "")
			switch {
			case got[0].status == http.StatusOK:
				require.Equal(t, http.StatusPreconditionFailed, got[1].status, "round %d: %s", round, got[1].body)
				require.Equal(t, "patched", after.json["endpoint"].(map[string]any)["description"])
			default:
				require.Equal(t, http.StatusNoContent, got[1].status, "round %d: %s", round, got[1].body)
				require.Contains(t, []int{http.StatusNotFound, http.StatusPreconditionFailed}, got[0].status, got[0].body)
				require.Equal(t, http.StatusNotFound, after.status)
			}
		}
	})
}

// TestIfMatchIsTheStoresCompareAndSwap: another writer changes the
// endpoint between every read of it and the write (busyStore), so the
// handler's own look at the ETag always passes and only the store's
// compare-and-swap can tell: a PATCH and a DELETE with the ETag read
// before are 412 and write nothing.
func TestIfMatchIsTheStoresCompareAndSwap(t *testing.T) {
	for _, sc := range invitetest.StoreCasesWithPostgres() {
		t.Run(sc.Name, func(t *testing.T) {
			real := sc.Open(t)
			st := &busyStore{Store: real, WebhookStore: real.(store.WebhookStore)}
			e := newEnv(t, st, insecure, nil)
			id, _ := e.created(t, app, "/api/webhooks/endpoints", `{"url": "http://127.0.0.1:1/hook", "eventTypes": ["membership.created"], "description": "CRM"}`)
			path := "/api/webhooks/endpoints/" + id
			st.busy.Store(true)
			for _, method := range []string{"PATCH", "DELETE"} {
				ep, err := st.WebhookStore.GetWebhookEndpoint(t.Context(), id)
				require.NoError(t, err)
				r := e.doHeader(t, app, method, path, `{"description": "ERP"}`, ifMatch(fmt.Sprintf(`"%d"`, ep.Revision)))
				require.Equal(t, http.StatusPreconditionFailed, r.status, "%s: %s", method, r.body)
				require.Equal(t, "precondition_failed", r.errorCode())
				after, err := st.WebhookStore.GetWebhookEndpoint(t.Context(), id)
				require.NoError(t, err, "%s: not deleted", method)
				require.Equal(t, "CRM", after.Description, "%s: nothing written", method)
			}
		})
	}
}

// together runs fn(0) and fn(1) at the same moment and waits for both.
func together(fn func(i int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			fn(i)
		}()
	}
	close(start)
	wg.Wait()
}
