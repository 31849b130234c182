package inviteapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/invite/inviteapi"
	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/store/memstore"
)

// fixturesDir holds the seed's example request and response.
var fixturesDir = "testdata"

func allowAll(r *http.Request, orgID string, action inviteapi.Action) (string, error) {
	return "usr_admin", nil
}

func jsonRequest(method, path, body string) *http.Request {
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	return r
}

func decodeBody(t testing.TB, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("response is not a JSON object: %v\n%s", err, b)
	}
	return m
}

// serve runs one request through h and decodes the JSON body (nil for 204).
func serve(t testing.TB, h http.Handler, r *http.Request) (int, map[string]any) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code == http.StatusNoContent {
		return rec.Code, nil
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Fatalf("Content-Type = %q (status %d, body %s)", ct, rec.Code, rec.Body)
	}
	return rec.Code, decodeBody(t, rec.Body.Bytes())
}

func newHandler(t testing.TB, e *env, authz inviteapi.Authorizer) *inviteapi.Handler {
	t.Helper()
	h, err := inviteapi.NewHandler(e.Svc, authz, inviteapi.HandlerConfig{RateLimits: noLimits}) // limits: ratelimit_test.go
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// apiError returns the error object of a response.
func apiError(t testing.TB, body map[string]any) (code, field, message string) {
	t.Helper()
	obj, ok := body["error"].(map[string]any)
	if !ok {
		t.Fatalf("no error object in %v", body)
	}
	if len(obj) != 3 {
		t.Errorf("error object keys = %v, want code, message, field", obj)
	}
	return obj["code"].(string), obj["field"].(string), obj["message"].(string)
}

// compareShape fails unless got has exactly want's keys at every level,
// with the same JSON kinds (object, array, string, number, bool, null).
func compareShape(t testing.TB, path string, want, got any) {
	t.Helper()
	if reflect.TypeOf(want) != reflect.TypeOf(got) {
		t.Errorf("%s: kind %T, want %T", path, got, want)
		return
	}
	switch w := want.(type) {
	case map[string]any:
		g := got.(map[string]any)
		wk, gk := sortedKeys(w), sortedKeys(g)
		if !reflect.DeepEqual(wk, gk) {
			t.Errorf("%s: keys %v, want %v", path, gk, wk)
			return
		}
		for _, k := range wk {
			compareShape(t, path+"."+k, w[k], g[k])
		}
	case []any:
		g := got.([]any)
		if len(w) != len(g) {
			t.Errorf("%s: %d elements, want %d", path, len(g), len(w))
			return
		}
		for i := range w {
			compareShape(t, fmt.Sprintf("%s[%d]", path, i), w[i], g[i])
		}
	}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func TestSeedFixture(t *testing.T) {
	reqBody, err := os.ReadFile(filepath.Join(fixturesDir, "seed-invite-request.json"))
	if err != nil {
		t.Fatalf("seed request fixture: %v", err)
	}
	respBody, err := os.ReadFile(filepath.Join(fixturesDir, "seed-invite-response.json"))
	if err != nil {
		t.Fatalf("seed response fixture: %v", err)
	}
	seed := decodeBody(t, respBody)
	forEachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, nil)
		e.Org(t, "org_acme")
		h := newHandler(t, e, allowAll)
		code, got := serve(t, h, jsonRequest(http.MethodPost, "/organizations/org_acme/users", string(reqBody)))
		if code != http.StatusCreated {
			t.Fatalf("status = %d, body %v", code, got)
		}
		compareShape(t, "$", seed, got)

		u := got["user"].(map[string]any)
		m := u["memberships"].([]any)[0].(map[string]any)
		p := u["userProfile"].(map[string]any)
		checks := map[string][2]any{
			"email":                   {u["email"], "user@example.com"},
			"externalId":              {u["externalId"], "crm-user-87425"},
			"environmentId":           {u["environmentId"], "env_default"},
			"organizationId":          {m["organizationId"], "org_acme"},
			"membershipStatus":        {m["membershipStatus"], "PENDING_INVITE"},
			"primaryIdentityProvider": {m["primaryIdentityProvider"], "IDENTITY_PROVIDER_UNSPECIFIED"},
			"name":                    {p["name"], "John Doe"},
			"locale":                  {p["locale"], "en"},
			"emailVerified":           {p["emailVerified"], false},
			"lastLogin":               {u["lastLogin"], nil},
		}
		for name, c := range checks {
			if c[0] != c[1] {
				t.Errorf("%s = %v, want %v", name, c[0], c[1])
			}
		}
		if !strings.HasPrefix(u["id"].(string), "usr_") || !strings.HasPrefix(p["id"].(string), "prof_") {
			t.Errorf("ids = %v / %v", u["id"], p["id"])
		}
		wantRoles := []any{map[string]any{"id": "role_admin", "name": "admin"}}
		if !reflect.DeepEqual(m["roles"], wantRoles) {
			t.Errorf("roles = %v", m["roles"])
		}
		seedUser := seed["user"].(map[string]any)
		if !reflect.DeepEqual(u["metadata"], seedUser["metadata"]) || !reflect.DeepEqual(m["metadata"], seedUser["metadata"]) {
			t.Errorf("metadata = %v / %v", u["metadata"], m["metadata"])
		}
		// A mail was queued (sendInvitationEmail: true).
		if msgs := e.Queued(t, "org_acme"); len(msgs) != 1 || msgs[0].Kind != store.MailInvitation {
			t.Errorf("outbox = %+v", msgs)
		}
	})
}

