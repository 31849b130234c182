package inviteapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/internal/dnstest"
	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/invite/inviteapi"
	"github.com/invitekit/invitekit/store"
)

// TestJoinAndDomainRoutes drives the join request and domain routes as an
// organization's admin: list, approve, decline, claim, verify against a
// DNS server on loopback, set the policy, remove; bad input names its
// field and changes nothing.
func TestJoinAndDomainRoutes(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		dns := dnstest.Start(t)
		e := newEnv(t, st, func(c *invite.Config) { c.Domains.Resolver = dns.Resolver() })
		e.Org(t, "org_a")
		admin := e.AddActive(t, "org_a", "alice@a.example", "admin")
		api, err := inviteapi.NewHandler(e.Svc, func(r *http.Request, orgID string, _ inviteapi.Action) (string, error) {
			return admin.User.ID, nil
		}, inviteapi.HandlerConfig{})
		require.NoError(t, err)
		srv := httptest.NewServer(api)
		t.Cleanup(srv.Close)
		do := func(method, path, body string) (int, map[string]any) {
			t.Helper()
			req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
			if body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			var out map[string]any
			_ = json.Unmarshal(b, &out)
			return resp.StatusCode, out
		}
		errOf := func(out map[string]any) (string, string) {
			e, _ := out["error"].(map[string]any)
			code, _ := e["code"].(string)
			field, _ := e["field"].(string)
			return code, field
		}

		ann, err := e.Svc.RequestToJoin(ctx, "org_a", invite.JoinRequestInput{Email: "ann@example.com", EmailVerified: true, Message: "hi"})
		require.NoError(t, err)
		bob, err := e.Svc.RequestToJoin(ctx, "org_a", invite.JoinRequestInput{Email: "bob@example.com", EmailVerified: true})
		require.NoError(t, err)

		status, out := do("GET", "/organizations/org_a/join-requests?status=pending", "")
		require.Equal(t, http.StatusOK, status)
		assert.Len(t, out["joinRequests"], 2)
		status, out = do("GET", "/organizations/org_a/join-requests?status=maybe", "")
		assert.Equal(t, http.StatusUnprocessableEntity, status)
		code, field := errOf(out)
		assert.Equal(t, [2]string{"invalid_argument", "status"}, [2]string{code, field})

		status, out = do("POST", "/organizations/org_a/join-requests/"+ann.ID+"/approve", `{"roles":["member","owner"]}`)
		assert.Equal(t, http.StatusUnprocessableEntity, status)
		code, field = errOf(out)
		assert.Equal(t, [2]string{"invalid_argument", "roles[1]"}, [2]string{code, field})
		status, out = do("POST", "/organizations/org_a/join-requests/"+ann.ID+"/approve", `{"roles":"member"}`)
		assert.Equal(t, http.StatusBadRequest, status)
		code, field = errOf(out)
		assert.Equal(t, [2]string{"malformed_request", "roles"}, [2]string{code, field})

		status, out = do("POST", "/organizations/org_a/join-requests/"+ann.ID+"/approve", `{"roles":["billing"]}`)
		require.Equal(t, http.StatusOK, status, "%v", out)
		jr := out["joinRequest"].(map[string]any)
		assert.Equal(t, "APPROVED", jr["status"])
		assert.Equal(t, []any{"billing"}, jr["roles"])
		status, out = do("POST", "/organizations/org_a/join-requests/"+ann.ID+"/decline", "")
		assert.Equal(t, http.StatusConflict, status)
		code, _ = errOf(out)
		assert.Equal(t, "wrong_status", code)

		status, out = do("POST", "/organizations/org_a/join-requests/"+bob.ID+"/decline", `{"reason":"not staff"}`)
		require.Equal(t, http.StatusOK, status)
		assert.Equal(t, "DECLINED", out["joinRequest"].(map[string]any)["status"])
		status, _ = do("GET", "/organizations/org_a/join-requests/jrq_nope", "")
		assert.Equal(t, http.StatusNotFound, status)

		// Domains.
		status, out = do("POST", "/organizations/org_a/domains", `{"domain":"not a domain"}`)
		assert.Equal(t, http.StatusUnprocessableEntity, status)
		code, field = errOf(out)
		assert.Equal(t, [2]string{"invalid_argument", "domain"}, [2]string{code, field})
		status, out = do("POST", "/organizations/org_a/domains", `{"domain":"Acme-Corp.test"}`)
		require.Equal(t, http.StatusCreated, status, "%v", out)
		d := out["domain"].(map[string]any)
		rec := d["record"].(map[string]any)
		assert.Equal(t, "acme-corp.test", d["domain"])
		assert.Equal(t, "TXT", rec["type"])
		assert.Equal(t, "_invitekit-challenge.acme-corp.test", rec["name"])
		status, out = do("POST", "/organizations/org_a/domains", `{"domain":"acme-corp.test"}`)
		assert.Equal(t, http.StatusConflict, status)
		code, _ = errOf(out)
		assert.Equal(t, "domain_claimed", code)

		status, out = do("POST", "/organizations/org_a/domains/acme-corp.test/verify", "")
		assert.Equal(t, http.StatusUnprocessableEntity, status)
		code, field = errOf(out)
		assert.Equal(t, [2]string{"domain_record_missing", "domain"}, [2]string{code, field})
		dns.Set(rec["name"].(string), rec["value"].(string))
		status, out = do("POST", "/organizations/org_a/domains/acme-corp.test/verify", "")
		require.Equal(t, http.StatusOK, status, "%v", out)
		assert.Equal(t, true, out["domain"].(map[string]any)["verified"])

		status, out = do("PATCH", "/organizations/org_a/domains/acme-corp.test", `{"policy":"SOMETIMES"}`)
		assert.Equal(t, http.StatusUnprocessableEntity, status)
		code, field = errOf(out)
		assert.Equal(t, [2]string{"invalid_argument", "policy"}, [2]string{code, field})
		status, out = do("PATCH", "/organizations/org_a/domains/acme-corp.test", `{"policy":"AUTO_JOIN","defaultRoles":["member"],"extra":1}`)
		assert.Equal(t, http.StatusBadRequest, status)
		code, _ = errOf(out)
		assert.Equal(t, "malformed_request", code)
		status, out = do("PATCH", "/organizations/org_a/domains/acme-corp.test", `{"policy":"AUTO_JOIN","defaultRoles":["member"]}`)
		require.Equal(t, http.StatusOK, status)
		assert.Equal(t, "AUTO_JOIN", out["domain"].(map[string]any)["policy"])

		status, out = do("GET", "/organizations/org_a/domains", "")
		require.Equal(t, http.StatusOK, status)
		assert.Len(t, out["domains"], 1)
		status, _ = do("DELETE", "/organizations/org_a/domains/acme-corp.test", "")
		assert.Equal(t, http.StatusNoContent, status)
		status, _ = do("GET", "/organizations/org_a/domains/acme-corp.test", "")
		assert.Equal(t, http.StatusNotFound, status)
	})
}
