package inviteapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/invite/internal/invitetest"
	"github.com/invitekit/invitekit/invite/inviteapi"
	"github.com/invitekit/invitekit/store"
)

// bulkAPI serves the bulk handler; the Authorizer lets "Bearer admin"
// through as usr_admin, refuses "Bearer member" and wants a token.
func bulkAPI(t *testing.T, st store.Store, cfg inviteapi.BulkHandlerConfig) (*env, *httptest.Server) {
	t.Helper()
	e := newEnv(t, st, nil)
	e.Org(t, "org_a")
	e.Org(t, "org_b")
	authz := func(r *http.Request, orgID string, action inviteapi.Action) (string, error) {
		if action != inviteapi.ActionBulkImport {
			return "", errors.New("unexpected action " + string(action))
		}
		switch r.Header.Get("Authorization") {
		case "Bearer admin":
			return "usr_admin", nil
		case "":
			return "", inviteapi.ErrUnauthenticated
		}
		return "", inviteapi.ErrPermissionDenied
	}
	h, err := inviteapi.NewBulkHandler(e.Svc, authz, cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return e, srv
}

type apiResp struct {
	status int
	header http.Header
	body   []byte
}

func (r apiResp) errorCode(t *testing.T) (code, field, msg string) {
	t.Helper()
	var body struct {
		Error inviteapi.APIError `json:"error"`
	}
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatalf("error body %q: %v", r.body, err)
	}
	return body.Error.Code, body.Error.Field, body.Error.Message
}

func call(t *testing.T, method, url, contentType, body string, hdr ...string) apiResp {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Authorization", "Bearer admin")
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
		} else {
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return apiResp{resp.StatusCode, resp.Header, b}
}

const apiCSV = "email,first_name,roles\nann@example.com,Ann,member\nbad,X,\nbob@example.com,Bob,admin\n"