func TestAPIOperations(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, nil)
		e.Org(t, "org_a")
		h := newHandler(t, e, allowAll)

		// Create with the alias and the accept link.
		code, body := serve(t, h, jsonRequest(http.MethodPost, "/organizations/org_a/users",
			`{"email":"Ann@Example.com","sendActivationEmail":false,"returnAcceptLink":true,"roles":["member"]}`))
		if code != http.StatusCreated {
			t.Fatalf("create: %d %v", code, body)
		}
		link, _ := body["acceptLink"].(string)
		if !strings.HasPrefix(link, acceptURL+"?token=") {
			t.Fatalf("acceptLink = %q", link)
		}
		ann := body["user"].(map[string]any)
		annID := ann["id"].(string)
		if s := membership(t, ann)["membershipStatus"]; s != "PENDING_INVITE" {
			t.Errorf("status = %v", s)
		}
		if len(e.Queued(t, "org_a")) != 0 {
			t.Error("link-only invite queued a mail")
		}
		if ev := e.LastEvent(t, "org_a"); ev.ActorID != "usr_admin" {
			t.Errorf("actor = %q, want the authorizer's", ev.ActorID)
		}
		// Direct add.
		code, body = serve(t, h, jsonRequest(http.MethodPost, "/organizations/org_a/users",
			`{"email":"bob@example.com","externalId":"crm-bob","sendInvitationEmail":false}`))
		if code != http.StatusCreated || membership(t, body["user"].(map[string]any))["membershipStatus"] != "ACTIVE" {
			t.Fatalf("direct add: %d %v", code, body)
		}
		if _, ok := body["acceptLink"]; ok {
			t.Error("acceptLink without returnAcceptLink")
		}
		bobID := body["user"].(map[string]any)["id"].(string)

		// Get, lookup.
		for _, path := range []string{
			"/organizations/org_a/users/" + bobID,
			"/organizations/org_a/users:lookup?email=BOB%40example.com",
			"/organizations/org_a/users:lookup?externalId=crm-bob",
		} {
			code, body = serve(t, h, jsonRequest(http.MethodGet, path, ""))
			if code != http.StatusOK || body["user"].(map[string]any)["id"] != bobID {
				t.Errorf("GET %s: %d %v", path, code, body)
			}
		}
		// List with a filter and pages.
		code, body = serve(t, h, jsonRequest(http.MethodGet, "/organizations/org_a/users?status=pending_invite", ""))
		if users := body["users"].([]any); code != http.StatusOK || len(users) != 1 || users[0].(map[string]any)["id"] != annID {
			t.Errorf("list pending: %d %v", code, body)
		}
		code, body = serve(t, h, jsonRequest(http.MethodGet, "/organizations/org_a/users?pageSize=1", ""))
		next, _ := body["nextPageToken"].(string)
		if code != http.StatusOK || len(body["users"].([]any)) != 1 || next == "" {
			t.Fatalf("page 1: %d %v", code, body)
		}
		code, body = serve(t, h, jsonRequest(http.MethodGet, "/organizations/org_a/users?pageSize=1&pageToken="+next, ""))
		if code != http.StatusOK || len(body["users"].([]any)) != 1 || body["nextPageToken"] != "" {
			t.Errorf("page 2: %d %v", code, body)
		}
		code, body = serve(t, h, jsonRequest(http.MethodGet, "/organizations/org_a/users?q=bob", ""))
		if len(body["users"].([]any)) != 1 {
			t.Errorf("q=bob: %d %v", code, body)
		}

		// Update.
		code, body = serve(t, h, jsonRequest(http.MethodPatch, "/organizations/org_a/users/"+bobID, `{"roles":["admin","billing"],"metadata":{"team":"ops"}}`))
		m := membership(t, body["user"].(map[string]any))
		if code != http.StatusOK || len(m["roles"].([]any)) != 2 || m["metadata"].(map[string]any)["team"] != "ops" {
			t.Errorf("patch: %d %v", code, body)
		}
		// Bob is now the only active admin: he can be neither deactivated
		// nor demoted, and nothing changes.
		before := takeSnapshot(t, e.St, []string{"org_a"}, nil)
		for _, r := range []*http.Request{
			jsonRequest(http.MethodPost, "/organizations/org_a/users/"+bobID+"/deactivate", ""),
			jsonRequest(http.MethodPatch, "/organizations/org_a/users/"+bobID, `{"roles":["billing"]}`),
		} {
			code, body = serve(t, h, r)
			if errBody, _ := body["error"].(map[string]any); code != http.StatusConflict || errBody["code"] != "last_admin" {
				t.Errorf("%s %s as the last admin: %d %v", r.Method, r.URL.Path, code, body)
			}
		}
		assertUnchanged(t, before, takeSnapshot(t, e.St, []string{"org_a"}, nil))
		e.AddActive(t, "org_a", "second-admin@example.com", "admin")
		// Deactivate, reactivate.
		code, body = serve(t, h, jsonRequest(http.MethodPost, "/organizations/org_a/users/"+bobID+"/deactivate", ""))
		if code != http.StatusOK || membership(t, body["user"].(map[string]any))["membershipStatus"] != "INACTIVE" {
			t.Errorf("deactivate: %d %v", code, body)
		}
		code, body = serve(t, h, jsonRequest(http.MethodPost, "/organizations/org_a/users/"+bobID+"/reactivate", ""))
		if code != http.StatusOK || membership(t, body["user"].(map[string]any))["membershipStatus"] != "ACTIVE" {
			t.Errorf("reactivate: %d %v", code, body)
		}
		// Resend and invite-link on the pending one.
		code, body = serve(t, h, jsonRequest(http.MethodPost, "/organizations/org_a/users/"+annID+"/resend", ""))
		if code != http.StatusOK || membership(t, body["user"].(map[string]any))["membershipStatus"] != "PENDING_INVITE" {
			t.Errorf("resend: %d %v", code, body)
		}
		if msgs := e.Queued(t, "org_a"); len(msgs) != 1 || msgs[0].Kind != store.MailReminder {
			t.Errorf("resend outbox = %+v", msgs)
		}
		code, body = serve(t, h, jsonRequest(http.MethodPost, "/organizations/org_a/users/"+annID+"/invite-link", ""))
		newLink, _ := body["acceptLink"].(string)
		if code != http.StatusOK || newLink == "" || newLink == link {
			t.Errorf("invite-link: %d %v", code, body)
		}
		// Revoke (POST) and the DELETE alias.
		code, _ = serve(t, h, jsonRequest(http.MethodPost, "/organizations/org_a/users/"+annID+"/revoke", ""))
		if code != http.StatusNoContent {
			t.Errorf("revoke: %d", code)
		}
		code, body = serve(t, h, jsonRequest(http.MethodGet, "/organizations/org_a/users/"+annID, ""))
		if code != http.StatusNotFound {
			t.Errorf("get revoked: %d %v", code, body)
		}
		serve(t, h, jsonRequest(http.MethodPost, "/organizations/org_a/users", `{"email":"cy@example.com"}`))
		cy, err := e.Svc.GetMember(context.Background(), "org_a", invite.UserRef{Email: "cy@example.com"})
		if err != nil {
			t.Fatal(err)
		}
		if code, _ = serve(t, h, jsonRequest(http.MethodDelete, "/organizations/org_a/users/"+cy.User.ID, "")); code != http.StatusNoContent {
			t.Errorf("DELETE: %d", code)
		}
		if code, body = serve(t, h, jsonRequest(http.MethodDelete, "/organizations/org_a/users/"+bobID, "")); code != http.StatusConflict {
			t.Errorf("DELETE active: %d %v", code, body)
		}
	})
}

