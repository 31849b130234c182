package teampage_test

import (
	"bytes"
	"context"
	"html/template"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/invite/inviteapi"
	"github.com/invitekit/invitekit/invite/teampage"
	"github.com/invitekit/invitekit/store"
)

// client does not follow redirects.
var client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func get(t *testing.T, u string) (int, string, http.Header) {
	t.Helper()
	resp, err := client.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func post(t *testing.T, u string, form url.Values, hdr ...string) (int, string, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func mustContain(t *testing.T, body string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(body, s) {
			t.Fatalf("body does not contain %q:\n%s", s, body)
		}
	}
}

func TestMembersPage(t *testing.T) {
	f := newFixture(t, nil)
	f.invite(t, "ann@example.com")
	status, body, hdr := get(t, f.base+"/")
	if status != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/html") || hdr.Get("Cache-Control") != "no-store" {
		t.Fatalf("status %d, headers %v", status, hdr)
	}
	mustContain(t, body,
		`<title>Team · Acme</title>`,
		`<th scope="col">Status</th>`,
		`data-email="ann@example.com" data-status="PENDING_INVITE"`,
		`<span class="ik-badge ik-badge--pending-invite">Pending</span>`,
		`<td data-label="Invited by">admin@acme.example</td>`, // ann was invited by the admin
		`<label for="ik-add-email">Email`,
		`name="roles" value="billing"`,
		`enctype="multipart/form-data"`,
		`/_static/teampage.css?v=`,
	)
	// Filters.
	_, body, _ = get(t, f.base+"/?status=ACTIVE")
	if strings.Contains(body, `data-email="ann@example.com"`) || !strings.Contains(body, `data-email="admin@acme.example"`) {
		t.Fatal("status filter did not filter")
	}
	_, body, _ = get(t, f.base+"/?q=ANN")
	if !strings.Contains(body, `data-email="ann@example.com"`) || strings.Contains(body, `data-email="admin@acme.example"`) {
		t.Fatal("search did not filter")
	}
	status, body, _ = get(t, f.base+"/?status=BOGUS")
	if status != 422 || !strings.Contains(body, `role="alert"`) {
		t.Fatalf("bad filter: %d", status)
	}
	// Static files and unknown paths.
	status, css, hdr := get(t, f.base+"/_static/teampage.css")
	if status != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/css") || !strings.Contains(css, ".ik-team") {
		t.Fatalf("css: %d %v", status, hdr)
	}
	if status, _, _ := get(t, f.base+"/nope"); status != 404 {
		t.Fatalf("unknown path: %d", status)
	}
	if status, _, _ := get(t, f.srv.URL+"/organizations/org_nope/team/"); status != 404 {
		t.Fatalf("unknown org: %d", status)
	}
}

