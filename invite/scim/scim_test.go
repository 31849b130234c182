package scim_test

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

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/invite/internal/invitetest"
	"github.com/invitekit/invitekit/invite/scim"
	"github.com/invitekit/invitekit/store"
)

// storeCases are the stores the handler runs on; stores that implement
// store.Directory only.
var storeCases = []invitetest.StoreCase{{Name: "memstore", Open: invitetest.OpenMem}, {Name: "sqlitestore", Open: invitetest.OpenSQLite}, {Name: "pgstore", Open: invitetest.OpenPostgres}}

type env struct {
	*invitetest.Env
	srv *httptest.Server
	org string
	tok string
}

func newEnv(t *testing.T, st store.Store, org string) *env {
	t.Helper()
	e := invitetest.NewEnv(t, st, nil)
	e.Org(t, org)
	h, err := scim.New(scim.Config{Service: e.Svc, BaseURL: "https://app.example.com/scim/v2"})
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	tok, _, err := e.Svc.CreateDirectoryToken(context.Background(), org, "okta", "usr_admin")
	require.NoError(t, err)
	return &env{Env: e, srv: srv, org: org, tok: tok}
}

type resp struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (e *env) do(t *testing.T, tok, method, path, body string) resp {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.srv.URL+"/scim/v2"+path, rd)
	require.NoError(t, err)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	r := resp{status: res.StatusCode, header: res.Header, raw: string(b)}
	if len(b) > 0 {
		require.Equal(t, scim.ContentType, res.Header.Get("Content-Type"), string(b))
		require.NoError(t, json.Unmarshal(b, &r.body), string(b))
	}
	return r
}

func (e *env) call(t *testing.T, method, path, body string) resp {
	return e.do(t, e.tok, method, path, body)
}

func scimType(r resp) string { s, _ := r.body["scimType"].(string); return s }

func total(t *testing.T, r resp) int {
	t.Helper()
	require.Equal(t, 200, r.status, r.raw)
	n, _ := r.body["totalResults"].(float64)
	return int(n)
}

func forEachStore(t *testing.T, fn func(t *testing.T, st store.Store)) {
	for _, sc := range storeCases {
		t.Run(sc.Name, func(t *testing.T) { fn(t, sc.Open(t)) })
	}
}

func member(t *testing.T, e *env, userID string) store.Membership {
	t.Helper()
	m, err := e.St.GetMembership(context.Background(), e.org, userID)
	require.NoError(t, err)
	return m
}

const oktaUser = `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ann@example.com",
 "name":{"givenName":"Ann","familyName":"Lee"},"emails":[{"primary":true,"value":"ann@example.com","type":"work"}],
 "displayName":"Ann Lee","locale":"en-US","externalId":"00u1","groups":[],"password":"secret","active":true}`