// membership returns the only membership of a rendered user.
func membership(t testing.TB, u map[string]any) map[string]any {
	t.Helper()
	ms, ok := u["memberships"].([]any)
	if !ok || len(ms) != 1 {
		t.Fatalf("memberships = %v, want exactly one", u["memberships"])
	}
	return ms[0].(map[string]any)
}

func TestAPIBadInput(t *testing.T) {
	big := `{"email":"a@example.com","metadata":{"abc":"` + strings.Repeat("x", inviteapi.DefaultMaxBodyBytes) + `"}}`
	md21 := func() string {
		parts := make([]string, 21)
		for i := range parts {
			parts[i] = fmt.Sprintf(`"key%02d":"v"`, i)
		}
		return `{"email":"a@example.com","metadata":{` + strings.Join(parts, ",") + `}}`
	}()
	forEachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, nil)
		e.Org(t, "org_a")
		e.Org(t, "org_b")
		ann := e.Invite(t, "org_a", "ann@example.com")
		bob := e.AddActive(t, "org_a", "bob@example.com")
		h := newHandler(t, e, allowAll)
		users := "/organizations/org_a/users"
		annPath := users + "/" + ann.User.ID
		bobPath := users + "/" + bob.User.ID
		tests := []struct {
			name        string
			method      string
			path        string
			contentType string
			body        string
			unknownLen  bool
			header      [2]string
			status      int
			code        string
			field       string
		}{
			{"malformed JSON", "POST", users, "application/json", `{"email":`, false, [2]string{}, 400, "malformed_request", ""},
			{"syntax error", "POST", users, "application/json", `{"email" "a@example.com"}`, false, [2]string{}, 400, "malformed_request", ""},
			{"array body", "POST", users, "application/json", `[]`, false, [2]string{}, 400, "malformed_request", ""},
			{"null body", "POST", users, "application/json", `null`, false, [2]string{}, 400, "malformed_request", ""},
			{"empty body", "POST", users, "application/json", ``, false, [2]string{}, 400, "malformed_request", ""},
			{"trailing data", "POST", users, "application/json", `{"email":"a@example.com"} {}`, false, [2]string{}, 400, "malformed_request", ""},
			{"unknown field", "POST", users, "application/json", `{"email":"a@example.com","sendInvitationEmails":false}`, false, [2]string{}, 400, "malformed_request", "sendInvitationEmails"},
			{"email not a string", "POST", users, "application/json", `{"email":5}`, false, [2]string{}, 400, "malformed_request", "email"},
			{"roles not an array", "POST", users, "application/json", `{"email":"a@example.com","roles":"admin"}`, false, [2]string{}, 400, "malformed_request", "roles"},
			{"metadata value a number", "POST", users, "application/json", `{"email":"a@example.com","metadata":{"plan":1}}`, false, [2]string{}, 400, "malformed_request", "metadata.plan"},
			{"profile name a number", "POST", users, "application/json", `{"email":"a@example.com","userProfile":{"firstName":1}}`, false, [2]string{}, 400, "malformed_request", "userProfile.firstName"},
			{"oversized body", "POST", users, "application/json", big, false, [2]string{}, 413, "body_too_large", ""},
			{"oversized body, unknown length", "POST", users, "application/json", big, true, [2]string{}, 413, "body_too_large", ""},
			{"text/plain", "POST", users, "text/plain", `{"email":"a@example.com"}`, false, [2]string{}, 415, "unsupported_media_type", ""},
			{"form", "POST", users, "application/x-www-form-urlencoded", `email=a@example.com`, false, [2]string{}, 415, "unsupported_media_type", ""},
			{"missing email", "POST", users, "application/json", `{}`, false, [2]string{}, 422, "invalid_argument", "email"},
			{"invalid email", "POST", users, "application/json", `{"email":"Ann <a@example.com>"}`, false, [2]string{}, 422, "invalid_argument", "email"},
			{"unknown role", "POST", users, "application/json", `{"email":"a@example.com","roles":["owner"]}`, false, [2]string{}, 422, "invalid_argument", "roles[0]"},
			{"21 metadata pairs", "POST", users, "application/json", md21, false, [2]string{}, 422, "invalid_argument", "metadata"},
			{"2-char metadata key", "POST", users, "application/json", `{"email":"a@example.com","metadata":{"ab":"v"}}`, false, [2]string{}, 422, "invalid_argument", "metadata.ab"},
			{"257-char metadata value", "POST", users, "application/json", `{"email":"a@example.com","metadata":{"abc":"` + strings.Repeat("v", 257) + `"}}`, false, [2]string{}, 422, "invalid_argument", "metadata.abc"},
			{"bad profile locale", "POST", users, "application/json", `{"email":"a@example.com","userProfile":{"locale":"??"}}`, false, [2]string{}, 422, "invalid_argument", "userProfile.locale"},
			{"alias conflict", "POST", users, "application/json", `{"email":"a@example.com","sendInvitationEmail":true,"sendActivationEmail":false}`, false, [2]string{}, 422, "invalid_argument", "sendActivationEmail"},
			{"unknown org", "POST", "/organizations/org_nope/users", "application/json", `{"email":"a@example.com"}`, false, [2]string{}, 404, "not_found", ""},
			{"duplicate invite", "POST", users, "application/json", `{"email":"ANN@example.com"}`, false, [2]string{}, 409, "already_invited", "email"},
			{"already member", "POST", users, "application/json", `{"email":"bob@example.com"}`, false, [2]string{}, 409, "already_member", "email"},
			{"wrong org get", "GET", "/organizations/org_b/users/" + ann.User.ID, "", "", false, [2]string{}, 404, "not_found", ""},
			{"wrong org lookup", "GET", "/organizations/org_b/users:lookup?email=ann@example.com", "", "", false, [2]string{}, 404, "not_found", ""},
			{"wrong org patch", "PATCH", "/organizations/org_b/users/" + bob.User.ID, "application/json", `{"roles":["admin"]}`, false, [2]string{}, 404, "not_found", ""},
			{"wrong org resend", "POST", "/organizations/org_b/users/" + ann.User.ID + "/resend", "", "", false, [2]string{}, 404, "not_found", ""},
			{"wrong org revoke", "DELETE", "/organizations/org_b/users/" + ann.User.ID, "", "", false, [2]string{}, 404, "not_found", ""},
			{"wrong org deactivate", "POST", "/organizations/org_b/users/" + bob.User.ID + "/deactivate", "", "", false, [2]string{}, 404, "not_found", ""},
			{"patch unknown role", "PATCH", bobPath, "application/json", `{"roles":["member","root"]}`, false, [2]string{}, 422, "invalid_argument", "roles[1]"},
			{"patch malformed", "PATCH", bobPath, "application/json", `{"roles":`, false, [2]string{}, 400, "malformed_request", ""},
			{"patch unknown field", "PATCH", bobPath, "application/json", `{"status":"ACTIVE"}`, false, [2]string{}, 400, "malformed_request", "status"},
			{"patch oversized", "PATCH", bobPath, "application/json", big, false, [2]string{}, 413, "body_too_large", ""},
			{"resend active", "POST", bobPath + "/resend", "", "", false, [2]string{}, 409, "wrong_status", ""},
			{"reactivate active", "POST", bobPath + "/reactivate", "", "", false, [2]string{}, 409, "wrong_status", ""},
			{"deactivate pending", "POST", annPath + "/deactivate", "", "", false, [2]string{}, 409, "wrong_status", ""},
			{"list bad status", "GET", users + "?status=GONE", "", "", false, [2]string{}, 422, "invalid_argument", "status"},
			{"list bad page size", "GET", users + "?pageSize=abc", "", "", false, [2]string{}, 422, "invalid_argument", "pageSize"},
			{"list page size 0", "GET", users + "?pageSize=0", "", "", false, [2]string{}, 422, "invalid_argument", "pageSize"},
			{"list bad page token", "GET", users + "?pageToken=zzz", "", "", false, [2]string{}, 422, "invalid_argument", "pageToken"},
			{"list unknown org", "GET", "/organizations/org_nope/users", "", "", false, [2]string{}, 404, "not_found", ""},
			{"lookup without query", "GET", users + ":lookup", "", "", false, [2]string{}, 422, "invalid_argument", "email"},
			{"lookup bad email", "GET", users + ":lookup?email=nope", "", "", false, [2]string{}, 422, "invalid_argument", "email"},
			{"method not allowed", "PUT", bobPath, "application/json", `{}`, false, [2]string{}, 405, "method_not_allowed", ""},
			{"unknown route", "GET", "/organizations/org_a/groups", "", "", false, [2]string{}, 404, "not_found", ""},
			{"cross-site POST", "POST", users, "application/json", `{"email":"a@example.com"}`, false, [2]string{"Sec-Fetch-Site", "cross-site"}, 403, "cross_origin", ""},
			{"cross-site deactivate", "POST", bobPath + "/deactivate", "", "", false, [2]string{"Sec-Fetch-Site", "cross-site"}, 403, "cross_origin", ""},
		}
		orgs := []string{"org_a", "org_b", "org_nope"}
		emails := []string{"a@example.com", "ann@example.com", "bob@example.com"}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body))
				if tt.contentType != "" {
					r.Header.Set("Content-Type", tt.contentType)
				}
				if tt.header[0] != "" {
					r.Header.Set(tt.header[0], tt.header[1])
				}
				if tt.unknownLen {
					r.ContentLength = -1
					r.Body = io.NopCloser(struct{ io.Reader }{strings.NewReader(tt.body)})
				}
				before := takeSnapshot(t, st, orgs, emails)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, r)
				if rec.Code != tt.status {
					t.Fatalf("status = %d, want %d; body %s", rec.Code, tt.status, rec.Body)
				}
				code, field, msg := apiError(t, decodeBody(t, rec.Body.Bytes()))
				if code != tt.code || field != tt.field || msg == "" {
					t.Errorf("error = {%q %q %q}, want code %q field %q", code, field, msg, tt.code, tt.field)
				}
				if tt.status == 405 && rec.Header().Get("Allow") != "DELETE, GET, PATCH" {
					t.Errorf("Allow = %q", rec.Header().Get("Allow"))
				}
				assertUnchanged(t, before, takeSnapshot(t, st, orgs, emails))
			})
		}
	})
}

