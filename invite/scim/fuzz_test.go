package scim

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/invitekit/invitekit/invite/internal/invitetest"
)

// The fuzz targets of the two parsers a directory feeds: filters and PATCH
// bodies. Seeds are the shapes Okta and Microsoft Entra ID send (their
// SCIM guides) and the ones the kit refuses. Run them with
//
//	go test -run '^$' -fuzz FuzzFilter -fuzztime 30s ./invite/scim/
//	go test -run '^$' -fuzz FuzzPatch -fuzztime 30s ./invite/scim/
//
// Properties: nothing panics; every refusal is a 400 SCIM error with a
// scimType (through the handler too, which never answers 5xx); an accepted
// filter renders back to a filter that parses to the same clauses; an
// accepted PATCH applied a second time changes nothing (a directory's
// retry is harmless).

var filterSeeds = []string{
	// Okta: the get by filter before create, and its group lookups.
	`userName eq "ann@example.com"`,
	`displayName eq "Engineering"`,
	// Entra: "Test connection" with a random userName, its queries.
	`userName eq "c7a2c3e4-6e5f-4c3b-9d0e-2b1f8a7e9d6c"`,
	`externalId eq "e-1"`,
	`emails[type eq "work"].value eq "bob@contoso.com"`,
	`userName eq "bob@contoso.com" and externalId eq "e-1"`,
	`id eq "grp_1" and members.value eq "usr_1"`,
	`externalId eq "g-1"`,
	// RFC 7644 forms: value paths, URNs, escapes, what is refused.
	`emails[type eq "work" and value eq "a@b.c"]`,
	`urn:ietf:params:scim:schemas:core:2.0:User:userName eq "a"`,
	`userName eq "a\"b\\c\u00e9"`,
	`userName sw "a"`,
	`userName eq "a" or userName eq "b"`,
	`not (userName eq "a")`,
	`title pr`,
	`meta.lastModified gt "2011-05-13T04:42:34Z"`,
	`userName eq true`,
	`emails[type eq "work"].value eq`,
	`userName eq`,
	`((userName eq "a"))`,
	"userName eq \"a\x00\"",
}

var patchSeeds = []string{
	// Okta: profile replace, deactivate, reactivate, group push.
	`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"name":{"givenName":"Anna"}}}]}`,
	`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false}}]}`,
	`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":true}}]}`,
	`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":[{"value":"usr_1","display":"ann@example.com"}]}]}`,
	`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"members[value eq \"usr_1\"]"}]}`,
	// Entra: capitalized ops, paths, boolean strings, objects with dotted keys.
	`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
		{"op":"Replace","path":"displayName","value":"Robert Ray"},
		{"op":"Replace","path":"name.givenName","value":"Robert"},
		{"op":"Replace","path":"emails[type eq \"work\"].value","value":"bob@contoso.com"},
		{"op":"Add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber","value":"7"},
		{"op":"Replace","path":"externalId","value":"e-1b"}]}`,
	`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"False"}]}`,
	`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":"True","name.familyName":"Roy"}}]}`,
	`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Add","path":"members","value":[{"value":"usr_1"}]}]}`,
	`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Remove","path":"members","value":[{"value":"usr_1"}]}]}`,
	`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"emails[type eq \"work\" and primary eq true]"}]}`,
	// Refused shapes.
	`{"schemas":["x"],"Operations":[{"op":"replace","value":{"active":false}}]}`,
	`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[]}`,
	`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"move","value":1}]}`,
	`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove"}]}`,
	`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"[[","value":1}]}`,
	`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":7,"value":1}]}`,
	`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"emails[type eq \"work\"]","value":"x"}]}`,
	`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":"x"}]}`,
	`[1]`, `{} {}`, `{"a":`,
}

// fuzzEnv is one memstore organization behind a Handler, with a token and
// one provisioned user.
type fuzzEnv struct {
	h      *Handler
	tok    string
	userID string
}

const fuzzUser = `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ann@example.com",
 "name":{"givenName":"Ann","familyName":"Lee"},"emails":[{"primary":true,"value":"ann@example.com","type":"work"}],
 "displayName":"Ann Lee","externalId":"00u1","active":true}`