// TestOktaSequence replays Okta's SCIM 2.0 provisioning sequence.
func TestOktaSequence(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, "org_a")
		// 1. get by filter before create: an empty list.
		r := e.call(t, "GET", `/Users?filter=userName%20eq%20%22ann%40example.com%22&startIndex=1&count=100`, "")
		assert.Equal(t, 0, total(t, r))
		assert.Equal(t, []any{}, r.body["Resources"])
		assert.EqualValues(t, 0, r.body["itemsPerPage"])
		// 2. create.
		r = e.call(t, "POST", "/Users", oktaUser)
		require.Equal(t, 201, r.status, r.raw)
		id := r.body["id"].(string)
		assert.Equal(t, "https://app.example.com/scim/v2/Users/"+id, r.header.Get("Location"))
		assert.NotEmpty(t, r.header.Get("ETag"))
		assert.Equal(t, true, r.body["active"])
		assert.Equal(t, "00u1", r.body["externalId"])
		m := member(t, e, id)
		assert.Equal(t, store.StatusActive, m.Status)
		assert.Equal(t, "Ann", m.Profile.FirstName)
		assert.Equal(t, "Ann Lee", m.Profile.Name)
		assert.Equal(t, "00u1", m.ExternalID)
		assert.Equal(t, []string{"member"}, m.Roles)
		assert.NotContains(t, r.raw, "secret")
		// a repeated create: 409 uniqueness, nothing changes.
		before := invitetest.TakeSnapshot(t, st, []string{"org_a"}, []string{"ann@example.com"})
		r = e.call(t, "POST", "/Users", oktaUser)
		assert.Equal(t, 409, r.status, r.raw)
		assert.Equal(t, "uniqueness", scimType(r))
		invitetest.AssertUnchanged(t, before, invitetest.TakeSnapshot(t, st, []string{"org_a"}, []string{"ann@example.com"}))
		// the filter finds it now, case-insensitively (userName caseExact false).
		r = e.call(t, "GET", `/Users?filter=userName%20eq%20%22ANN%40example.COM%22`, "")
		require.Equal(t, 1, total(t, r))
		// 3. get.
		r = e.call(t, "GET", "/Users/"+id, "")
		require.Equal(t, 200, r.status)
		assert.Equal(t, "ann@example.com", r.body["userName"])
		// 4a. PUT profile.
		put := strings.Replace(strings.Replace(oktaUser, `"Lee"`, `"Park"`, 1), `"Ann Lee"`, `"Ann Park"`, 1)
		r = e.call(t, "PUT", "/Users/"+id, put)
		require.Equal(t, 200, r.status, r.raw)
		assert.Equal(t, "Park", member(t, e, id).Profile.LastName)
		assert.Equal(t, store.EventMembershipUpdated, e.LastEvent(t, "org_a").Type)
		// 4b. PATCH profile (Okta: replace without path, object value).
		r = e.call(t, "PATCH", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
			"Operations":[{"op":"replace","value":{"name":{"givenName":"Anna"}}}]}`)
		require.Equal(t, 200, r.status, r.raw)
		m = member(t, e, id)
		assert.Equal(t, "Anna", m.Profile.FirstName)
		assert.Equal(t, "Park", m.Profile.LastName, "sub-attributes not named stay")
		// 5. PATCH active:false.
		r = e.call(t, "PATCH", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
			"Operations":[{"op":"replace","value":{"active":false}}]}`)
		require.Equal(t, 200, r.status, r.raw)
		assert.Equal(t, false, r.body["active"])
		assert.Equal(t, store.StatusInactive, member(t, e, id).Status)
		assert.Equal(t, store.EventMembershipDeactivated, e.LastEvent(t, "org_a").Type)
		// 6. reactivate.
		r = e.call(t, "PATCH", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
			"Operations":[{"op":"replace","value":{"active":true}}]}`)
		require.Equal(t, 200, r.status, r.raw)
		assert.Equal(t, store.StatusActive, member(t, e, id).Status)
		assert.Equal(t, store.EventMembershipReactivated, e.LastEvent(t, "org_a").Type)
		// 7. group push: create, add a member, rename, remove the member.
		r = e.call(t, "POST", "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Engineering","members":[]}`)
		require.Equal(t, 201, r.status, r.raw)
		gid := r.body["id"].(string)
		r = e.call(t, "PATCH", "/Groups/"+gid, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
			"Operations":[{"op":"add","path":"members","value":[{"value":"`+id+`","display":"ann@example.com"}]}]}`)
		require.Equal(t, 204, r.status, r.raw)
		r = e.call(t, "PATCH", "/Groups/"+gid, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
			"Operations":[{"op":"replace","value":{"id":"`+gid+`","displayName":"Eng"}}]}`)
		require.Equal(t, 204, r.status, r.raw)
		r = e.call(t, "GET", "/Groups/"+gid, "")
		require.Equal(t, 200, r.status)
		assert.Equal(t, "Eng", r.body["displayName"])
		assert.Len(t, r.body["members"], 1)
		r = e.call(t, "GET", "/Groups/"+gid+"?excludedAttributes=members", "")
		assert.NotContains(t, r.body, "members")
		r = e.call(t, "PATCH", "/Groups/"+gid, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
			"Operations":[{"op":"remove","path":"members[value eq \"`+id+`\"]"}]}`)
		require.Equal(t, 204, r.status, r.raw)
		r = e.call(t, "GET", "/Groups/"+gid, "")
		assert.Len(t, r.body["members"], 0)
		r = e.call(t, "DELETE", "/Groups/"+gid, "")
		assert.Equal(t, 204, r.status)
		assert.Equal(t, 404, e.call(t, "GET", "/Groups/"+gid, "").status)
		// DELETE the user: deactivation by default.
		r = e.call(t, "DELETE", "/Users/"+id, "")
		assert.Equal(t, 204, r.status)
		assert.Equal(t, store.StatusInactive, member(t, e, id).Status)
	})
}

// TestEntraSequence replays Microsoft Entra ID's provisioning requests.
func TestEntraSequence(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, "org_a")
		// "Test connection": a random non-existent user: an empty list.
		r := e.call(t, "GET", `/Users?filter=userName+eq+%22c7a2c3e4-6e5f-4c3b-9d0e-2b1f8a7e9d6c%22`, "")
		assert.Equal(t, 0, total(t, r))
		// filter queries.
		r = e.call(t, "GET", `/Users?filter=externalId+eq+%22e-1%22`, "")
		assert.Equal(t, 0, total(t, r))
		r = e.call(t, "POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
			"externalId":"e-1","userName":"Bob@Contoso.com","active":true,"displayName":"Bob Ray",
			"emails":[{"primary":true,"type":"work","value":"bob@contoso.com"}],
			"meta":{"resourceType":"User"},"name":{"formatted":"Bob Ray","familyName":"Ray","givenName":"Bob"},
			"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"Eng"}}`)
		require.Equal(t, 201, r.status, r.raw)
		id := r.body["id"].(string)
		for _, f := range []string{
			`externalId+eq+%22e-1%22`,
			`userName+eq+%22bob%40contoso.com%22`,
			`emails%5Btype+eq+%22work%22%5D.value+eq+%22bob%40contoso.com%22`,
			`userName+eq+%22bob%40contoso.com%22+and+externalId+eq+%22e-1%22`,
		} {
			r = e.call(t, "GET", "/Users?filter="+f, "")
			assert.Equal(t, 1, total(t, r), f)
		}
		r = e.call(t, "GET", `/Users?filter=externalId+eq+%22E-1%22`, "")
		assert.Equal(t, 0, total(t, r), "externalId is caseExact")
		// Entra's PATCH shapes: capitalized ops, paths, boolean strings.
		r = e.call(t, "PATCH", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
			{"op":"Replace","path":"displayName","value":"Robert Ray"},
			{"op":"Replace","path":"name.givenName","value":"Robert"},
			{"op":"Replace","path":"emails[type eq \"work\"].value","value":"bob@contoso.com"},
			{"op":"Add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber","value":"7"},
			{"op":"Replace","path":"externalId","value":"e-1b"}]}`)
		require.Equal(t, 200, r.status, r.raw)
		m := member(t, e, id)
		assert.Equal(t, "Robert Ray", m.Profile.Name)
		assert.Equal(t, "Robert", m.Profile.FirstName)
		assert.Equal(t, "e-1b", m.ExternalID)
		r = e.call(t, "PATCH", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
			{"op":"Replace","path":"active","value":"False"}]}`)
		require.Equal(t, 200, r.status, r.raw)
		assert.Equal(t, store.StatusInactive, member(t, e, id).Status)
		r = e.call(t, "PATCH", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
			{"op":"replace","value":{"active":"True","name.familyName":"Roy"}}]}`)
		require.Equal(t, 200, r.status, r.raw)
		m = member(t, e, id)
		assert.Equal(t, store.StatusActive, m.Status)
		assert.Equal(t, "Roy", m.Profile.LastName)
		// Entra's group shapes: Add/Remove members with a value list.
		r = e.call(t, "POST", "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"externalId":"g-1","displayName":"Sales","members":[]}`)
		require.Equal(t, 201, r.status, r.raw)
		gid := r.body["id"].(string)
		r = e.call(t, "GET", `/Groups?filter=displayName+eq+%22Sales%22&excludedAttributes=members`, "")
		assert.Equal(t, 1, total(t, r))
		r = e.call(t, "PATCH", "/Groups/"+gid, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
			{"op":"Add","path":"members","value":[{"value":"`+id+`"}]}]}`)
		require.Equal(t, 204, r.status, r.raw)
		r = e.call(t, "GET", `/Groups?filter=id+eq+%22`+gid+`%22+and+members.value+eq+%22`+id+`%22&excludedAttributes=members`, "")
		assert.Equal(t, 1, total(t, r))
		r = e.call(t, "PATCH", "/Groups/"+gid, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
			{"op":"Remove","path":"members","value":[{"value":"`+id+`"}]}]}`)
		require.Equal(t, 204, r.status, r.raw)
		g, err := e.Svc.GetDirectoryGroup(context.Background(), "org_a", gid)
		require.NoError(t, err)
		assert.Empty(t, g.Members)
	})
}