// recordingBody notes whether the handler read the body.
type recordingBody struct {
	io.Reader
	mu   sync.Mutex
	read bool
}

func (b *recordingBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	b.read = true
	b.mu.Unlock()
	return b.Reader.Read(p)
}

func (b *recordingBody) Close() error { return nil }

func TestAPIAuthorization(t *testing.T) {
	e := newEnv(t, memstore.New(), nil)
	e.Org(t, "org_a")
	e.Org(t, "org_b")
	admin := e.AddActive(t, "org_a", "admin@example.com", "admin")
	member := e.AddActive(t, "org_a", "member@example.com", "member")
	pend := e.Invite(t, "org_a", "pend@example.com", "admin")

	if _, err := inviteapi.NewHandler(e.Svc, nil, inviteapi.HandlerConfig{}); err == nil {
		t.Fatal("NewHandler without an Authorizer succeeded")
	}
	if _, err := inviteapi.NewHandler(nil, inviteapi.DenyAll, inviteapi.HandlerConfig{}); err == nil {
		t.Fatal("NewHandler without a Service succeeded")
	}

	uid := member.User.ID
	routes := []struct {
		method, path, body string
		action             inviteapi.Action
	}{
		{"POST", "/organizations/org_a/users", `{"email":"new@example.com"}`, inviteapi.ActionCreate},
		{"GET", "/organizations/org_a/users", "", inviteapi.ActionList},
		{"GET", "/organizations/org_a/users/" + uid, "", inviteapi.ActionGet},
		{"GET", "/organizations/org_a/users:lookup?email=member@example.com", "", inviteapi.ActionGet},
		{"PATCH", "/organizations/org_a/users/" + uid, `{"roles":["admin"]}`, inviteapi.ActionUpdate},
		{"DELETE", "/organizations/org_a/users/" + pend.User.ID, "", inviteapi.ActionRevoke},
		{"POST", "/organizations/org_a/users/" + pend.User.ID + "/resend", "", inviteapi.ActionResend},
		{"POST", "/organizations/org_a/users/" + pend.User.ID + "/revoke", "", inviteapi.ActionRevoke},
		{"POST", "/organizations/org_a/users/" + uid + "/deactivate", "", inviteapi.ActionDeactivate},
		{"POST", "/organizations/org_a/users/" + uid + "/reactivate", "", inviteapi.ActionReactivate},
		{"POST", "/organizations/org_a/users/" + pend.User.ID + "/invite-link", "", inviteapi.ActionInviteLink},
	}
	orgs, emails := []string{"org_a", "org_b"}, []string{"new@example.com"}

	authorizers := []struct {
		name   string
		authz  inviteapi.Authorizer
		status int
		code   string
	}{
		{"DenyAll", inviteapi.DenyAll, 403, "permission_denied"},
		{"unauthenticated", func(*http.Request, string, inviteapi.Action) (string, error) { return "", inviteapi.ErrUnauthenticated }, 401, "unauthenticated"},
		{"failing authorizer", func(*http.Request, string, inviteapi.Action) (string, error) {
			return "", errors.New("session store down: secret-detail")
		}, 403, "permission_denied"},
	}
	for _, a := range authorizers {
		t.Run(a.name, func(t *testing.T) {
			h := newHandler(t, e, a.authz)
			for _, rt := range routes {
				before := takeSnapshot(t, e.St, orgs, emails)
				r := jsonRequest(rt.method, rt.path, rt.body)
				body := &recordingBody{Reader: strings.NewReader(rt.body)}
				r.Body = body
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, r)
				if rec.Code != a.status || strings.Contains(rec.Body.String(), "secret-detail") {
					t.Errorf("%s %s: %d %s", rt.method, rt.path, rec.Code, rec.Body)
					continue
				}
				if code, _, _ := apiError(t, decodeBody(t, rec.Body.Bytes())); code != a.code {
					t.Errorf("%s %s: code %q", rt.method, rt.path, code)
				}
				if body.read {
					t.Errorf("%s %s: body read before authorization", rt.method, rt.path)
				}
				assertUnchanged(t, before, takeSnapshot(t, e.St, orgs, emails))
			}
		})
	}

	t.Run("authorizer sees org and action", func(t *testing.T) {
		var got []string
		h := newHandler(t, e, func(r *http.Request, orgID string, action inviteapi.Action) (string, error) {
			got = append(got, orgID+" "+string(action))
			return "", inviteapi.ErrPermissionDenied
		})
		for _, rt := range routes {
			serve(t, h, jsonRequest(rt.method, rt.path, rt.body))
		}
		for i, rt := range routes {
			if got[i] != "org_a "+string(rt.action) {
				t.Errorf("%s %s: authorizer saw %q, want action %s", rt.method, rt.path, got[i], rt.action)
			}
		}
	})

	t.Run("AdminOnly", func(t *testing.T) {
		current := func(r *http.Request) (string, bool) {
			id := r.Header.Get("X-Test-User")
			return id, id != ""
		}
		h := newHandler(t, e, inviteapi.AdminOnly(e.Svc, current))
		cases := []struct {
			name, user, org string
			status          int
		}{
			{"admin", admin.User.ID, "org_a", 200},
			{"member", member.User.ID, "org_a", 403},
			{"pending admin", pend.User.ID, "org_a", 403},
			{"admin of another org", admin.User.ID, "org_b", 403},
			{"nobody", "", "org_a", 401},
		}
		for _, c := range cases {
			r := jsonRequest("GET", "/organizations/"+c.org+"/users", "")
			if c.user != "" {
				r.Header.Set("X-Test-User", c.user)
			}
			if code, body := serve(t, h, r); code != c.status {
				t.Errorf("%s: %d %v, want %d", c.name, code, body, c.status)
			}
		}
		// The admin is recorded as the actor.
		r := jsonRequest("POST", "/organizations/org_a/users", `{"email":"viaadmin@example.com"}`)
		r.Header.Set("X-Test-User", admin.User.ID)
		if code, body := serve(t, h, r); code != 201 {
			t.Fatalf("admin create: %d %v", code, body)
		}
		if ev := e.LastEvent(t, "org_a"); ev.ActorID != admin.User.ID {
			t.Errorf("actor = %q", ev.ActorID)
		}
		// Deactivated admins lose access on their next request (another
		// admin keeps the organization manageable).
		e.AddActive(t, "org_a", "other-admin@example.com", "admin")
		if _, err := e.Svc.DeactivateMembership(context.Background(), "org_a", admin.User.ID, ""); err != nil {
			t.Fatal(err)
		}
		r = jsonRequest("GET", "/organizations/org_a/users", "")
		r.Header.Set("X-Test-User", admin.User.ID)
		if code, _ := serve(t, h, r); code != 403 {
			t.Errorf("deactivated admin: %d", code)
		}
	})
}

