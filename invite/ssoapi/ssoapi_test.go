package ssoapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/invite/internal/invitetest"
	"github.com/invitekit/invitekit/invite/ssoapi"
	"github.com/invitekit/invitekit/store"
)

// startOP runs zitadel's example OP in process: a real provider to test
// connections against.
func startOP(t *testing.T) string {
	t.Helper()
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	issuer := srv.URL + "/"
	h = exampleop.SetupServer(issuer, storage.NewStorage(storage.NewUserStore(issuer)), nil, false)
	return issuer
}

type call struct {
	status int
	body   map[string]any
	raw    string
}

func do(t *testing.T, h http.Handler, method, path, body string) call {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	c := call{status: rec.Code, raw: rec.Body.String()}
	_ = json.Unmarshal(rec.Body.Bytes(), &c.body)
	return c
}

func (c call) code() string {
	e, _ := c.body["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

func (c call) field() string {
	e, _ := c.body["error"].(map[string]any)
	s, _ := e["field"].(string)
	return s
}

// TestAPI: save with the test, read (never the secret), refuse a provider
// that does not answer, bad input with its field, test alone, trust,
// delete; every store; an authorizer admitting organization A only never
// lets A's caller read or change B's connection.
func TestAPI(t *testing.T) {
	issuer := startOP(t)
	for _, sc := range invitetest.StoreCasesWithPostgres() {
		t.Run(sc.Name, func(t *testing.T) {
			ctx := context.Background()
			e := invitetest.NewEnv(t, sc.Open(t), nil)
			a, b := e.Org(t, "org_api_a"), e.Org(t, "org_api_b")
			h, err := ssoapi.New(e.Svc, ssoapi.Config{Authorize: func(r *http.Request, orgID string, action ssoapi.Action) (string, error) {
				if orgID != a.ID {
					return "", ssoapi.ErrPermissionDenied
				}
				return "usr_admin_a", nil
			}})
			if err != nil {
				t.Fatal(err)
			}
			base := "/organizations/" + a.ID + "/sso-connection"
			good := `{"name":"Acme Okta","issuer":"` + issuer + `","clientId":"web","clientSecret":"top-secret","scopes":["groups"],"enforce":true}`

			if c := do(t, h, "GET", base, ""); c.status != 404 {
				t.Fatalf("none yet: %d %s", c.status, c.raw)
			}
			c := do(t, h, "PUT", base, good)
			if c.status != 200 || c.body["hasClientSecret"] != true || strings.Contains(c.raw, "top-secret") || c.body["enforce"] != true {
				t.Fatalf("save: %d %s", c.status, c.raw)
			}
			id, _ := c.body["id"].(string)
			if c = do(t, h, "GET", base, ""); c.status != 200 || c.body["id"] != id || strings.Contains(c.raw, "top-secret") || strings.Contains(c.raw, "sealed") {
				t.Fatalf("get: %d %s", c.status, c.raw)
			}
			if ev := e.LastEvent(t, a.ID); ev.Type != store.EventSSOConnectionSaved || ev.ActorID != "usr_admin_a" {
				t.Fatalf("event: %+v", ev)
			}

			// Refusals change nothing.
			before := len(e.Events(t, a.ID))
			for _, tc := range []struct {
				path, body  string
				status      int
				code, field string
			}{
				{base, strings.Replace(good, issuer, "http://127.0.0.1:1/", 1), 422, store.CodeSSOTestFailed, "issuer"},
				{base, strings.Replace(good, `"web"`, `""`, 1), 422, "invalid_argument", "clientId"},
				{base, strings.Replace(good, `["groups"]`, `["ok","bad scope"]`, 1), 422, "invalid_argument", "scopes[1]"},
				{base, strings.Replace(good, `"enforce":true`, `"enforce":true,"extra":1`, 1), 400, "malformed_request", "extra"},
				{base, "{", 400, "malformed_request", ""},
				{base + "?test=maybe", good, 422, "invalid_argument", "test"},
			} {
				c := do(t, h, "PUT", tc.path, tc.body)
				if c.status != tc.status || c.code() != tc.code || (tc.field != "" && c.field() != tc.field) {
					t.Errorf("PUT %s %s: %d %s", tc.path, tc.body, c.status, c.raw)
				}
			}
			if n := len(e.Events(t, a.ID)); n != before {
				t.Fatalf("refusals wrote %d events", n-before)
			}
			// Untested save is allowed on request.
			if c := do(t, h, "PUT", base+"?test=false", strings.Replace(good, issuer, "https://later.example.com", 1)); c.status != 200 {
				t.Fatalf("untested save: %d %s", c.status, c.raw)
			}
			// Test alone.
			if c := do(t, h, "POST", base+":test", good); c.status != 200 || c.body["keys"].(float64) < 1 {
				t.Fatalf("test: %d %s", c.status, c.raw)
			}
			// Trust.
			if c := do(t, h, "PUT", "/organizations/"+a.ID+"/sso-trust", `{"connectionIds":["ssc_other"]}`); c.status != 200 || !strings.Contains(c.raw, "ssc_other") {
				t.Fatalf("trust: %d %s", c.status, c.raw)
			}
			if c := do(t, h, "PUT", "/organizations/"+a.ID+"/sso-trust", `{"connectionIds":["x"]}`); c.status != 422 || c.field() != "connectionIds[0]" {
				t.Fatalf("bad trust: %d %s", c.status, c.raw)
			}

			// Tenant: B's connection is out of A's caller's reach, on every
			// route, and answers exactly as for an organization that does
			// not exist.
			if _, err := e.Svc.SaveSSOConnection(ctx, b.ID, invite.SSOConnectionRequest{Name: "B", Issuer: "https://b.example.com", ClientID: "b"}, ""); err != nil {
				t.Fatal(err)
			}
			for _, rt := range h.RoutePaths() {
				method, path, _ := strings.Cut(rt, " ")
				for _, org := range []string{b.ID, "org_nobody"} {
					c := do(t, h, method, strings.Replace(path, "{orgID}", org, 1), good)
					if c.status != 403 || c.code() != "permission_denied" || strings.Contains(c.raw, "https://b.example.com") {
						t.Errorf("%s for %s: %d %s", rt, org, c.status, c.raw)
					}
				}
			}
			if got, _ := e.Svc.SSOConnection(ctx, b.ID); got.Name != "B" {
				t.Fatalf("B's connection changed: %+v", got)
			}

			if c := do(t, h, "DELETE", base, ""); c.status != 204 {
				t.Fatalf("delete: %d %s", c.status, c.raw)
			}
			if c := do(t, h, "GET", base, ""); c.status != 404 {
				t.Fatalf("after delete: %d", c.status)
			}
		})
	}
}