// TestTenantIsolation: one person in two organizations; org A's token
// never reads or changes org B's view of them, nor B's groups.
func TestTenantIsolation(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		a := newEnv(t, st, "org_a")
		// org B on the same store and Service.
		a.Org(t, "org_b")
		tokB, _, err := a.Svc.CreateDirectoryToken(context.Background(), "org_b", "entra", "")
		require.NoError(t, err)
		b := &env{Env: a.Env, srv: a.srv, org: "org_b", tok: tokB}
		r := b.call(t, "POST", "/Users", strings.Replace(oktaUser, `"00u1"`, `"b-secret-ext"`, 1))
		require.Equal(t, 201, r.status, r.raw)
		id := r.body["id"].(string)
		r = b.call(t, "POST", "/Groups", `{"displayName":"B-Group","members":[{"value":"`+id+`"}]}`)
		require.Equal(t, 201, r.status, r.raw)
		gid := r.body["id"].(string)
		// A does not see B's member: every route answers as for a stranger.
		assert.Equal(t, 404, a.call(t, "GET", "/Users/"+id, "").status)
		assert.Equal(t, 404, a.call(t, "PUT", "/Users/"+id, oktaUser).status)
		assert.Equal(t, 404, a.call(t, "PATCH", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false}}]}`).status)
		assert.Equal(t, 404, a.call(t, "DELETE", "/Users/"+id, "").status)
		assert.Equal(t, 404, a.call(t, "GET", "/Groups/"+gid, "").status)
		assert.Equal(t, 404, a.call(t, "DELETE", "/Groups/"+gid, "").status)
		for _, f := range []string{`externalId+eq+%22b-secret-ext%22`, `userName+eq+%22ann%40example.com%22`, `id+eq+%22` + id + `%22`} {
			assert.Equal(t, 0, total(t, a.call(t, "GET", "/Users?filter="+f, "")), f)
		}
		assert.Equal(t, 0, total(t, a.call(t, "GET", "/Users", "")))
		assert.Equal(t, 0, total(t, a.call(t, "GET", "/Groups", "")))
		// The path never selects the organization.
		assert.Equal(t, 404, a.call(t, "GET", "/org_b/Users/"+id, "").status)
		// A adds the same person: its own view, B's stays.
		r = a.call(t, "POST", "/Users", strings.Replace(oktaUser, `"Ann"`, `"A-Ann"`, 1))
		require.Equal(t, 201, r.status, r.raw)
		assert.Equal(t, id, r.body["id"])
		assert.NotContains(t, r.raw, "b-secret-ext")
		// A's group may not hold B's... but the person is A's member now.
		assert.Equal(t, 201, a.call(t, "POST", "/Groups", `{"displayName":"B-Group","members":[{"value":"`+id+`"}]}`).status)
		r = a.call(t, "PATCH", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false}}]}`)
		require.Equal(t, 200, r.status, r.raw)
		mb, err := st.GetMembership(context.Background(), "org_b", id)
		require.NoError(t, err)
		assert.Equal(t, store.StatusActive, mb.Status)
		assert.Equal(t, "Ann", mb.Profile.FirstName)
		assert.Equal(t, "b-secret-ext", mb.ExternalID)
		// A group member must be a member of the token's organization.
		a.Org(t, "org_c")
		tokC, _, _ := a.Svc.CreateDirectoryToken(context.Background(), "org_c", "", "")
		c := &env{Env: a.Env, srv: a.srv, org: "org_c", tok: tokC}
		r = c.call(t, "POST", "/Groups", `{"displayName":"C","members":[{"value":"`+id+`"}]}`)
		assert.Equal(t, 400, r.status)
		assert.Equal(t, "invalidValue", scimType(r))
	})
}