func TestAPIMounting(t *testing.T) {
	e := newEnv(t, memstore.New(), nil)
	e.Org(t, "org_a")
	bob := e.AddActive(t, "org_a", "bob@example.com")
	h := newHandler(t, e, allowAll)

	mux := http.NewServeMux()
	h.Routes(mux, "/api/v1/")
	stripped := http.NewServeMux()
	stripped.Handle("/api/", http.StripPrefix("/api", h))
	chiRoutes := chi.NewRouter()
	h.Routes(chiRoutes, "/api")
	chiMount := chi.NewRouter()
	chiMount.Mount("/api", http.StripPrefix("/api", h))

	mounts := []struct {
		name   string
		h      http.Handler
		prefix string
	}{
		{"root", h, ""},
		{"ServeMux Routes", mux, "/api/v1"},
		{"ServeMux StripPrefix", stripped, "/api"},
		{"chi Routes", chiRoutes, "/api"},
		{"chi Mount", chiMount, "/api"},
	}
	for _, m := range mounts {
		t.Run(m.name, func(t *testing.T) {
			code, body := serve(t, m.h, jsonRequest("GET", m.prefix+"/organizations/org_a/users/"+bob.User.ID, ""))
			if code != 200 || body["user"].(map[string]any)["id"] != bob.User.ID {
				t.Fatalf("get: %d %v", code, body)
			}
			code, body = serve(t, m.h, jsonRequest("GET", m.prefix+"/organizations/org_a/users:lookup?email=bob@example.com", ""))
			if code != 200 {
				t.Fatalf("lookup: %d %v", code, body)
			}
			code, body = serve(t, m.h, jsonRequest("POST", m.prefix+"/organizations/org_a/users", `{"email":"x-`+strings.ReplaceAll(strings.ToLower(m.name), " ", "")+`@example.com"}`))
			if code != 201 {
				t.Fatalf("create: %d %v", code, body)
			}
			code, body = serve(t, m.h, jsonRequest("PUT", m.prefix+"/organizations/org_a/users", `{}`))
			if code != 405 {
				t.Fatalf("PUT: %d %v", code, body)
			}
		})
	}
}

