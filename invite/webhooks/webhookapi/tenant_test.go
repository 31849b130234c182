package webhookapi_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/invite/internal/invitetest"
	"github.com/invitekit/invitekit/invite/webhooks"
	"github.com/invitekit/invitekit/store"
)

// recorder is a Router that records the patterns a handler registers.
type recorder struct{ patterns []string }

func (r *recorder) Handle(pattern string, _ http.Handler) { r.patterns = append(r.patterns, pattern) }

// bMarkers are what org_b writes about the person both organizations
// have; none may reach org_a's admin.
var bMarkers = []string{"Bmarkfirst", "Bmarklast", "B-EXT-MARK", "BMARK", "org_b"}

// TestTenantIsolationEveryRoute drives every organization-scoped route
// (taken from the Handler's own routes, so a new one is covered by itself)
// as org_a's admin against org_b's endpoint and delivery, an app-wide
// endpoint and delivery, and ids that exist nowhere: the answers must be
// the same 404, byte for byte (no hint that an id exists), nothing may
// change, and nothing org_b wrote may show, in the answers or in what
// org_a's endpoint receives. Sam is a member of both organizations.
func TestTenantIsolationEveryRoute(t *testing.T) {
	forStores(t, func(t *testing.T, st store.Store) {
		ctx := t.Context()
		e, alice, bea := twoOrgs(t, st)

		inA := newInbox(t)
		rcvA := inA.srv
		rcvB := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }))
		t.Cleanup(rcvB.Close)
		all := `["invitation.created", "membership.created", "membership.activated", "membership.roles_changed", "user.signed_in"]`
		epA, _ := e.created(t, as(alice), "/api/organizations/org_a/webhooks/endpoints", fmt.Sprintf(`{"url": %q, "eventTypes": %s}`, rcvA.URL, all))
		epB, _ := e.created(t, as(bea), "/api/organizations/org_b/webhooks/endpoints", fmt.Sprintf(`{"url": %q, "eventTypes": %s}`, rcvB.URL, all))
		epApp, _ := e.created(t, app, "/api/webhooks/endpoints", fmt.Sprintf(`{"url": %q, "eventTypes": %s}`, rcvB.URL, all))

		// Sam: org_b writes its markers and Sam signs in there; org_a
		// invites Sam too.
		res, err := e.Svc.CreateUserAndMembership(ctx, "org_b", invite.InviteRequest{Email: "sam@example.com", ExternalID: "B-EXT-MARK",
			UserProfile: &invite.ProfileInput{FirstName: "Bmarkfirst", LastName: "Bmarklast"}, Metadata: map[string]string{"plan": "BMARK"},
			ReturnAcceptLink: true})
		require.NoError(t, err)
		_, err = e.Svc.AcceptInvitation(ctx, invite.TokenFromLink(res.AcceptLink), invitetest.Verified("sam@example.com"))
		require.NoError(t, err)
		e.Invite(t, "org_a", "sam@example.com", "member")
		drain(t, webhooks.NewDispatcher(e.hooks, webhooks.DispatcherConfig{MaxAttempts: 1}))
		msgOf := func(epID string) string {
			ds, err := e.hooks.Deliveries(ctx, "", epID, "", 1)
			require.NoError(t, err)
			require.NotEmpty(t, ds)
			return ds[0].MessageID
		}
		msgB, msgApp := msgOf(epB), msgOf(epApp)
		before := endpointsState(t, e)

		// What org_a's endpoint received: org_a's view only.
		gotA := inA.take()
		require.NotEmpty(t, gotA)
		for _, d := range gotA {
			requireNoMarkers(t, "a delivery to org_a's endpoint", string(d.body))
		}

		rec := &recorder{}
		e.api.Routes(rec, "")
		wild := regexp.MustCompile(`\{[^}]+\}`)
		targets := []struct{ name, ep, msg string }{
			{"org_b's", epB, msgB},
			{"app-wide", epApp, msgApp},
			{"nonexistent", "whep_0000000000000000000000000", "msg_0000000000000000000000000_membership_created"},
		}
		swept := 0
		for _, pattern := range rec.patterns {
			if !strings.HasPrefix(pattern, "/organizations/{orgID}/") {
				continue
			}
			for _, method := range methodsOf(t, e, pattern) {
				swept++
				body := ""
				switch {
				case method == "PATCH":
					body = `{"description": "changed", "enabled": false}`
				case method == "POST" && strings.HasSuffix(pattern, "/endpoints"):
					body = fmt.Sprintf(`{"url": %q, "eventTypes": ["membership.created"], "organizationId": "org_b"}`, rcvA.URL)
				}
				step := method + " " + pattern
				// Another organization's path: refused by the admin check.
				r := e.do(t, as(alice), method, "/api"+fill(t, wild, pattern, "org_b", epB, msgB), body)
				require.Equal(t, http.StatusForbidden, r.status, "%s on org_b: %s", step, r.body)
				if !strings.Contains(pattern, "{endpointID}") {
					r := e.do(t, as(alice), method, "/api"+fill(t, wild, pattern, "org_a", "", ""), body)
					require.Less(t, r.status, 500, step)
					requireNoMarkers(t, step, r.body)
					continue
				}
				var first resp
				for i, tg := range targets {
					r := e.do(t, as(alice), method, "/api"+fill(t, wild, pattern, "org_a", tg.ep, tg.msg), body)
					requireNoMarkers(t, step, r.body)
					require.Equal(t, http.StatusNotFound, r.status, "%s with %s ids: %s", step, tg.name, r.body)
					if i == 0 {
						first = r
						continue
					}
					require.Equal(t, first.body, r.body, "%s: %s ids answer as org_b's do", step, tg.name)
				}
			}
		}
		require.GreaterOrEqual(t, swept, 9, "every organization-scoped route and method")

		// Creating for another organization, or app-wide, is refused alike.
		var refusals []string
		for _, org := range []string{`"org_b"`, `""`, `"org_nowhere"`} {
			r := e.do(t, as(alice), "POST", "/api/organizations/org_a/webhooks/endpoints",
				fmt.Sprintf(`{"url": "https://hooks.example.com/x", "eventTypes": ["membership.created"], "organizationId": %s}`, org))
			require.Equal(t, http.StatusUnprocessableEntity, r.status, r.body)
			require.Equal(t, "organizationId", r.errorField())
			refusals = append(refusals, r.body)
		}
		require.Equal(t, refusals[0], refusals[1])
		require.Equal(t, refusals[0], refusals[2])

		// org_a's admin lists only org_a's endpoint; its feed is org_a's view.
		r := e.do(t, as(alice), "GET", "/api/organizations/org_a/webhooks/endpoints", "")
		require.Len(t, r.json["endpoints"], 1)
		require.Contains(t, r.body, epA)
		feed := e.do(t, as(alice), "GET", "/api/organizations/org_a/events?limit=1000", "")
		require.Equal(t, http.StatusOK, feed.status)
		requireNoMarkers(t, "org_a's feed", feed.body)
		require.NotEmpty(t, feed.json["events"])

		require.Equal(t, before, endpointsState(t, e), "nothing of org_b's or the app's changed")
	})
}