func TestTokens(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, "org_a")
		ctx := context.Background()
		assert.Equal(t, 401, e.do(t, "", "GET", "/Users", "").status)
		r := e.do(t, "nope", "GET", "/Users", "")
		assert.Equal(t, 401, r.status)
		assert.Equal(t, `Bearer realm="scim"`, r.header.Get("WWW-Authenticate"))
		wrong := e.tok[:len(e.tok)-1] + "A"
		if wrong == e.tok {
			wrong = e.tok[:len(e.tok)-1] + "B"
		}
		assert.Equal(t, 401, e.do(t, wrong, "GET", "/Users", "").status)
		assert.Equal(t, 200, e.call(t, "GET", "/Users", "").status)
		toks, err := e.Svc.ListDirectoryTokens(ctx, "org_a")
		require.NoError(t, err)
		require.Len(t, toks, 1)
		assert.NotNil(t, toks[0].LastUsedTime, "last use recorded")
		assert.Nil(t, toks[0].Hash, "the hash is not handed out")
		raw, err := st.(store.Directory).GetDirectoryToken(ctx, toks[0].ID)
		require.NoError(t, err)
		assert.NotContains(t, string(raw.Hash), strings.SplitN(e.tok, ".", 2)[1], "only a hash at rest")
		assert.Len(t, raw.Hash, 32)
		// rotation: both work until the old one is revoked.
		tok2, t2, err := e.Svc.RotateDirectoryToken(ctx, "org_a", toks[0].ID, "usr_admin")
		require.NoError(t, err)
		assert.Equal(t, "okta", t2.Name)
		assert.Equal(t, 200, e.do(t, tok2, "GET", "/Users", "").status)
		assert.Equal(t, 200, e.call(t, "GET", "/Users", "").status)
		require.NoError(t, e.Svc.RevokeDirectoryToken(ctx, "org_a", toks[0].ID, "usr_admin"))
		assert.Equal(t, 401, e.call(t, "GET", "/Users", "").status)
		assert.Equal(t, 200, e.do(t, tok2, "GET", "/Users", "").status)
		assert.ErrorIs(t, e.Svc.RevokeDirectoryToken(ctx, "org_a", toks[0].ID, ""), store.ErrWrongStatus)
		// another organization cannot revoke it.
		e.Org(t, "org_b")
		assert.ErrorIs(t, e.Svc.RevokeDirectoryToken(ctx, "org_b", t2.ID, ""), store.ErrNotFound)
		types := []string{}
		for _, ev := range e.Events(t, "org_a") {
			types = append(types, ev.Type)
		}
		assert.Contains(t, types, store.EventDirectoryTokenCreated)
		assert.Contains(t, types, store.EventDirectoryTokenRevoked)
		for _, ev := range e.Events(t, "org_a") {
			for _, v := range ev.Data {
				assert.NotContains(t, v, strings.SplitN(tok2, ".", 2)[1])
			}
		}
	})
}

