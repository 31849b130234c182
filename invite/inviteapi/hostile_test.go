package inviteapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/alexedwards/scs/v2"

	"github.com/invitekit/invitekit/authflow"
	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/invite/internal/invitetest"
	"github.com/invitekit/invitekit/invite/inviteapi"
	"github.com/invitekit/invitekit/invite/teampage"
	"github.com/invitekit/invitekit/middleware"
	"github.com/invitekit/invitekit/store"
)

// hostileValues are sent in every field; each breaks the kit's text rule.
// An oversized value (one over the field's own limit) is added per field.
var hostileValues = []struct{ name, v string }{
	{"NUL", "ab\x00cd"},
	{"Latin-1 byte", "Jos\xe9"},
	{"bare 0xFF", "\xff"},
	{"overlong slash", "a\xc0\xafb"},
	{"overlong NUL", "a\xc0\x80b"},
	{"UTF-8 surrogate", "a\xed\xa0\x80b"},
	{"C1 control", "a\u0085b"},
	{"escape", "a\x1b[2Jb"},
}

// outcome is how a surface answered, normalized: the status, and the
// machine-readable code and field of the refusal.
type outcome struct {
	status      int
	code, field string
	message     string
	raw         string
}

// hostileTarget is one input of one handler: send puts v into it.
type hostileTarget struct {
	name  string
	field string // the field the refusal must name
	// max is the field's own limit: the oversized value is one over it,
	// and the refusal's message names it. 0: the generic query limit, a
	// limit the message does not name (noMaxInMessage), or none.
	max            int
	over           string // the oversized value (default: max+1 'x's)
	overField      string // the field an oversized value is refused on (default field)
	noMaxInMessage bool
	send           func(t *testing.T, v string) outcome
}

func (tg hostileTarget) oversized() (v, field string) {
	v = tg.over
	if v == "" {
		n := tg.max
		if n == 0 {
			n = 2048 // httpx.MaxQueryValue
		}
		v = strings.Repeat("x", n+1)
	}
	field = tg.overField
	if field == "" {
		field = tg.field
	}
	return v, field
}

// jsonStr encodes v as a JSON string the way a client that does not check
// its bytes would: valid characters escaped as encoding/json does (so a
// NUL arrives as \u0000), bytes that are no UTF-8 passed on raw.
func jsonStr(v string) string {
	var b strings.Builder
	b.WriteByte('"')
	for len(v) > 0 {
		r, size := utf8.DecodeRuneInString(v)
		if r == utf8.RuneError && size == 1 {
			b.WriteByte(v[0])
		} else {
			enc, _ := json.Marshal(v[:size])
			b.Write(enc[1 : len(enc)-1])
		}
		v = v[size:]
	}
	b.WriteByte('"')
	return b.String()
}

// csvCell quotes v for a CSV cell.
func csvCell(v string) string { return `"` + strings.ReplaceAll(v, `"`, `""`) + `"` }

var (
	reErrorCode  = regexp.MustCompile(`id="error-code">([^<]*)<`)
	reErrorField = regexp.MustCompile(`id="error-field">([^<]*)<`)
	rePageField  = regexp.MustCompile(`\(field ([^)]*)\)`)
)

// TestHostileInputEveryField sends NUL, bytes that are no UTF-8, overlong
// encodings, an encoded surrogate, C1 and C0 controls, and a value one over
// the field's limit in every path, query and body field of every handler
// — the JSON API, the bulk API (its query, CSV cells and header, JSON
// lines), the team page (paths, query, forms, uploads), a route behind
// middleware.RequireMember, and authflow's accept and login (token,
// return_to) — on every store, PostgreSQL included. No answer is a 5xx;
// each refusal is a 4xx with a machine-readable code and the field (a
// bulk row: the row is invalid with its code and column); nothing changes
// in the store after any of them. The cases are generated: targets ×
// values.
func TestHostileInputEveryField(t *testing.T) {
	total, refusedTotal := 0, 0
	for _, sc := range invitetest.StoreCasesWithPostgres() {
		t.Run(sc.Name, func(t *testing.T) {
			tried, refused := hostileSweep(t, sc.Open(t))
			total += tried
			refusedTotal += refused
			t.Logf("%s: %d hostile inputs tried, %d refused", sc.Name, tried, refused)
		})
	}
	t.Logf("all stores: %d hostile inputs tried, %d refused", total, refusedTotal)
}

