package inviteapi_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/invite/inviteapi"
	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/store/memstore"
)

// approvalAPI is org_a with an admin (usr of alice) and a member (bob),
// the JSON API acting as whoever actor names.
type approvalAPI struct {
	e            *env
	h            *inviteapi.Handler
	admin, membr string
	actor        string
	mu           sync.Mutex
	actions      []inviteapi.Action
}

func newApprovalAPI(t *testing.T, st store.Store) *approvalAPI {
	t.Helper()
	a := &approvalAPI{e: newEnv(t, st, nil)}
	a.e.Org(t, "org_a")
	a.e.Org(t, "org_b")
	a.admin = a.e.AddActive(t, "org_a", "alice@a.example", "admin").User.ID
	a.membr = a.e.AddActive(t, "org_a", "bob@a.example", "member").User.ID
	a.actor = a.admin
	a.h = newHandler(t, a.e, func(r *http.Request, orgID string, action inviteapi.Action) (string, error) {
		a.mu.Lock()
		defer a.mu.Unlock()
		a.actions = append(a.actions, action)
		return a.actor, nil
	})
	return a
}

func (a *approvalAPI) do(t *testing.T, method, path, body string) (int, map[string]any) {
	t.Helper()
	return serve(t, a.h, jsonRequest(method, path, body))
}

// TestAPIApprovals: rules set through the API hold invites; the held
// invite is listed, approved (the user comes back PENDING_INVITE) or
// rejected (with the reason); a second decision is 409 approval_decided.
func TestAPIApprovals(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		a := newApprovalAPI(t, st)
		status, body := a.do(t, "GET", "/organizations/org_a/approval-rules", "")
		require.Equal(t, http.StatusOK, status, "%v", body)
		assert.Equal(t, float64(0), body["revision"])
		assert.Equal(t, []any{}, body["roles"])

		status, body = a.do(t, "PUT", "/organizations/org_a/approval-rules", `{"inviterRoles":["member"],"outsideDomains":true,"domains":["A.example"]}`)
		require.Equal(t, http.StatusOK, status, "%v", body)
		assert.Equal(t, float64(1), body["revision"])
		assert.Equal(t, []any{"a.example"}, body["domains"])

		a.actor = a.membr
		status, body = a.do(t, "POST", "/organizations/org_a/users", `{"email":"held@else.example","roles":["member"]}`)
		require.Equal(t, http.StatusCreated, status, "%v", body)
		assert.Equal(t, "PENDING_APPROVAL", membership(t, body["user"].(map[string]any))["membershipStatus"])
		appr := body["approval"].(map[string]any)
		id := appr["id"].(string)
		assert.Equal(t, "api", appr["surface"])
		assert.Contains(t, appr["holdReason"], `members with the role "member"`)
		assert.NotContains(t, body, "acceptLink")

		// The member cannot see or decide it: only approvers (admins) can.
		status, body = a.do(t, "GET", "/organizations/org_a/approvals", "")
		require.Equal(t, http.StatusForbidden, status)
		code, _, _ := apiError(t, body)
		assert.Equal(t, "not_approver", code)
		status, _ = a.do(t, "POST", "/organizations/org_a/approvals/"+id+"/approve", "")
		require.Equal(t, http.StatusForbidden, status)

		a.actor = a.admin
		status, body = a.do(t, "GET", "/organizations/org_a/approvals", "")
		require.Equal(t, http.StatusOK, status)
		list := body["approvals"].([]any)
		require.Len(t, list, 1)
		item := list[0].(map[string]any)
		assert.Equal(t, "held@else.example", item["email"])
		assert.Equal(t, "bob@a.example", item["inviterName"])
		assert.Equal(t, "PENDING", item["status"])
		assert.Equal(t, false, item["expired"])

		status, body = a.do(t, "GET", "/organizations/org_a/approvals/"+id, "")
		require.Equal(t, http.StatusOK, status)
		assert.Equal(t, id, body["approval"].(map[string]any)["id"])

		status, body = a.do(t, "POST", "/organizations/org_a/approvals/"+id+"/approve", `{"roles":["billing"]}`)
		require.Equal(t, http.StatusOK, status, "%v", body)
		assert.Equal(t, "APPROVED", body["approval"].(map[string]any)["status"])
		m := membership(t, body["user"].(map[string]any))
		assert.Equal(t, "PENDING_INVITE", m["membershipStatus"])
		assert.Equal(t, "billing", m["roles"].([]any)[0].(map[string]any)["name"])

		status, body = a.do(t, "POST", "/organizations/org_a/approvals/"+id+"/reject", `{"reason":"too late"}`)
		require.Equal(t, http.StatusConflict, status)
		code, _, _ = apiError(t, body)
		assert.Equal(t, "approval_decided", code)

		// A reject, with its reason.
		a.actor = a.membr
		_, body = a.do(t, "POST", "/organizations/org_a/users", `{"email":"other@else.example"}`)
		id2 := body["approval"].(map[string]any)["id"].(string)
		a.actor = a.admin
		status, body = a.do(t, "POST", "/organizations/org_a/approvals/"+id2+"/reject", `{"reason":"not a customer"}`)
		require.Equal(t, http.StatusOK, status, "%v", body)
		assert.Equal(t, "REJECTED", body["approval"].(map[string]any)["status"])
		assert.Equal(t, "not a customer", body["approval"].(map[string]any)["reason"])
		status, _ = a.do(t, "GET", "/organizations/org_a/users:lookup?email=other@else.example", "")
		assert.Equal(t, http.StatusNotFound, status, "the rejected membership is gone")

		assert.Contains(t, a.actions, inviteapi.ActionApprovalsList)
		assert.Contains(t, a.actions, inviteapi.ActionApprovalsDecide)
		assert.Contains(t, a.actions, inviteapi.ActionRulesSet)
		assert.Contains(t, a.actions, inviteapi.ActionRulesGet)
	})
}