func TestBulkAPI(t *testing.T) {
	e, srv := bulkAPI(t, openSQLite(t), inviteapi.BulkHandlerConfig{MaxBytes: 4096})
	url := srv.URL + "/organizations/org_a/users:bulk"
	before := takeSnapshot(t, e.St, []string{"org_a"}, []string{"ann@example.com"})

	// Dry run: the report, nothing written.
	r := call(t, "POST", url+"?dryRun=true", "text/csv; charset=utf-8", apiCSV)
	var rep invite.BulkReport
	if r.status != 200 || json.Unmarshal(r.body, &rep) != nil || !rep.DryRun || rep.Summary != (invite.BulkSummary{Rows: 3, Created: 2, Invalid: 1}) {
		t.Fatalf("dry run: %d %s", r.status, r.body)
	}
	if invitetest.Results(t, &rep)[1].Field != "email" || invitetest.Results(t, &rep)[1].Code != invite.CodeInvalidArgument {
		t.Fatalf("row 2 %+v", invitetest.Results(t, &rep)[1])
	}
	assertUnchanged(t, before, takeSnapshot(t, e.St, []string{"org_a"}, []string{"ann@example.com"}))

	// For real, the actor from the Authorizer; CSV answer on request.
	r = call(t, "POST", url, "text/csv", apiCSV, "Accept", "text/csv")
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/csv") || !strings.Contains(string(r.body), "1,2,ann@example.com,created,PENDING_INVITE,usr_") {
		t.Fatalf("import: %d %s", r.status, r.body)
	}
	m, err := e.Svc.GetMember(context.Background(), "org_a", invite.UserRef{Email: "bob@example.com"})
	if err != nil || m.Membership.InvitedBy != "usr_admin" || !m.Membership.HasRole("admin") {
		t.Fatalf("bob %+v %v", m, err)
	}

	// JSON lines, and the re-upload is idempotent.
	r = call(t, "POST", url, "application/x-ndjson", `{"email":"ann@example.com"}`+"\n"+`{"email":"cid@example.com","sendInvitationEmail":false}`+"\n")
	json.Unmarshal(r.body, &rep)
	if r.status != 200 || rep.Summary != (invite.BulkSummary{Rows: 2, Created: 1, AlreadyMember: 1}) || invitetest.Results(t, &rep)[1].MembershipStatus != store.StatusActive {
		t.Fatalf("jsonl: %d %s", r.status, r.body)
	}

	after := takeSnapshot(t, e.St, []string{"org_a"}, []string{"ann@example.com"})
	errs := []struct {
		name, method, url, ctype, body string
		hdr                            []string
		status                         int
		code, field                    string
	}{
		{"unauthenticated", "POST", url, "text/csv", apiCSV, []string{"Authorization", ""}, 401, "unauthenticated", ""},
		{"not an admin", "POST", url, "text/csv", apiCSV, []string{"Authorization", "Bearer member"}, 403, "permission_denied", ""},
		{"cross-origin", "POST", url, "text/csv", apiCSV, []string{"Sec-Fetch-Site", "cross-site"}, 403, "cross_origin", ""},
		{"wrong media type", "POST", url, "application/json", `{}`, nil, 415, "unsupported_media_type", "format"},
		{"bad header", "POST", url, "text/csv", "email,shoe_size\na@example.com,42\n", nil, 422, "bad_header", "shoe_size"},
		{"too large", "POST", url, "text/csv", "email\n" + strings.Repeat("z@example.com\n", 400), nil, 413, "too_large", "file"},
		{"bad dryRun", "POST", url + "?dryRun=maybe", "text/csv", apiCSV, nil, 422, "invalid_argument", "dryRun"},
		{"unknown org", "POST", srv.URL + "/organizations/org_zz/users:bulk", "text/csv", apiCSV, nil, 404, "not_found", ""},
		{"GET", "GET", url, "", "", nil, 405, "method_not_allowed", ""},
		{"async without jobs", "POST", url + "?async=true", "text/csv", apiCSV, nil, 422, "invalid_argument", "async"},
		{"jobs without jobs", "GET", url + "/jobs/job_x", "", "", nil, 404, "not_found", ""},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			r := call(t, tt.method, tt.url, tt.ctype, tt.body, tt.hdr...)
			code, field, msg := r.errorCode(t)
			if r.status != tt.status || code != tt.code || field != tt.field || msg == "" {
				t.Fatalf("%d %s %s %q, want %d %s %s", r.status, code, field, msg, tt.status, tt.code, tt.field)
			}
		})
	}
	assertUnchanged(t, after, takeSnapshot(t, e.St, []string{"org_a"}, []string{"ann@example.com"}))
}