func TestAddMember(t *testing.T) {
	f := newFixture(t, nil)
	tests := []struct {
		name    string
		form    url.Values
		status  int
		field   string // id of the input marked invalid ("" = form-level)
		message string
	}{
		{"bad email", url.Values{"email": {"not-an-email"}, "first_name": {"X"}}, 422, "ik-add-email", "email must contain an @"},
		{"unknown role", url.Values{"email": {"x@example.com"}, "roles": {"owner"}}, 422, "", "unknown role"},
		{"long first name", url.Values{"email": {"x@example.com"}, "first_name": {strings.Repeat("a", 101)}}, 422, "ik-add-first", "at most 100"},
		{"already a member", url.Values{"email": {"admin@acme.example"}}, 409, "ik-add-email", "already a member"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body, _ := post(t, f.base+"/members", tt.form)
			if status != tt.status {
				t.Fatalf("status %d, want %d", status, tt.status)
			}
			mustContain(t, body, tt.message)
			if tt.field != "" {
				mustContain(t, body, `id="`+tt.field+`"`, `aria-invalid="true" aria-describedby="`+tt.field+`-error"`)
			}
			// The values are kept in the form.
			if e := tt.form.Get("email"); e != "" {
				mustContain(t, body, `value="`+template.HTMLEscapeString(e)+`"`)
			}
			if _, ok := f.member(t, "x@example.com"); ok {
				t.Fatal("bad input wrote a member")
			}
		})
	}
	// A good one invites and redirects with a message.
	status, _, hdr := post(t, f.base+"/members?q=x", url.Values{"email": {"Bea@Example.com"}, "first_name": {"Bea"}, "roles": {"billing", "member"}, "send_email": {"1"}, "q": {"x"}})
	if status != http.StatusSeeOther || !strings.Contains(hdr.Get("Location"), "flash=") || !strings.Contains(hdr.Get("Location"), "q=x") {
		t.Fatalf("status %d location %q", status, hdr.Get("Location"))
	}
	m, ok := f.member(t, "bea@example.com")
	if !ok || m.Membership.Status != store.StatusPendingInvite || strings.Join(m.Membership.Roles, ",") != "billing,member" || m.Membership.InvitedBy != f.adminID {
		t.Fatalf("member %+v", m)
	}
	_, body, _ := get(t, f.srv.URL+hdr.Get("Location"))
	mustContain(t, body, `Invitation sent to bea@example.com.`)
	// Without the email checkbox: a direct add.
	post(t, f.base+"/members", url.Values{"email": {"cid@example.com"}})
	if m, ok := f.member(t, "cid@example.com"); !ok || m.Membership.Status != store.StatusActive {
		t.Fatalf("direct add %+v", m)
	}
}

func TestCrossOriginPostRefused(t *testing.T) {
	f := newFixture(t, nil)
	status, _, _ := post(t, f.base+"/members", url.Values{"email": {"evil@example.com"}, "send_email": {"1"}}, "Sec-Fetch-Site", "cross-site")
	if status != http.StatusForbidden {
		t.Fatalf("status %d", status)
	}
	status, _, _ = post(t, f.base+"/members", url.Values{"email": {"evil@example.com"}}, "Origin", "https://evil.example")
	if status != http.StatusForbidden {
		t.Fatalf("status %d", status)
	}
	if _, ok := f.member(t, "evil@example.com"); ok {
		t.Fatal("cross-origin POST changed something")
	}
	// GET is never a state change.
	if status, _, _ := get(t, f.base+"/members"); status != http.StatusSeeOther {
		t.Fatalf("GET /members: %d", status)
	}
}