// TestAPIApprovalsTwoApprovers: two approvers at once over HTTP: one 200,
// one 409.
func TestAPIApprovalsTwoApprovers(t *testing.T) {
	a := newApprovalAPI(t, openSQLite(t))
	a.do(t, "PUT", "/organizations/org_a/approval-rules", `{"all":true}`)
	for i := range 5 {
		_, body := a.do(t, "POST", "/organizations/org_a/users", `{"email":"r`+string(rune('a'+i))+`@else.example"}`)
		id := body["approval"].(map[string]any)["id"].(string)
		codes := make([]int, 2)
		var wg sync.WaitGroup
		for j, path := range []string{"/approve", "/reject"} {
			wg.Go(func() {
				body := ""
				if path == "/reject" {
					body = `{"reason":"no"}`
				}
				rec := httptestServe(a.h, jsonRequest("POST", "/organizations/org_a/approvals/"+id+path, body))
				codes[j] = rec
			})
		}
		wg.Wait()
		assert.ElementsMatch(t, []int{http.StatusOK, http.StatusConflict}, codes, "round %d", i)
	}
}

// TestAPIApprovalsBadInput: every bad input is a 4xx with its code and
// field, and changes nothing.
func TestAPIApprovalsBadInput(t *testing.T) {
	a := newApprovalAPI(t, memstore.New())
	a.do(t, "PUT", "/organizations/org_a/approval-rules", `{"all":true}`)
	_, body := a.do(t, "POST", "/organizations/org_a/users", `{"email":"h@else.example"}`)
	id := body["approval"].(map[string]any)["id"].(string)
	before := takeSnapshot(t, a.e.St, []string{"org_a", "org_b"}, []string{"h@else.example"})
	cases := []struct {
		method, path, body string
		status             int
		code, field        string
	}{
		{"PUT", "/organizations/org_a/approval-rules", `{"roles":["owner"]}`, 422, "invalid_argument", "roles[0]"},
		{"PUT", "/organizations/org_a/approval-rules", `{"inviterRoles":["admin","root"]}`, 422, "invalid_argument", "inviterRoles[1]"},
		{"PUT", "/organizations/org_a/approval-rules", `{"domains":["ok.example","bad domain"]}`, 422, "invalid_argument", "domains[1]"},
		{"PUT", "/organizations/org_a/approval-rules", `{"all":"yes"}`, 400, "malformed_request", "all"},
		{"PUT", "/organizations/org_a/approval-rules", `{"alll":true}`, 400, "malformed_request", "alll"},
		{"PUT", "/organizations/org_a/approval-rules", `{"domains":["a\u0000.example"]}`, 422, "invalid_argument", "domains[0]"},
		{"PUT", "/organizations/org_a/approval-rules", `{"all":true} {}`, 400, "malformed_request", ""},
		{"POST", "/organizations/org_a/approvals/" + id + "/reject", `{}`, 422, "invalid_argument", "reason"},
		{"POST", "/organizations/org_a/approvals/" + id + "/reject", `{"reason":"` + strings.Repeat("x", 501) + `"}`, 422, "invalid_argument", "reason"},
		{"POST", "/organizations/org_a/approvals/" + id + "/reject", `{"reason":"a\u0007b"}`, 422, "invalid_argument", "reason"},
		{"POST", "/organizations/org_a/approvals/" + id + "/reject", `{"reason":5}`, 400, "malformed_request", "reason"},
		{"POST", "/organizations/org_a/approvals/" + id + "/approve", `{"roles":["root"]}`, 422, "invalid_argument", "roles[0]"},
		{"POST", "/organizations/org_a/approvals/" + id + "/approve", `{"roles":[]}`, 422, "invalid_argument", "roles"},
		{"POST", "/organizations/org_a/approvals/" + id + "/approve", `{"role":["admin"]}`, 400, "malformed_request", "role"},
		{"POST", "/organizations/org_a/approvals/apr_missing/approve", ``, 404, "not_found", ""},
		{"POST", "/organizations/org_a/approvals/%ff/approve", ``, 400, "", ""},
		{"GET", "/organizations/org_a/approvals?pageSize=0", ``, 422, "invalid_argument", "pageSize"},
		{"GET", "/organizations/org_a/approvals?pageSize=x", ``, 422, "invalid_argument", "pageSize"},
		{"DELETE", "/organizations/org_a/approvals/" + id, ``, 405, "method_not_allowed", ""},
	}
	for _, tc := range cases {
		r := jsonRequest(tc.method, tc.path, tc.body)
		status, body := serve(t, a.h, r)
		if tc.code == "" {
			assert.GreaterOrEqual(t, status, 400, "%s %s", tc.method, tc.path)
			assert.Less(t, status, 500, "%s %s", tc.method, tc.path)
			continue
		}
		if !assert.Equal(t, tc.status, status, "%s %s %s: %v", tc.method, tc.path, tc.body, body) {
			continue
		}
		code, field, _ := apiError(t, body)
		assert.Equal(t, tc.code, code, "%s %s %s", tc.method, tc.path, tc.body)
		assert.Equal(t, tc.field, field, "%s %s %s", tc.method, tc.path, tc.body)
	}
	assertUnchanged(t, before, takeSnapshot(t, a.e.St, []string{"org_a", "org_b"}, []string{"h@else.example"}))
	r, err := a.e.Svc.ApprovalRules(context.Background(), "org_a")
	require.NoError(t, err)
	assert.Equal(t, int64(1), r.Revision, "no bad rules were stored")
	m, err := a.e.Svc.GetMember(context.Background(), "org_a", invite.UserRef{Email: "h@else.example"})
	require.NoError(t, err)
	assert.Equal(t, store.StatusPendingApproval, m.Membership.Status)
}

// httptestServe runs r through h and returns the status only (safe to
// call from many goroutines: no testing.T).
func httptestServe(h http.Handler, r *http.Request) int {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec.Code
}