func newFuzzEnv(f *testing.F) *fuzzEnv {
	e := invitetest.NewEnv(f, invitetest.OpenMem(f), nil)
	e.Org(f, "org_a")
	h, err := New(Config{Service: e.Svc, BaseURL: "https://app.example.com/scim/v2"})
	if err != nil {
		f.Fatal(err)
	}
	tok, _, err := e.Svc.CreateDirectoryToken(context.Background(), "org_a", "fuzz", "usr_admin")
	if err != nil {
		f.Fatal(err)
	}
	fe := &fuzzEnv{h: h, tok: tok}
	status, body := fe.serve(f, "POST", "/Users", fuzzUser)
	if status != http.StatusCreated {
		f.Fatalf("create: %d %v", status, body)
	}
	fe.userID = body["id"].(string)
	return fe
}

// serve runs one request through the handler and checks the response is
// SCIM: its media type, JSON, and for an error the RFC 7644 §3.12 form.
func (fe *fuzzEnv) serve(t testing.TB, method, target, body string) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, "/scim/v2"+target, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+fe.tok)
	if body != "" {
		req.Header.Set("Content-Type", ContentType)
	}
	w := httptest.NewRecorder()
	fe.h.ServeHTTP(w, req)
	if ct := w.Header().Get("Content-Type"); w.Body.Len() > 0 && ct != ContentType {
		t.Fatalf("%s %s: Content-Type %q", method, target, ct)
	}
	var out map[string]any
	if w.Body.Len() > 0 {
		if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
			t.Fatalf("%s %s: %d, not JSON: %v: %s", method, target, w.Code, err, w.Body)
		}
	}
	if w.Code >= 500 {
		t.Fatalf("%s %s: %d %s", method, target, w.Code, w.Body)
	}
	if w.Code >= 400 && w.Code != http.StatusRequestEntityTooLarge {
		if s, _ := out["schemas"].([]any); len(s) != 1 || s[0] != SchemaError {
			t.Fatalf("%s %s: %d without the error schema: %s", method, target, w.Code, w.Body)
		}
		if out["status"] != http.StatusText(0)+itoa(w.Code) {
			t.Fatalf("%s %s: %d, status %v", method, target, w.Code, out["status"])
		}
	}
	return w.Code, out
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// checkRefusal fails unless e is a 400 with a scimType.
func checkRefusal(t *testing.T, what string, e *Error) {
	t.Helper()
	if e.Status != http.StatusBadRequest || e.ScimType == "" || e.Detail == "" {
		t.Fatalf("%s: refused with %+v, want a 400 with a scimType and a detail", what, e)
	}
}

// renderFilter writes clauses back as a filter: a dotted attribute as a
// value path (emails[value eq "…"]), so the rendering parses whatever the
// depth.
func renderFilter(clauses []eqClause) string {
	parts := make([]string, len(clauses))
	for i, c := range clauses {
		v, _ := json.Marshal(c.value)
		if a, sub, ok := strings.Cut(c.attr, "."); ok {
			parts[i] = a + "[" + sub + " eq " + string(v) + "]"
		} else {
			parts[i] = c.attr + " eq " + string(v)
		}
	}
	return strings.Join(parts, " and ")
}

func FuzzFilter(f *testing.F) {
	for _, s := range filterSeeds {
		f.Add(s)
	}
	fe := newFuzzEnv(f)
	f.Fuzz(func(t *testing.T, raw string) {
		clauses, e := parseFilter(raw)
		if e != nil {
			checkRefusal(t, "filter "+raw, e)
			if e.ScimType != "invalidFilter" {
				t.Fatalf("filter %q: scimType %q, want invalidFilter", raw, e.ScimType)
			}
		} else {
			if len(clauses) == 0 {
				t.Fatalf("filter %q: accepted with no clause", raw)
			}
			again := renderFilter(clauses)
			got, e2 := parseFilter(again)
			if e2 != nil {
				t.Fatalf("filter %q: accepted as %+v, but its rendering %q is refused: %v", raw, clauses, again, e2)
			}
			if !reflect.DeepEqual(got, clauses) {
				t.Fatalf("filter %q: %+v, rendered %q parses to %+v", raw, clauses, again, got)
			}
		}
		// Through the handler: a list or a SCIM 400, never 5xx.
		for _, kind := range []string{"/Users", "/Groups"} {
			status, body := fe.serve(t, "GET", kind+"?filter="+url.QueryEscape(raw), "")
			switch {
			case status == http.StatusOK:
				if _, ok := body["totalResults"]; !ok {
					t.Fatalf("GET %s filter %q: 200 without totalResults", kind, raw)
				}
			case status == http.StatusBadRequest:
				if s, _ := body["scimType"].(string); s == "" {
					t.Fatalf("GET %s filter %q: 400 without scimType: %v", kind, raw, body)
				}
			default:
				t.Fatalf("GET %s filter %q: %d %v", kind, raw, status, body)
			}
		}
	})
}