func TestBulkAPIStreamedProgress(t *testing.T) {
	_, srv := bulkAPI(t, openSQLite(t), inviteapi.BulkHandlerConfig{BatchSize: 10})
	var in strings.Builder
	in.WriteString("email\n")
	for i := range 35 {
		in.WriteString("s" + string(rune('a'+i%26)) + strings.Repeat("x", i/26) + "@example.com\n")
	}
	req, _ := http.NewRequest("POST", srv.URL+"/organizations/org_a/users:bulk", strings.NewReader(in.String()))
	req.Header.Set("Content-Type", "text/csv")
	req.Header.Set("Accept", "application/x-ndjson")
	req.Header.Set("Authorization", "Bearer admin")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-ndjson; charset=utf-8" {
		t.Fatalf("%d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var rows []int
	var final *invite.BulkReport
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var line struct {
			Progress *invite.BulkProgress `json:"progress"`
			Report   *invite.BulkReport   `json:"report"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		switch {
		case line.Progress != nil:
			rows = append(rows, line.Progress.Rows)
		case line.Report != nil:
			final = line.Report
		}
	}
	if final == nil || final.Summary.Created != 35 {
		t.Fatalf("final report %+v", final)
	}
	if len(rows) < 4 || rows[len(rows)-1] != 35 {
		t.Fatalf("progress rows %v", rows)
	}
}

func TestBulkJobsAndAPI(t *testing.T) {
	st := openSQLite(t)
	e := newEnv(t, st, nil)
	jobs, err := inviteapi.NewBulkJobs(e.Svc, inviteapi.BulkJobsConfig{TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer jobs.Close()
	h, err := inviteapi.NewBulkHandler(e.Svc, func(*http.Request, string, inviteapi.Action) (string, error) { return "usr_admin", nil },
		inviteapi.BulkHandlerConfig{Jobs: jobs})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	e.Org(t, "org_a")
	e.Org(t, "org_b")
	url := srv.URL + "/organizations/org_a/users:bulk"

	// An async dry run: 202 with the job; poll it.
	r := call(t, "POST", url+"?async=true&dryRun=true", "text/csv", apiCSV)
	var st0 inviteapi.BulkJobStatus
	if r.status != 202 || json.Unmarshal(r.body, &st0) != nil || st0.ID == "" || r.header.Get("Location") != "/organizations/org_a/users:bulk/jobs/"+st0.ID {
		t.Fatalf("start: %d %s %v", r.status, r.body, r.header)
	}
	done, err := jobs.Wait(context.Background(), "org_a", st0.ID, 10*time.Second)
	if err != nil || done.State != inviteapi.BulkJobDone || !done.Confirmable || done.Progress.Summary.Created != 2 {
		t.Fatalf("dry run job %+v %v", done, err)
	}
	r = call(t, "GET", srv.URL+r.header.Get("Location"), "", "")
	var polled inviteapi.BulkJobStatus
	if r.status != 200 || json.Unmarshal(r.body, &polled) != nil || polled.State != inviteapi.BulkJobDone || polled.Progress.Rows != 3 {
		t.Fatalf("poll: %d %s", r.status, r.body)
	}
	r = call(t, "GET", url+"/jobs/"+st0.ID+"/report?format=csv", "", "")
	if r.status != 200 || !strings.Contains(string(r.body), "2,3,bad,invalid") {
		t.Fatalf("report: %d %s", r.status, r.body)
	}
	// Another organization cannot see or confirm it.
	other := srv.URL + "/organizations/org_b/users:bulk/jobs/" + st0.ID
	if r := call(t, "GET", other, "", ""); r.status != 404 {
		t.Fatalf("cross-tenant status: %d", r.status)
	}
	if r := call(t, "POST", other+"/confirm", "", ""); r.status != 404 {
		t.Fatalf("cross-tenant confirm: %d", r.status)
	}
	if _, err := e.Svc.GetMember(context.Background(), "org_a", invite.UserRef{Email: "ann@example.com"}); !errors.Is(err, invite.ErrNotFound) {
		t.Fatalf("dry run job wrote: %v", err)
	}
	// Confirm: the same input, for real, as a new job.
	r = call(t, "POST", url+"/jobs/"+st0.ID+"/confirm", "", "")
	var real inviteapi.BulkJobStatus
	if r.status != 202 || json.Unmarshal(r.body, &real) != nil || real.DryRun || real.ID == st0.ID {
		t.Fatalf("confirm: %d %s", r.status, r.body)
	}
	if fin, _ := jobs.Wait(context.Background(), "org_a", real.ID, 10*time.Second); fin.State != inviteapi.BulkJobDone || fin.Progress.Summary.Created != 2 {
		t.Fatalf("real job %+v", fin)
	}
	if m, err := e.Svc.GetMember(context.Background(), "org_a", invite.UserRef{Email: "ann@example.com"}); err != nil || m.Membership.InvitedBy != "usr_admin" {
		t.Fatalf("ann %+v %v", m, err)
	}
	if r := call(t, "POST", url+"/jobs/"+st0.ID+"/confirm", "", ""); r.status != 404 {
		t.Fatalf("second confirm: %d", r.status)
	}
	r = call(t, "GET", url+"/jobs", "", "")
	var list struct{ Jobs []inviteapi.BulkJobStatus }
	if json.Unmarshal(r.body, &list) != nil || len(list.Jobs) != 2 || list.Jobs[0].ID != real.ID {
		t.Fatalf("list %s", r.body)
	}
	// A bad file is refused at Start, before any job exists.
	r = call(t, "POST", url+"?async=true", "text/csv", "email,hat\n")
	if code, field, _ := r.errorCode(t); r.status != 422 || code != "bad_header" || field != "hat" {
		t.Fatalf("bad async: %d %s", r.status, r.body)
	}
}

func TestBulkJobsCancelAndLimits(t *testing.T) {
	e := newEnv(t, openSQLite(t), func(c *invite.Config) {
		c.BeforeInvite = func(ctx context.Context, in invite.PolicyInput) error {
			time.Sleep(2 * time.Millisecond) // a slow policy keeps the job running
			return nil
		}
	})
	e.Org(t, "org_a")
	jobs, err := inviteapi.NewBulkJobs(e.Svc, inviteapi.BulkJobsConfig{MaxRunning: 1, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	src := &rowSource{Header: "email\n", N: 2000, Row: func(i int) string { return "slow" + itoa(i) + "@example.com\n" }}
	st, err := jobs.Start(ctx, "org_a", src, invite.BulkOptions{BatchSize: 50})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := jobs.Start(ctx, "org_a", strings.NewReader(apiCSV), invite.BulkOptions{}); !errors.Is(err, inviteapi.ErrBulkBusy) {
		t.Fatalf("second job: %v", err)
	}
	if err := jobs.Cancel("org_b", st.ID); !errors.Is(err, invite.ErrNotFound) {
		t.Fatalf("cross-tenant cancel: %v", err)
	}
	if err := jobs.Cancel("org_a", st.ID); err != nil {
		t.Fatal(err)
	}
	fin, _ := jobs.Wait(ctx, "org_a", st.ID, 10*time.Second)
	if fin.State != inviteapi.BulkJobCanceled || fin.Progress.Rows >= 2000 {
		t.Fatalf("canceled job %+v", fin)
	}
	rep, _, _ := jobs.Report("org_a", st.ID)
	checkSummary(t, rep)
	if err := jobs.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := jobs.Start(ctx, "org_a", strings.NewReader(apiCSV), invite.BulkOptions{}); err == nil {
		t.Fatal("Start after Close")
	}
}

func itoa(i int) string {
	b := []byte{}
	for {
		b = append([]byte{byte('0' + i%10)}, b...)
		i /= 10
		if i == 0 {
			return string(b)
		}
	}
}

// The bulk routes mount beside the member API on one mux.
func TestBulkRoutesBesideAPI(t *testing.T) {
	e := newEnv(t, openSQLite(t), nil)
	e.Org(t, "org_a")
	authz := func(*http.Request, string, inviteapi.Action) (string, error) { return "usr_admin", nil }
	api, err := inviteapi.NewHandler(e.Svc, authz, inviteapi.HandlerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	bulkH, err := inviteapi.NewBulkHandler(e.Svc, authz, inviteapi.BulkHandlerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	api.Routes(mux, "/api")
	bulkH.Routes(mux, "/api")
	srv := httptest.NewServer(mux)
	defer srv.Close()
	if r := call(t, "POST", srv.URL+"/api/organizations/org_a/users:bulk", "text/csv", "email\nx@example.com\n"); r.status != 200 {
		t.Fatalf("bulk: %d %s", r.status, r.body)
	}
	r := call(t, "GET", srv.URL+"/api/organizations/org_a/users", "", "")
	if r.status != 200 || !strings.Contains(string(r.body), "x@example.com") {
		t.Fatalf("list: %d %s", r.status, r.body)
	}
}