func TestMemberActions(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	ann := f.invite(t, "ann@example.com")
	act := func(userID, action string, form url.Values) (int, string, string) {
		t.Helper()
		status, body, hdr := post(t, f.base+"/members/"+userID+"/"+action, form)
		return status, body, hdr.Get("Location")
	}
	// Resend: a reminder event, a redirect with a message.
	status, _, loc := act(ann.User.ID, "resend", nil)
	if status != 303 || !strings.Contains(loc, "flash=") {
		t.Fatalf("resend: %d %q", status, loc)
	}
	_, page, _ := get(t, f.srv.URL+loc)
	mustContain(t, page, "Invitation resent to ann@example.com.")
	evs, _ := f.svc.Events(ctx, "org_acme", 0, 100)
	if evs[len(evs)-1].Type != store.EventInvitationResent || evs[len(evs)-1].ActorID != f.adminID {
		t.Fatalf("last event %+v", evs[len(evs)-1])
	}
	// Copy link: shown once, in a readonly input.
	status, body, _ := act(ann.User.ID, "link", nil)
	mustContain(t, body, `id="ik-link"`, `readonly value="https://app.example.com/invite/accept?token=inv_`)
	if status != 200 {
		t.Fatalf("link: %d", status)
	}
	// Roles: none is refused; a change is applied.
	status, body, _ = act(ann.User.ID, "roles", url.Values{})
	if status != 409 || !strings.Contains(body, "Choose at least one role") {
		t.Fatalf("empty roles: %d", status)
	}
	act(ann.User.ID, "roles", url.Values{"roles": {"billing"}})
	if m, _ := f.member(t, "ann@example.com"); strings.Join(m.Membership.Roles, ",") != "billing" {
		t.Fatalf("roles %v", m.Membership.Roles)
	}
	// Wrong status: deactivating a pending member.
	status, body, _ = act(ann.User.ID, "deactivate", nil)
	if status != 409 || !strings.Contains(body, "current status") {
		t.Fatalf("deactivate pending: %d", status)
	}
	// The admin cannot lock themselves out.
	status, body, _ = act(f.adminID, "deactivate", nil)
	if status != 409 || !strings.Contains(body, "your own membership") {
		t.Fatalf("self deactivate: %d", status)
	}
	status, body, _ = act(f.adminID, "roles", url.Values{"roles": {"member"}})
	if status != 409 || !strings.Contains(body, "your own admin role") {
		t.Fatalf("self demote: %d", status)
	}
	// Revoke removes the pending membership.
	status, _, loc = act(ann.User.ID, "revoke", url.Values{"status": {"PENDING_INVITE"}})
	if status != 303 || !strings.Contains(loc, "flash=") || !strings.Contains(loc, "status=PENDING_INVITE") {
		t.Fatalf("revoke: %d %q", status, loc)
	}
	_, page, _ = get(t, f.srv.URL+loc)
	mustContain(t, page, "Invitation for ann@example.com revoked.")
	if _, ok := f.member(t, "ann@example.com"); ok {
		t.Fatal("revoked member still there")
	}
	// Deactivate and reactivate an active member.
	no := false
	res, _ := f.svc.CreateUserAndMembership(ctx, "org_acme", invite.InviteRequest{Email: "bob@example.com", SendInvitationEmail: &no})
	act(res.User.ID, "deactivate", nil)
	if m, _ := f.member(t, "bob@example.com"); m.Membership.Status != store.StatusInactive {
		t.Fatalf("status %s", m.Membership.Status)
	}
	act(res.User.ID, "reactivate", nil)
	if m, _ := f.member(t, "bob@example.com"); m.Membership.Status != store.StatusActive {
		t.Fatalf("status %s", m.Membership.Status)
	}
	// A member of another organization is not reachable from this page.
	other, _ := f.svc.CreateUserAndMembership(ctx, "org_other", invite.InviteRequest{Email: "zed@example.com"})
	status, _, _ = act(other.User.ID, "revoke", nil)
	if status != http.StatusNotFound {
		t.Fatalf("cross-tenant revoke: %d", status)
	}
	if _, err := f.svc.GetMember(ctx, "org_other", invite.UserRef{ID: other.User.ID}); err != nil {
		t.Fatal("cross-tenant revoke changed the other org")
	}
	if status, _, _ := act(ann.User.ID, "explode", nil); status != 404 {
		t.Fatalf("unknown action: %d", status)
	}
}

func upload(t *testing.T, f *fixture, name, content string, dryRun bool) (int, string, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if dryRun {
		mw.WriteField("dry_run", "1")
	}
	mw.WriteField("send_email", "1")
	if name != "" {
		fw, _ := mw.CreateFormFile("file", name)
		io.WriteString(fw, content)
	}
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, f.base+"/import", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header.Get("Location")
}