// patchTarget is a user resource as the handler renders one (lower-case
// keys), the starting point PATCH operations apply to.
func patchTarget() map[string]any {
	var res map[string]any
	_ = json.Unmarshal([]byte(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"usr_1","username":"ann@example.com",
		"name":{"givenname":"Ann","familyname":"Lee","formatted":"Ann Lee"},"displayname":"Ann Lee","externalid":"00u1","active":true,
		"emails":[{"primary":true,"value":"ann@example.com","type":"work"}],"members":[{"value":"usr_1"},{"value":"usr_2"}],
		"meta":{"resourcetype":"User"}}`), &res)
	return res
}

func FuzzPatch(f *testing.F) {
	for _, s := range patchSeeds {
		f.Add(s)
	}
	fe := newFuzzEnv(f)
	f.Fuzz(func(t *testing.T, raw string) {
		body, e := decodeObject([]byte(raw))
		var ops []patchOp
		if e != nil {
			checkRefusal(t, "body", e)
		} else if ops, e = parsePatch(body); e != nil {
			checkRefusal(t, "PatchOp", e)
		} else {
			if len(ops) == 0 {
				t.Fatal("accepted with no operation")
			}
			res := patchTarget()
			if e := applyPatch(res, ops, SchemaUser); e != nil {
				checkRefusal(t, "apply", e)
			} else {
				once, err := json.Marshal(res)
				if err != nil {
					t.Fatalf("the patched resource does not marshal: %v", err)
				}
				if e := applyPatch(res, ops, SchemaUser); e != nil {
					t.Fatalf("applied once, refused the second time: %v", e)
				}
				twice, _ := json.Marshal(res)
				if string(once) != string(twice) {
					t.Fatalf("a second application changed the resource:\nonce:  %s\ntwice: %s", once, twice)
				}
			}
		}
		// Through the handler, on a user reset to its provisioned state
		// first: 200, or a SCIM error, never 5xx.
		if status, b := fe.serve(t, "PUT", "/Users/"+fe.userID, fuzzUser); status != http.StatusOK {
			t.Fatalf("reset: %d %v", status, b)
		}
		status, b := fe.serve(t, "PATCH", "/Users/"+fe.userID, raw)
		switch {
		case status == http.StatusOK:
		case status == http.StatusBadRequest:
			if s, _ := b["scimType"].(string); s == "" {
				t.Fatalf("PATCH: 400 without scimType: %v", b)
			}
		case status == http.StatusConflict:
			if b["scimType"] != "uniqueness" {
				t.Fatalf("PATCH: 409 %v", b)
			}
		default:
			t.Fatalf("PATCH %s: %d %v", raw, status, b)
		}
	})
}

// TestFilterText: what the fuzzer found. A filter's \u escapes may use
// lower-case hex (JSON's rule; filter-parser took upper case only), in
// filters and PATCH paths; a filter that is not valid UTF-8, or whose
// value decodes to a control character, is invalidFilter.
func TestFilterText(t *testing.T) {
	for raw, want := range map[string]string{
		`userName eq "\u00e9mile"`:     "émile",
		`userName eq "\u00E9mile"`:     "émile",
		`userName eq "a\u003cb\u003E"`: "a<b>",
		`userName eq "\\u00e9"`:        `\u00e9`,
	} {
		c, e := parseFilter(raw)
		if e != nil || len(c) != 1 || c[0].value != want {
			t.Errorf("parseFilter(%s) = %+v, %v; want %q", raw, c, e, want)
		}
	}
	for _, raw := range []string{"userName eq \"\x8a\"", `userName eq "a\u000ab"`, `userName eq "\u007F"`} {
		_, e := parseFilter(raw)
		if e == nil || e.ScimType != "invalidFilter" {
			t.Errorf("parseFilter(%q) = %v; want invalidFilter", raw, e)
		}
	}
	res := map[string]any{"emails": []any{map[string]any{"type": "wörk", "value": "a@b.c"}}}
	if e := applyPatch(res, []patchOp{{op: "remove", path: `emails[type eq "w\u00f6rk"]`}}, SchemaUser); e != nil {
		t.Fatal(e)
	}
	if l := res["emails"].([]any); len(l) != 0 {
		t.Errorf("remove emails[type eq \"w\\u00f6rk\"] left %v", l)
	}
}