// requireNoMarkers fails when body holds anything org_b wrote.
func requireNoMarkers(t *testing.T, what, body string) {
	t.Helper()
	for _, m := range bMarkers {
		require.NotContains(t, body, m, "%s shows what org_b wrote", what)
	}
}

// methodsOf asks the route which methods it serves (405's Allow).
func methodsOf(t *testing.T, e *env, pattern string) []string {
	req, err := http.NewRequest("PROPFIND", e.srv.URL+"/api"+regexp.MustCompile(`\{[^}]+\}`).ReplaceAllString(pattern, "x"), nil)
	require.NoError(t, err)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusMethodNotAllowed, res.StatusCode, pattern)
	var out []string
	for _, m := range strings.Split(res.Header.Get("Allow"), ", ") {
		if m != "HEAD" {
			out = append(out, m)
		}
	}
	return out
}

// fill puts org, endpoint and message ids into pattern's wildcards.
func fill(t *testing.T, wild *regexp.Regexp, pattern, org, ep, msg string) string {
	return wild.ReplaceAllStringFunc(pattern, func(w string) string {
		switch w {
		case "{orgID}":
			return org
		case "{endpointID}":
			return ep
		case "{messageID}":
			return msg
		}
		t.Fatalf("%s: wildcard %s unknown to the tenant sweep", pattern, w)
		return ""
	})
}

// endpointsState is everything stored about every endpoint and its
// deliveries (secrets included), to check that nothing changed.
func endpointsState(t *testing.T, e *env) string {
	t.Helper()
	wh := e.St.(store.WebhookStore)
	eps, err := wh.ListWebhookEndpoints(t.Context(), "", true)
	require.NoError(t, err)
	var b strings.Builder
	for _, ep := range eps {
		fmt.Fprintf(&b, "%s %s %v %q %x %v\n", ep.ID, ep.URL, ep.EventTypes, ep.Description, ep.SealedSecret, ep.DisabledTime)
		ds, err := wh.ListWebhookDeliveries(t.Context(), ep.ID, "", 0, 1000)
		require.NoError(t, err)
		for _, d := range ds {
			fmt.Fprintf(&b, "  %s %s %d\n", d.MessageID, d.Status, d.Attempts)
		}
	}
	return b.String()
}