func hostileSweep(t *testing.T, st store.Store) (tried, refused int) {
	ctx := context.Background()
	e := newEnv(t, st, nil)
	e.Org(t, "org_a")
	admin := e.AddActive(t, "org_a", "admin@example.com", "admin")
	bob := e.Invite(t, "org_a", "bob@example.com")
	adminID, bobID := admin.User.ID, bob.User.ID

	jobs, err := inviteapi.NewBulkJobs(e.Svc, inviteapi.BulkJobsConfig{TempDir: t.TempDir(), MaxRunning: 8, MaxRunningTotal: 8, MaxJobs: 1000})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { jobs.Close() })
	dry, err := jobs.Start(ctx, "org_a", strings.NewReader("email\ndry@example.com\n"), invite.BulkOptions{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := jobs.Wait(ctx, "org_a", dry.ID, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	allow := func(*http.Request, string, inviteapi.Action) (string, error) { return adminID, nil }
	api, err := inviteapi.NewHandler(e.Svc, allow, inviteapi.HandlerConfig{RateLimits: noLimits})
	if err != nil {
		t.Fatal(err)
	}
	bulkAPI, err := inviteapi.NewBulkHandler(e.Svc, allow, inviteapi.BulkHandlerConfig{Jobs: jobs, RateLimits: noLimits})
	if err != nil {
		t.Fatal(err)
	}
	page, err := teampage.New(e.Svc, teampage.Config{Actor: func(*http.Request) string { return adminID }, Jobs: jobs, RateLimits: noLimits})
	if err != nil {
		t.Fatal(err)
	}
	sessions := scs.New()
	guard, err := middleware.New(st, sessions, middleware.Config{})
	if err != nil {
		t.Fatal(err)
	}
	flow, err := authflow.New(e.Svc, sessions, authflow.Config{
		Issuer: "https://idp.example.com", ClientID: "app", ClientSecret: "secret",
		RedirectURL: "https://app.example.com/auth/callback", DashboardURL: "/orgs/{orgID}/dashboard",
		RateLimits: authflow.RateLimits{PerClient: authflow.RateLimit{Off: true}},
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	api.Routes(mux, "")
	bulkAPI.Routes(mux, "")
	mux.Handle("/organizations/{orgID}/team/", page)
	mux.Handle("GET /orgs/{orgID}/dashboard", guard.RequireMember(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "dashboard")
	})))
	flow.Routes(mux)
	app := sessions.LoadAndSave(mux)
	// A signed-in member of org_a, for the guarded route.
	sctx, _ := sessions.Load(ctx, "")
	sessions.Put(sctx, middleware.SessionKeyUserID, adminID)
	tok, _, err := sessions.Commit(sctx)
	if err != nil {
		t.Fatal(err)
	}
	cookie := &http.Cookie{Name: sessions.Cookie.Name, Value: tok}

	do := func(method, target, ctype, body string, accept string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, target, strings.NewReader(body))
		if ctype != "" {
			r.Header.Set("Content-Type", ctype)
		}
		if accept != "" {
			r.Header.Set("Accept", accept)
		}
		r.AddCookie(cookie)
		rec := httptest.NewRecorder()
		app.ServeHTTP(rec, r)
		return rec
	}
	// JSON answers: {"error": {code, field, message}}.
	jsonOutcome := func(rec *httptest.ResponseRecorder) outcome {
		var b struct {
			Error struct{ Code, Field, Message string } `json:"error"`
		}
		json.Unmarshal(rec.Body.Bytes(), &b)
		return outcome{rec.Code, b.Error.Code, b.Error.Field, b.Error.Message, rec.Body.String()}
	}
	// A bulk import answers 200 with a report: its one row is the outcome.
	bulkRow := func(rec *httptest.ResponseRecorder) outcome {
		if rec.Code != http.StatusOK {
			return jsonOutcome(rec)
		}
		var rep invite.BulkReport
		if err := json.Unmarshal(rec.Body.Bytes(), &rep); err != nil || len(invitetest.Results(t, &rep)) != 1 {
			return outcome{status: rec.Code, raw: rec.Body.String()}
		}
		r := invitetest.Results(t, &rep)[0]
		status := http.StatusOK
		if r.Status == invite.BulkInvalid {
			status = http.StatusUnprocessableEntity // the row is refused
		}
		return outcome{status, r.Code, r.Field, r.Reason, rec.Body.String()}
	}
	// authflow answers with a page naming code and field.
	pageOutcome := func(rec *httptest.ResponseRecorder) outcome {
		o := outcome{status: rec.Code, raw: rec.Body.String()}
		if m := reErrorCode.FindStringSubmatch(o.raw); m != nil {
			o.code = m[1]
		}
		if m := reErrorField.FindStringSubmatch(o.raw); m != nil {
			o.field = m[1]
		}
		o.message = o.raw
		return o
	}
	// The team page is for people: a refused address names its field in
	// the text ("(field orgID)"), a form marks its input (marker → field).
	teamOutcome := func(rec *httptest.ResponseRecorder, markers map[string]string) outcome {
		o := outcome{status: rec.Code, code: "page", raw: rec.Body.String(), message: rec.Body.String()}
		if m := rePageField.FindStringSubmatch(o.raw); m != nil {
			o.code, o.field = "address", m[1]
		}
		for marker, field := range markers {
			if strings.Contains(o.raw, marker) {
				o.code, o.field = "form", field
			}
		}
		return o
	}

	var targets []hostileTarget
	esc := url.PathEscape
	qesc := url.QueryEscape

	// --- The JSON API: every route, orgID and userID in the path.
	type route struct {
		method, path, ctype, body string
	}
	apiRoutes := []route{
		{"GET", "/organizations/{orgID}/users", "", ""},
		{"POST", "/organizations/{orgID}/users", "application/json", `{"email":"new@example.com"}`},
		{"GET", "/organizations/{orgID}/users:lookup?email=bob@example.com", "", ""},
		{"GET", "/organizations/{orgID}/users/{userID}", "", ""},
		{"PATCH", "/organizations/{orgID}/users/{userID}", "application/json", `{"metadata":{"plan":"x"}}`},
		{"DELETE", "/organizations/{orgID}/users/{userID}", "", ""},
		{"POST", "/organizations/{orgID}/users/{userID}/resend", "", ""},
		{"POST", "/organizations/{orgID}/users/{userID}/revoke", "", ""},
		{"POST", "/organizations/{orgID}/users/{userID}/deactivate", "", ""},
		{"POST", "/organizations/{orgID}/users/{userID}/reactivate", "", ""},
		{"POST", "/organizations/{orgID}/users/{userID}/invite-link", "", ""},
		// The bulk API.
		{"POST", "/organizations/{orgID}/users:bulk", "text/csv", "email\nnew@example.com\n"},
		{"GET", "/organizations/{orgID}/users:bulk/jobs", "", ""},
		{"GET", "/organizations/{orgID}/users:bulk/jobs/{jobID}", "", ""},
		{"GET", "/organizations/{orgID}/users:bulk/jobs/{jobID}/report", "", ""},
		{"POST", "/organizations/{orgID}/users:bulk/jobs/{jobID}/cancel", "", ""},
		{"POST", "/organizations/{orgID}/users:bulk/jobs/{jobID}/confirm", "", ""},
	}
	for _, rt := range apiRoutes {
		for _, param := range []string{"orgID", "userID", "jobID"} {
			if !strings.Contains(rt.path, "{"+param+"}") {
				continue
			}
			targets = append(targets, hostileTarget{
				name: rt.method + " " + rt.path + " " + param, field: param, max: store.MaxIDLen,
				send: func(t *testing.T, v string) outcome {
					vals := map[string]string{"orgID": "org_a", "userID": bobID, "jobID": dry.ID}
					vals[param] = v
					p := strings.NewReplacer("{orgID}", esc(vals["orgID"]), "{userID}", esc(vals["userID"]), "{jobID}", esc(vals["jobID"])).Replace(rt.path)
					return jsonOutcome(do(rt.method, p, rt.ctype, rt.body, ""))
				},
			})
		}
	}
	// Query values.
	queries := []struct {
		method, path, param, ctype, body string
		max                              int
		over                             string
		noMax                            bool
	}{
		{"GET", "/organizations/org_a/users", "status", "", "", 0, "", false},
		{"GET", "/organizations/org_a/users", "q", "", "", 256, "", false},
		{"GET", "/organizations/org_a/users", "pageSize", "", "", invite.MaxListLimit, strconv.Itoa(invite.MaxListLimit + 1), false},
		{"GET", "/organizations/org_a/users", "pageToken", "", "", 256, "", true},
		{"GET", "/organizations/org_a/users:lookup", "email", "", "", 254, strings.Repeat("e", 250) + "@x.com", false},
		{"GET", "/organizations/org_a/users:lookup", "externalId", "", "", invite.MaxExternalIDLen, "", false},
		{"POST", "/organizations/org_a/users:bulk", "dryRun", "text/csv", "email\nnew@example.com\n", 0, "", false},
		{"POST", "/organizations/org_a/users:bulk", "sendInvitationEmail", "text/csv", "email\nnew@example.com\n", 0, "", false},
		{"POST", "/organizations/org_a/users:bulk", "async", "text/csv", "email\nnew@example.com\n", 0, "", false},
		{"GET", "/organizations/org_a/users:bulk/jobs/" + dry.ID + "/report", "format", "", "", 0, "", false},
	}
	for _, q := range queries {
		targets = append(targets, hostileTarget{
			name: q.method + " " + q.path + " ?" + q.param, field: q.param, max: q.max, over: q.over, noMaxInMessage: q.noMax,
			send: func(t *testing.T, v string) outcome {
				return jsonOutcome(do(q.method, q.path+"?"+q.param+"="+qesc(v), q.ctype, q.body, ""))
			},
		})
	}
	// --- Body fields: the create request, the update, and the same
	// fields as JSON lines of a bulk import.
	type bodyField struct {
		field     string
		max       int
		over      string
		overField string
		noMax     bool
		body      func(v string) string // the create request's JSON with v in the field
	}
	withProfile := func(inner string) string {
		return `{"email":"new@example.com","userProfile":{` + inner + `}}`
	}
	longKey := strings.Repeat("k", invite.MaxMetadataKeyLen+1)
	bodyFields := []bodyField{
		{field: "email", max: 254, over: strings.Repeat("e", 250) + "@x.com", body: func(v string) string { return `{"email":` + jsonStr(v) + `}` }},
		{field: "externalId", max: invite.MaxExternalIDLen, body: func(v string) string { return `{"email":"new@example.com","externalId":` + jsonStr(v) + `}` }},
		{field: "userProfile.firstName", max: invite.MaxNameLen, body: func(v string) string { return withProfile(`"firstName":` + jsonStr(v)) }},
		{field: "userProfile.lastName", max: invite.MaxNameLen, body: func(v string) string { return withProfile(`"lastName":` + jsonStr(v)) }},
		{field: "userProfile.name", max: invite.MaxDisplayNameLen, body: func(v string) string { return withProfile(`"name":` + jsonStr(v)) }},
		{field: "userProfile.locale", max: 35, body: func(v string) string { return withProfile(`"locale":` + jsonStr(v)) }},
		{field: "userProfile.phoneNumber", over: "+" + strings.Repeat("1", 16), noMax: true, body: func(v string) string { return withProfile(`"phoneNumber":` + jsonStr(v)) }},
		{field: "userProfile.metadata.tier", max: invite.MaxMetadataValLen, body: func(v string) string { return withProfile(`"metadata":{"tier":` + jsonStr(v) + `}`) }},
		{field: "userProfile.metadata", over: longKey, overField: "userProfile.metadata." + longKey, max: invite.MaxMetadataKeyLen,
			body: func(v string) string { return withProfile(`"metadata":{` + jsonStr(v) + `:"x"}`) }},
		{field: "userProfile.customAttributes.dept", max: invite.MaxMetadataValLen, body: func(v string) string {
			return withProfile(`"customAttributes":{"dept":` + jsonStr(v) + `}`)
		}},
		{field: "userProfile.customAttributes", over: longKey, overField: "userProfile.customAttributes." + longKey, max: invite.MaxMetadataKeyLen,
			body: func(v string) string { return withProfile(`"customAttributes":{` + jsonStr(v) + `:"x"}`) }},
		{field: "metadata.plan", max: invite.MaxMetadataValLen, body: func(v string) string {
			return `{"email":"new@example.com","metadata":{"plan":` + jsonStr(v) + `}}`
		}},
		{field: "metadata", over: longKey, overField: "metadata." + longKey, max: invite.MaxMetadataKeyLen, body: func(v string) string {
			return `{"email":"new@example.com","metadata":{` + jsonStr(v) + `:"x"}}`
		}},
		{field: "roles[0]", over: strings.Repeat("r", 65), noMax: true, body: func(v string) string {
			return `{"email":"new@example.com","roles":[` + jsonStr(v) + `]}`
		}},
	}
	for _, bf := range bodyFields {
		targets = append(targets, hostileTarget{
			name: "POST /organizations/{orgID}/users body " + bf.field, field: bf.field, max: bf.max, over: bf.over, overField: bf.overField, noMaxInMessage: bf.noMax,
			send: func(t *testing.T, v string) outcome {
				return jsonOutcome(do("POST", "/organizations/org_a/users", "application/json", bf.body(v), ""))
			},
		}, hostileTarget{
			name: "POST /organizations/{orgID}/users:bulk JSON line " + bf.field, field: bf.field, max: bf.max, over: bf.over, overField: bf.overField, noMaxInMessage: bf.noMax,
			send: func(t *testing.T, v string) outcome {
				return bulkRow(do("POST", "/organizations/org_a/users:bulk", "application/x-ndjson", bf.body(v)+"\n", ""))
			},
		})
	}
	for _, uf := range []bodyField{
		{field: "roles[0]", over: strings.Repeat("r", 65), noMax: true, body: func(v string) string { return `{"roles":[` + jsonStr(v) + `]}` }},
		{field: "metadata.plan", max: invite.MaxMetadataValLen, body: func(v string) string { return `{"metadata":{"plan":` + jsonStr(v) + `}}` }},
		{field: "metadata", over: longKey, overField: "metadata." + longKey, max: invite.MaxMetadataKeyLen, body: func(v string) string { return `{"metadata":{` + jsonStr(v) + `:"x"}}` }},
	} {
		targets = append(targets, hostileTarget{
			name: "PATCH /organizations/{orgID}/users/{userID} body " + uf.field, field: uf.field, max: uf.max, over: uf.over, overField: uf.overField, noMaxInMessage: uf.noMax,
			send: func(t *testing.T, v string) outcome {
				return jsonOutcome(do("PATCH", "/organizations/org_a/users/"+bobID, "application/json", uf.body(v), ""))
			},
		})
	}
	// --- CSV: every column's cell, and a metadata column's name.
	csvCols := []struct {
		col   string
		good  string
		max   int
		over  string
		noMax bool
	}{
		{"email", "new@example.com", 254, strings.Repeat("e", 250) + "@x.com", false},
		{"first_name", "F", invite.MaxNameLen, "", false},
		{"last_name", "L", invite.MaxNameLen, "", false},
		{"name", "N", invite.MaxDisplayNameLen, "", false},
		{"locale", "de", 35, "", false},
		{"phone_number", "+14155550100", 0, "+" + strings.Repeat("1", 16), true},
		{"roles", "member", 0, strings.Repeat("r", 65), true},
		{"external_id", "ext-1", invite.MaxExternalIDLen, "", false},
		{"metadata.plan", "p", invite.MaxMetadataValLen, "", false},
	}
	header := make([]string, len(csvCols))
	for i, c := range csvCols {
		header[i] = c.col
	}
	csvRow := func(col, v string) string {
		cells := make([]string, len(csvCols))
		for i, c := range csvCols {
			cells[i] = csvCell(c.good)
			if c.col == col {
				cells[i] = csvCell(v)
			}
		}
		return strings.Join(header, ",") + "\n" + strings.Join(cells, ",") + "\n"
	}
	for _, c := range csvCols {
		targets = append(targets, hostileTarget{
			name: "POST /organizations/{orgID}/users:bulk CSV " + c.col, field: c.col, max: c.max, over: c.over, noMaxInMessage: c.noMax,
			send: func(t *testing.T, v string) outcome {
				return bulkRow(do("POST", "/organizations/org_a/users:bulk", "text/csv", csvRow(c.col, v), ""))
			},
		})
	}
	targets = append(targets, hostileTarget{
		name: "POST /organizations/{orgID}/users:bulk CSV header metadata.<key>", field: "metadata",
		over: longKey, overField: "metadata." + longKey, max: invite.MaxMetadataKeyLen,
		send: func(t *testing.T, v string) outcome {
			return bulkRow(do("POST", "/organizations/org_a/users:bulk", "text/csv", "email,"+csvCell("metadata."+v)+"\nnew@example.com,x\n", ""))
		},
	})

	// --- The team page.
	team := "/organizations/org_a/team"
	addMarkers := map[string]string{
		`id="ik-add-email-error"`: "email", `id="ik-add-first-error"`: "first_name",
		`id="ik-add-last-error"`: "last_name", `id="ik-add-roles-error"`: "roles",
	}
	form := func(kv ...string) string {
		v := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Add(kv[i], kv[i+1])
		}
		return v.Encode()
	}
	const formType = "application/x-www-form-urlencoded"
	teamPaths := []struct{ method, path, param string }{
		{"GET", "/organizations/{orgID}/team/", "orgID"},
		{"POST", "/organizations/{orgID}/team/members", "orgID"},
		{"POST", "/organizations/org_a/team/members/{userID}/resend", "userID"},
		{"POST", "/organizations/org_a/team/members/{userID}/roles", "userID"},
		{"POST", "/organizations/org_a/team/members/{userID}/deactivate", "userID"},
		{"GET", "/organizations/org_a/team/import/{jobID}", "jobID"},
		{"GET", "/organizations/org_a/team/import/{jobID}/status", "jobID"},
		{"GET", "/organizations/org_a/team/import/{jobID}/results.csv", "jobID"},
		{"POST", "/organizations/org_a/team/import/{jobID}/confirm", "jobID"},
		{"POST", "/organizations/org_a/team/import/{jobID}/cancel", "jobID"},
	}
	for _, tp := range teamPaths {
		targets = append(targets, hostileTarget{
			name: "team page " + tp.method + " " + tp.path, field: tp.param, max: store.MaxIDLen,
			send: func(t *testing.T, v string) outcome {
				p := strings.NewReplacer("{orgID}", esc(v), "{userID}", esc(v), "{jobID}", esc(v)).Replace(tp.path)
				return teamOutcome(do(tp.method, p, formType, form("email", "new@example.com", "roles", "member"), ""), nil)
			},
		})
	}
	for _, q := range []struct {
		param string
		max   int
		noMax bool
	}{{"q", 256, false}, {"status", 0, false}, {"after", 256, true}} {
		targets = append(targets, hostileTarget{
			name: "team page GET ?" + q.param, field: q.param, max: q.max, noMaxInMessage: q.noMax, overField: map[string]string{"after": "pageToken"}[q.param],
			send: func(t *testing.T, v string) outcome {
				o := teamOutcome(do("GET", team+"/?"+q.param+"="+qesc(v), "", "", ""), nil)
				if o.code == "page" && o.status == http.StatusUnprocessableEntity && strings.Contains(o.raw, `id="ik-alert"`) {
					// The Service refused the filter: its message names the field.
					for _, f := range []string{"q", "status", "pageToken"} {
						if strings.Contains(o.raw, `id="ik-alert">`+f+` `) {
							o.code, o.field = "alert", f
						}
					}
				}
				return o
			},
		}, hostileTarget{
			name: "team page POST members form filter " + q.param, field: q.param, max: 2048,
			send: func(t *testing.T, v string) outcome {
				return teamOutcome(do("POST", team+"/members", formType, form("email", "new@example.com", q.param, v), ""), nil)
			},
		})
	}
	for _, f := range []struct {
		field, over string
		max         int
		noMax       bool
	}{
		{"email", strings.Repeat("e", 250) + "@x.com", 254, false},
		{"first_name", "", invite.MaxNameLen, false},
		{"last_name", "", invite.MaxNameLen, false},
		{"roles", strings.Repeat("r", 65), 0, true},
	} {
		targets = append(targets, hostileTarget{
			name: "team page POST members form " + f.field, field: f.field, max: f.max, over: f.over, noMaxInMessage: f.noMax,
			send: func(t *testing.T, v string) outcome {
				kv := map[string]string{"email": "new@example.com", "first_name": "F", "last_name": "L", "roles": "member"}
				kv[f.field] = v
				return teamOutcome(do("POST", team+"/members", formType,
					form("email", kv["email"], "first_name", kv["first_name"], "last_name", kv["last_name"], "roles", kv["roles"], "send_email", "1"), ""), addMarkers)
			},
		})
	}
	targets = append(targets, hostileTarget{
		name: "team page POST members/{userID}/roles form roles", field: "roles[0]", over: strings.Repeat("r", 65), noMaxInMessage: true,
		send: func(t *testing.T, v string) outcome {
			o := teamOutcome(do("POST", team+"/members/"+bobID+"/roles", formType, form("roles", v), ""), nil)
			// The alert names the field in words (a person never sees the
			// path roles[0]), or says the role is unknown.
			if strings.Contains(o.raw, `id="ik-alert">Roles `) || (strings.Contains(o.raw, `id="ik-alert"`) && strings.Contains(o.raw, "unknown role")) {
				o.code, o.field = "alert", "roles[0]"
			}
			return o
		},
	})
	// Uploads: the file's cells are a bulk import's; the row is refused.
	for _, c := range []string{"email", "first_name", "metadata.plan"} {
		col := csvCols[0]
		for _, cc := range csvCols {
			if cc.col == c {
				col = cc
			}
		}
		targets = append(targets, hostileTarget{
			name: "team page POST import file CSV " + c, field: c, max: col.max, over: col.over,
			send: func(t *testing.T, v string) outcome {
				var body bytes.Buffer
				mw := multipart.NewWriter(&body)
				fw, _ := mw.CreateFormFile("file", "people.csv")
				io.WriteString(fw, csvRow(c, v))
				mw.WriteField("send_email", "1")
				mw.Close()
				rec := do("POST", team+"/import", mw.FormDataContentType(), body.String(), "")
				if rec.Code != http.StatusSeeOther {
					return teamOutcome(rec, nil)
				}
				jobID := rec.Header().Get("Location")[strings.LastIndex(rec.Header().Get("Location"), "/")+1:]
				if _, err := jobs.Wait(ctx, "org_a", jobID, 10*time.Second); err != nil {
					t.Fatal(err)
				}
				rep, _, err := jobs.Report("org_a", jobID)
				if err != nil || rep == nil || len(invitetest.Results(t, rep)) != 1 {
					return outcome{status: rec.Code, raw: fmt.Sprint(rep, err)}
				}
				r := invitetest.Results(t, rep)[0]
				status := http.StatusOK
				if r.Status == invite.BulkInvalid {
					status = http.StatusUnprocessableEntity
				}
				return outcome{status, r.Code, r.Field, r.Reason, fmt.Sprint(r)}
			},
		})
	}
	// --- A route behind middleware.RequireMember, for a signed-in member.
	targets = append(targets, hostileTarget{
		name: "GET /orgs/{orgID}/dashboard (RequireMember)", field: "orgID", max: 128,
		send: func(t *testing.T, v string) outcome {
			return jsonOutcome(do("GET", "/orgs/"+esc(v)+"/dashboard", "", "", "application/json"))
		},
	})
	// --- authflow: the accept link's token, the login's return_to.
	targets = append(targets, hostileTarget{
		name: "GET /accept?token", field: "token", over: "inv_" + strings.Repeat("a", 200) + ".x", noMaxInMessage: true,
		send: func(t *testing.T, v string) outcome {
			return pageOutcome(do("GET", "/accept?token="+qesc(v), "", "", ""))
		},
	}, hostileTarget{
		name: "POST /accept token", field: "token", over: "inv_" + strings.Repeat("a", 200) + ".x", noMaxInMessage: true,
		send: func(t *testing.T, v string) outcome {
			return pageOutcome(do("POST", "/accept", formType, form("token", v), ""))
		},
	}, hostileTarget{
		name: "GET /login?return_to", field: "return_to", over: "/" + strings.Repeat("r", 2048), noMaxInMessage: true,
		send: func(t *testing.T, v string) outcome {
			return pageOutcome(do("GET", "/login?return_to="+qesc(v), "", "", ""))
		},
	})

	orgs := []string{"org_a"}
	emails := []string{"admin@example.com", "bob@example.com", "new@example.com", "dry@example.com"}
	for _, tg := range targets {
		over, overField := tg.oversized()
		values := append(append([]struct{ name, v string }{}, hostileValues...), struct{ name, v string }{"oversized", over})
		for _, hv := range values {
			want := tg.field
			if hv.name == "oversized" {
				want = overField
			}
			before := takeSnapshot(t, st, orgs, emails)
			o := tg.send(t, hv.v)
			tried++
			what := fmt.Sprintf("%s, %s %q", tg.name, hv.name, shortValue(hv.v))
			switch {
			case o.status >= 500:
				t.Errorf("%s: %d (a 5xx): %s", what, o.status, shortValue(o.raw))
			case o.status < 400:
				t.Errorf("%s: accepted (%d): %s", what, o.status, shortValue(o.raw))
			case o.code == "" || o.field != want:
				t.Errorf("%s: %d code %q field %q, want a code and field %q: %s", what, o.status, o.code, o.field, want, shortValue(o.raw))
			case hv.name == "oversized" && tg.max > 0 && !tg.noMaxInMessage && !strings.Contains(o.message, strconv.Itoa(tg.max)):
				t.Errorf("%s: the refusal does not name the limit %d: %q", what, tg.max, shortValue(o.message))
			default:
				refused++
			}
			invitetest.AssertUnchanged(t, before, takeSnapshot(t, st, orgs, emails))
		}
	}
	return tried, refused
}

func shortValue(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}