func TestErrorsAndLimits(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, "org_a")
		before := invitetest.TakeSnapshot(t, st, []string{"org_a"}, []string{"ann@example.com"})
		cases := []struct {
			name, body string
			status     int
			scimType   string
		}{
			{"trailing JSON", oktaUser + `{}`, 400, "invalidSyntax"},
			{"not JSON", `{"userName":`, 400, "invalidSyntax"},
			{"invalid UTF-8", "{\"userName\":\"a\xff@example.com\"}", 400, "invalidSyntax"},
			{"NUL in userName", `{"userName":"ann\u0000@example.com"}`, 400, "invalidValue"},
			{"no userName", `{"emails":[{"value":"ann@example.com"}]}`, 400, "invalidValue"},
			{"userName not an email and no email", `{"userName":"ann"}`, 400, "invalidValue"},
			{"active not a boolean", `{"userName":"ann@example.com","active":"maybe"}`, 400, "invalidValue"},
			{"too large", `{"userName":"ann@example.com","displayName":"` + strings.Repeat("x", 2<<20) + `"}`, 413, ""},
		}
		for _, c := range cases {
			r := e.call(t, "POST", "/Users", c.body)
			assert.Equal(t, c.status, r.status, c.name+": "+r.raw)
			assert.Equal(t, c.scimType, scimType(r), c.name)
			if r.status != 413 {
				assert.Equal(t, []any{scim.SchemaError}, r.body["schemas"], c.name)
				assert.Equal(t, r.body["status"], http.StatusText(0)+itoa(c.status), c.name)
			}
		}
		invitetest.AssertUnchanged(t, before, invitetest.TakeSnapshot(t, st, []string{"org_a"}, []string{"ann@example.com"}))
		for _, f := range []string{`userName+sw+%22a%22`, `userName+eq+%22a%22+or+userName+eq+%22b%22`, `title+eq+%22x%22`, `userName+eq`} {
			r := e.call(t, "GET", "/Users?filter="+f, "")
			assert.Equal(t, 400, r.status, f)
			assert.Equal(t, "invalidFilter", scimType(r), f)
		}
		assert.Equal(t, 400, e.call(t, "GET", "/Users?count=x", "").status)
		assert.Equal(t, 404, e.call(t, "GET", "/Users/usr_nobody", "").status)
		assert.Equal(t, 405, e.call(t, "DELETE", "/Users", "").status)
		req, _ := http.NewRequest("POST", e.srv.URL+"/scim/v2/Users", strings.NewReader(oktaUser))
		req.Header.Set("Authorization", "Bearer "+e.tok)
		req.Header.Set("Content-Type", "text/plain")
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		res.Body.Close()
		assert.Equal(t, 415, res.StatusCode)
		// PATCH errors.
		r := e.call(t, "POST", "/Users", oktaUser)
		require.Equal(t, 201, r.status)
		id := r.body["id"].(string)
		for _, c := range []struct{ body, scimType string }{
			{`{"schemas":["x"],"Operations":[{"op":"replace","value":{"active":false}}]}`, "invalidSyntax"},
			{`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[]}`, "invalidSyntax"},
			{`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"move","value":1}]}`, "invalidSyntax"},
			{`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove"}]}`, "noTarget"},
			{`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"[[","value":1}]}`, "invalidPath"},
			{`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"emails[type eq \"work\"].value","value":"other@example.com"}]}`, "invalidValue"},
		} {
			r := e.call(t, "PATCH", "/Users/"+id, c.body)
			assert.Equal(t, 400, r.status, c.body+" "+r.raw)
			assert.Equal(t, c.scimType, scimType(r), c.body)
		}
		// If-Match.
		r = e.call(t, "GET", "/Users/"+id, "")
		req, _ = http.NewRequest("PUT", e.srv.URL+"/scim/v2/Users/"+id, strings.NewReader(oktaUser))
		req.Header.Set("Authorization", "Bearer "+e.tok)
		req.Header.Set("If-Match", `W/"stale"`)
		res, err = http.DefaultClient.Do(req)
		require.NoError(t, err)
		res.Body.Close()
		assert.Equal(t, 412, res.StatusCode)
		// the last admin is never deprovisioned.
		_, err = e.Svc.UpdateMembership(context.Background(), "org_a", id, invite.UpdateRequest{Roles: &[]string{"admin"}}, "")
		require.NoError(t, err)
		r = e.call(t, "PATCH", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"active","value":false}]}`)
		assert.Equal(t, 400, r.status, r.raw)
		assert.Equal(t, "mutability", scimType(r))
	})
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestPagination(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, "org_a")
		for i := range 7 {
			r := e.call(t, "POST", "/Users", `{"userName":"u`+itoa(i)+`@example.com"}`)
			require.Equal(t, 201, r.status, r.raw)
		}
		r := e.call(t, "GET", "/Users?startIndex=3&count=2", "")
		assert.Equal(t, 7, total(t, r))
		assert.EqualValues(t, 2, r.body["itemsPerPage"])
		assert.EqualValues(t, 3, r.body["startIndex"])
		res := r.body["Resources"].([]any)
		assert.Equal(t, "u2@example.com", res[0].(map[string]any)["userName"])
		r = e.call(t, "GET", "/Users?startIndex=6&count=100", "")
		assert.EqualValues(t, 2, r.body["itemsPerPage"], "itemsPerPage is what the page holds, not count")
		r = e.call(t, "GET", "/Users?count=0", "")
		assert.Equal(t, 7, total(t, r))
		assert.Equal(t, []any{}, r.body["Resources"])
	})
}

func TestProvisioningModes(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, "org_a")
		ctx := context.Background()
		e.AddActive(t, "org_a", "boss@example.com", "admin") // the last admin rule is not in the way
		_, err := e.Svc.SetDirectorySettings(ctx, "org_a", store.DirectorySettings{
			ProvisionStatus: store.StatusPendingInvite, DeleteAction: store.DeleteRemove,
			GroupRoles: map[string]string{"Admins": "admin", "Billing": "billing"},
		}, "usr_admin")
		require.NoError(t, err)
		r := e.call(t, "POST", "/Users", oktaUser)
		require.Equal(t, 201, r.status, r.raw)
		id := r.body["id"].(string)
		assert.Equal(t, true, r.body["active"])
		assert.Equal(t, store.StatusPendingInvite, member(t, e, id).Status)
		q := e.Queued(t, "org_a")
		require.Len(t, q, 1)
		assert.Equal(t, store.MailInvitation, q[0].Kind)
		// accept the invitation, then group roles apply.
		_, err = e.Svc.AcceptInvitation(ctx, invite.TokenFromLink(invitetest.OpenLink(t, q[0])), invitetest.Verified("ann@example.com"))
		require.NoError(t, err)
		r = e.call(t, "POST", "/Users", `{"userName":"bob@example.com"}`)
		require.Equal(t, 201, r.status)
		bob := r.body["id"].(string)
		r = e.call(t, "POST", "/Groups", `{"displayName":"Admins","members":[{"value":"`+id+`"},{"value":"`+bob+`"}]}`)
		require.Equal(t, 201, r.status, r.raw)
		gid := r.body["id"].(string)
		assert.Equal(t, []string{"admin"}, member(t, e, id).Roles)
		r = e.call(t, "POST", "/Groups", `{"displayName":"Unmapped","members":[{"value":"`+id+`"}]}`)
		require.Equal(t, 201, r.status)
		assert.Equal(t, []string{"admin"}, member(t, e, id).Roles, "an unmapped group has no effect")
		r = e.call(t, "POST", "/Groups", `{"displayName":"Billing","members":[{"value":"`+id+`"}]}`)
		require.Equal(t, 201, r.status)
		assert.Equal(t, []string{"admin", "billing"}, member(t, e, id).Roles)
		assert.Equal(t, 409, e.call(t, "POST", "/Groups", `{"displayName":"Billing"}`).status)
		// leaving the mapped group: its role goes.
		r = e.call(t, "PATCH", "/Groups/"+gid, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"members[value eq \"`+id+`\"]"}]}`)
		require.Equal(t, 204, r.status, r.raw)
		assert.Equal(t, []string{"billing"}, member(t, e, id).Roles)
		// DELETE removes (DeleteAction remove); a pending member's invitation is revoked.
		assert.Equal(t, 204, e.call(t, "DELETE", "/Users/"+id, "").status)
		_, err = st.GetMembership(ctx, "org_a", id)
		assert.ErrorIs(t, err, store.ErrNotFound)
		assert.Equal(t, store.EventMembershipRemoved, e.LastEvent(t, "org_a").Type)
		assert.Equal(t, 204, e.call(t, "DELETE", "/Users/"+bob, "").status)
		assert.Equal(t, 404, e.call(t, "GET", "/Users/"+bob, "").status)
		// a removed person can be provisioned again.
		assert.Equal(t, 201, e.call(t, "POST", "/Users", oktaUser).status)
	})
}

func TestDiscovery(t *testing.T) {
	e := newEnv(t, invitetest.OpenMem(t), "org_a")
	r := e.call(t, "GET", "/ServiceProviderConfig", "")
	require.Equal(t, 200, r.status)
	assert.Equal(t, true, r.body["patch"].(map[string]any)["supported"])
	assert.Equal(t, false, r.body["bulk"].(map[string]any)["supported"])
	assert.Equal(t, false, r.body["sort"].(map[string]any)["supported"])
	r = e.call(t, "GET", "/ResourceTypes", "")
	assert.Equal(t, 2, total(t, r))
	assert.Equal(t, 200, e.call(t, "GET", "/ResourceTypes/User", "").status)
	r = e.call(t, "GET", "/Schemas", "")
	assert.Equal(t, 2, total(t, r))
	assert.Equal(t, 200, e.call(t, "GET", "/Schemas/"+scim.SchemaUser, "").status)
	assert.Equal(t, 404, e.call(t, "GET", "/Schemas/urn:x", "").status)
	assert.Equal(t, 405, e.call(t, "POST", "/ServiceProviderConfig", "{}").status)
}