func TestImportFlow(t *testing.T) {
	f := newFixture(t, nil)
	csv := "email,first_name,roles\nann@example.com,Ann,member\nbad-email,X,\nbob@example.com,Bob,owner\ncid@example.com,Cid,billing\n"
	status, _, loc := upload(t, f, "people.csv", csv, true)
	if status != http.StatusSeeOther || !strings.Contains(loc, "/organizations/org_acme/team/import/job_") {
		t.Fatalf("upload: %d %q", status, loc)
	}
	status, body, _ := get(t, f.srv.URL+loc)
	if status != 200 {
		t.Fatalf("job page %d", status)
	}
	mustContain(t, body, "Preview ready", `<tr data-row="2" data-status="invalid">`, `<code>email</code>: email must contain an @`,
		`<code>roles</code>: unknown role`, `id="ik-confirm"`, "Import 2 people now", "results.csv")
	if _, ok := f.member(t, "ann@example.com"); ok {
		t.Fatal("the preview wrote a member")
	}
	// Downloads.
	status, dl, hdr := get(t, f.srv.URL+loc+"/results.csv")
	if status != 200 || !strings.Contains(hdr.Get("Content-Disposition"), "attachment") || !strings.Contains(dl, "2,3,bad-email,invalid,,,invalid_argument,email,") {
		t.Fatalf("csv download %d %q", status, dl)
	}
	_, js, _ := get(t, f.srv.URL+loc+"/results.json")
	mustContain(t, js, `"dryRun":true`, `"invalid":2`)
	_, st, _ := get(t, f.srv.URL+loc+"/status")
	mustContain(t, st, `"state":"done"`, `"confirmable":true`)
	// Problems only.
	_, body, _ = get(t, f.srv.URL+loc+"?show=problems")
	if strings.Contains(body, `data-status="created"`) || !strings.Contains(body, `data-status="invalid"`) {
		t.Fatal("problems filter shows created rows")
	}
	// Confirm: the previewed file is imported.
	status, _, hdr = post(t, f.srv.URL+loc+"/confirm", nil)
	newLoc := hdr.Get("Location")
	if status != 303 || newLoc == loc {
		t.Fatalf("confirm: %d %q", status, newLoc)
	}
	_, body, _ = get(t, f.srv.URL+newLoc)
	mustContain(t, body, "Import finished.", `<tr data-row="1" data-status="created">`)
	for _, e := range []string{"ann@example.com", "cid@example.com"} {
		if m, ok := f.member(t, e); !ok || m.Membership.Status != store.StatusPendingInvite || m.Membership.InvitedBy != f.adminID {
			t.Fatalf("%s: %+v", e, m)
		}
	}
	// A second confirm of the same preview is refused, nothing doubles.
	status, body, _ = post(t, f.srv.URL+loc+"/confirm", nil)
	if status != http.StatusNotFound || !strings.Contains(body, "can no longer be imported") {
		t.Fatalf("second confirm: %d", status)
	}
	// Another organization cannot see the job.
	if status, _, _ := get(t, strings.Replace(f.srv.URL+newLoc, "org_acme", "org_other", 1)); status != 404 {
		t.Fatalf("cross-tenant job page: %d", status)
	}
}

func TestImportErrors(t *testing.T) {
	f := newFixture(t, func(c *teampage.Config) { c.MaxUploadBytes = 1024 })
	tests := []struct {
		name, file, content string
		status              int
		message             string
	}{
		{"no file", "", "", 422, "Choose a CSV or JSON-lines file"},
		{"unknown column", "a.csv", "email,colour\na@example.com,red\n", 422, `column 2 &#34;colour&#34;: unknown column`},
		{"no header", "a.csv", "\n\n", 422, "the first row must be a header"},
		{"too large", "a.csv", "email\n" + strings.Repeat("a@example.com\n", 200), 413, "larger than the limit of 1 KiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body, _ := upload(t, f, tt.file, tt.content, false)
			if status != tt.status {
				t.Fatalf("status %d, want %d\n%s", status, tt.status, body)
			}
			mustContain(t, body, `id="ik-import-error"`, tt.message)
		})
	}
	if _, ok := f.member(t, "a@example.com"); ok {
		t.Fatal("a refused upload wrote a member")
	}
}

