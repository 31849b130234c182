package webhookapi_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/invitekit/invitekit/invite/webhooks"
	"github.com/invitekit/invitekit/store"
)

// FuzzEndpointBodies sends arbitrary bodies to create and update, at both
// scopes: never a 5xx, every refusal a JSON error with a code, and what is
// accepted meets the rules (an https URL, known event types).
func FuzzEndpointBodies(f *testing.F) {
	for _, seed := range []string{
		`{"url": "https://hooks.example.com/x", "eventTypes": ["membership.created"]}`,
		`{"url": "https://10.0.0.1/", "eventTypes": ["membership.created"], "organizationId": "org_a"}`,
		`{"url": "http://hooks.example.com/", "eventTypes": []}`,
		`{"eventTypes": ["membership.created", 7], "description": "a\u0000"}`,
		`{"enabled": false, "url": null}`,
		"{\"url\": \"\xff\"}",
		`[]`, ``, `{`, `{"url": "https://hooks.example.com/x"}{}`,
	} {
		f.Add(seed)
	}
	e := newEnv(f, openMem(f), webhooks.Config{}, nil)
	e.Org(f, "org_a")
	alice := e.AddActive(f, "org_a", "alice@a.example", "admin").User.ID
	ep, _, err := e.hooks.CreateEndpoint(f.Context(), webhooks.EndpointRequest{URL: "https://hooks.example.com/in", EventTypes: []string{"membership.created"}, OrganizationID: "org_a"}, "")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body string) {
		for _, req := range []struct {
			method, path, auth, user string
		}{
			{"POST", "/api/webhooks/endpoints", "Bearer " + appToken, ""},
			{"POST", "/api/organizations/org_a/webhooks/endpoints", "", alice},
			{"PATCH", "/api/webhooks/endpoints/" + ep.ID, "Bearer " + appToken, ""},
			{"PATCH", "/api/organizations/org_a/webhooks/endpoints/" + ep.ID, "", alice},
		} {
			r := httptest.NewRequest(req.method, req.path, strings.NewReader(body))
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set("Authorization", req.auth)
			r.Header.Set("X-User", req.user)
			w := httptest.NewRecorder()
			mux := http.NewServeMux()
			e.api.Routes(mux, "/api")
			mux.ServeHTTP(w, r)
			if w.Code >= 500 {
				t.Fatalf("%s %s %q: %d %s", req.method, req.path, body, w.Code, w.Body)
			}
			if w.Code >= 400 && !strings.Contains(w.Body.String(), `"code":"`) {
				t.Fatalf("%s %q: a refusal without a code: %s", req.method, body, w.Body)
			}
		}
		eps, err := e.hooks.Endpoints(t.Context(), "", true)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range eps {
			if !strings.HasPrefix(x.URL, "https://") || len(x.EventTypes) == 0 {
				t.Fatalf("accepted an endpoint that breaks the rules: %+v", x)
			}
			for _, typ := range x.EventTypes {
				if !store.KnownWebhookType(typ) {
					t.Fatalf("accepted event type %q", typ)
				}
			}
		}
	})
}