func TestAPIErrorHandlerAndBodyLimit(t *testing.T) {
	e := newEnv(t, memstore.New(), nil)
	e.Org(t, "org_a")
	var seen error
	h, err := inviteapi.NewHandler(e.Svc, allowAll, inviteapi.HandlerConfig{
		MaxBodyBytes: 64,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			seen = err
			w.WriteHeader(inviteapi.ProblemOf(err).Status)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, jsonRequest("POST", "/organizations/org_a/users", `{"email":"a@example.com","externalId":"`+strings.Repeat("x", 64)+`"}`))
	if rec.Code != 413 || !errors.Is(seen, inviteapi.ErrBodyTooLarge) {
		t.Fatalf("status %d, err %v", rec.Code, seen)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, jsonRequest("POST", "/organizations/org_a/users", `{"email":"a@example.com"}`))
	if rec.Code != 201 {
		t.Fatalf("small body: %d %s", rec.Code, rec.Body)
	}
	if _, err := inviteapi.NewHandler(e.Svc, allowAll, inviteapi.HandlerConfig{MaxBodyBytes: -1}); err == nil {
		t.Error("negative MaxBodyBytes accepted")
	}
}

func TestAPIResponseShapeNoNulls(t *testing.T) {
	e := newEnv(t, memstore.New(), nil)
	e.Org(t, "org_a")
	h := newHandler(t, e, allowAll)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, jsonRequest("POST", "/organizations/org_a/users", `{"email":"bare@example.com"}`))
	if rec.Code != 201 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	b := rec.Body.Bytes()
	for _, k := range []string{`"metadata":{}`, `"customAttributes":{}`, `"roles":[{"id":"role_member","name":"member"}]`, `"lastLogin":null`} {
		if !bytes.Contains(b, []byte(k)) {
			t.Errorf("response lacks %s: %s", k, b)
		}
	}
	if bytes.Count(b, []byte("null")) != 1 {
		t.Errorf("only lastLogin may be null: %s", b)
	}
	if rec.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control = %q", rec.Header().Get("Cache-Control"))
	}
	// After accept, lastLogin is a time and emailVerified true.
	res := e.Invite(t, "org_a", "ann@example.com")
	if _, err := e.Svc.AcceptInvitation(context.Background(), invite.TokenFromLink(res.AcceptLink), verified("ann@example.com")); err != nil {
		t.Fatal(err)
	}
	_, body := serve(t, h, jsonRequest("GET", "/organizations/org_a/users/"+res.User.ID, ""))
	u := body["user"].(map[string]any)
	if u["lastLogin"] != e.Clock.Now().Format("2006-01-02T15:04:05Z") || u["userProfile"].(map[string]any)["emailVerified"] != true ||
		membership(t, u)["primaryIdentityProvider"] != "https://idp.example.com" {
		t.Errorf("accepted user = %v", u)
	}
}