func TestLayoutHook(t *testing.T) {
	layout := template.Must(template.New("app").Parse(`<!doctype html><html><head>{{.Head}}<title>{{.Title}} — MyApp</title></head><body><nav>MyApp nav</nav><div id="app">{{.Content}}</div></body></html>`))
	f := newFixture(t, func(c *teampage.Config) { c.Layout = layout; c.Title = "People" })
	_, body, _ := get(t, f.base+"/")
	mustContain(t, body, "<nav>MyApp nav</nav>", `<div id="app">`, "<title>People · Acme — MyApp</title>", `class="ik-team"`, "teampage.css")

	f = newFixture(t, func(c *teampage.Config) {
		c.NoDefaultCSS = true
		c.LayoutFunc = func(w http.ResponseWriter, r *http.Request, p teampage.LayoutData) error {
			_, err := io.WriteString(w, "<main data-org=\""+p.OrgID+"\">"+string(p.Content)+"</main>")
			return err
		}
	})
	_, body, _ = get(t, f.base+"/")
	mustContain(t, body, `<main data-org="org_acme">`, `class="ik-team"`)
	if strings.Contains(body, "teampage.css") {
		t.Fatal("NoDefaultCSS still links the stylesheet")
	}
}

func TestStripPrefixMount(t *testing.T) {
	f := newFixture(t, func(c *teampage.Config) {
		c.BasePath = "/admin/team"
		c.OrgID = func(*http.Request) string { return "org_acme" }
	})
	mux := http.NewServeMux()
	mux.Handle("/admin/team/", http.StripPrefix("/admin/team", f.page))
	srv := httptestServer(t, mux)
	resp, err := client.PostForm(srv+"/admin/team/members", url.Values{"email": {"strip@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 303 || !strings.HasPrefix(resp.Header.Get("Location"), "/admin/team/?") {
		t.Fatalf("%d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if _, ok := f.member(t, "strip@example.com"); !ok {
		t.Fatal("not added")
	}
}

func TestImportProgressPage(t *testing.T) {
	release := make(chan struct{})
	f := newFixtureWith(t, func(c *invite.Config) {
		c.BeforeInvite = func(ctx context.Context, in invite.PolicyInput) error {
			if in.Request.Email == "slow@example.com" {
				<-release
			}
			return nil
		}
	}, nil)
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()
	status, _, loc := upload(t, f, "slow.csv", "email\nslow@example.com\nfast@example.com\n", false)
	if status != http.StatusSeeOther {
		t.Fatalf("upload %d", status)
	}
	_, body, _ := get(t, f.srv.URL+loc)
	mustContain(t, body, `<meta http-equiv="refresh" content="2">`, `<progress class="ik-progress"`, `data-state="running"`, "Importing row 0 of 2")
	_, st, _ := get(t, f.srv.URL+loc+"/status")
	mustContain(t, st, `"state":"running"`, `"totalRows":2`)
	close(release)
	jobID := loc[strings.LastIndex(loc, "/")+1:]
	if fin, err := f.page.Jobs().Wait(context.Background(), "org_acme", jobID, 10*time.Second); err != nil || fin.State != inviteapi.BulkJobDone {
		t.Fatalf("job %+v %v", fin, err)
	}
	_, body, _ = get(t, f.srv.URL+loc)
	if strings.Contains(body, `http-equiv="refresh"`) {
		t.Fatal("finished job page still refreshes")
	}
	mustContain(t, body, "Import finished.", `data-status="created"`)
}

// No reflected text: a message after an action comes from the server's
// own sealed state, never from query text.
func TestTeamPageNoReflectedText(t *testing.T) {
	f := newFixture(t, nil)
	for _, q := range []string{
		"?done=revoked&who=" + url.QueryEscape("Your account is suspended, call +1 555"),
		"?flash=" + url.QueryEscape("Your account is suspended"),
		"?flash=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	} {
		status, body, _ := get(t, f.base+"/"+q)
		if status != http.StatusOK {
			t.Fatalf("%s: status %d", q, status)
		}
		if strings.Contains(body, "suspended") || strings.Contains(body, "revoked") {
			t.Errorf("%s: the page shows text from the URL", q)
		}
	}
}
