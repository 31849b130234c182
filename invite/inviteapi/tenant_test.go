package inviteapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/invitekit/invitekit/internal/dnstest"
	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/invite/internal/invitetest"
	"github.com/invitekit/invitekit/invite/inviteapi"
	"github.com/invitekit/invitekit/invite/teampage"
	"github.com/invitekit/invitekit/store"
)

// recorder is a Router that records the patterns a handler registers.
type recorder struct {
	patterns []string
	mux      *http.ServeMux
}

func (r *recorder) Handle(pattern string, h http.Handler) {
	r.patterns = append(r.patterns, pattern)
	r.mux.Handle(pattern, h)
}

// bMarkers are the values org_b writes about the shared person. None may
// ever appear in what org_a's admin is answered.
var bMarkers = []string{"Bmarkfirst", "Bmarklast", "BMARK", "B-EXT-MARK", "15550009999", "bsecret"}

// person is someone org_a's admin works with: the shared one (a member
// of org_b, signed in there) or a fresh one (unknown anywhere).
type person struct {
	name, email, ext string // ext: the external id org_a gives them
	probeExt         string // an external id org_a tries: org_b's for the shared person
	id, job          string
	request, domain  string // an org_a join request of theirs; the domain org_a claims
	approval         string // org_a's held invitation of NAME@held.example
}

// TestTenantIsolationEveryRoute drives every route of the JSON API and the
// bulk API (taken from their route tables, so a new route is covered by
// itself or fails this test) as org_a's admin, for a person org_b also has
// and for a person nobody has. org_a's admin must learn nothing org_b
// wrote (no marker in any response), and the two people must get the same
// statuses and the same JSON keys at every step (no oracle).
func TestTenantIsolationEveryRoute(t *testing.T) {
	for _, sc := range invitetest.StoreCasesWithPostgres() {
		t.Run(sc.Name, func(t *testing.T) { tenantSweep(t, sc.Open(t)) })
	}
}

func tenantSweep(t *testing.T, st store.Store) {
	ctx := context.Background()
	dns := dnstest.Start(t) // domain verification asks it: it has no records
	e := newEnv(t, st, func(c *invite.Config) {
		c.Domains.Resolver = dns.Resolver()
		c.InvitePolicy = holdHeldExample // approvals: both organizations hold …@held.example
	})
	e.Org(t, "org_a")
	e.Org(t, "org_b")
	aAdmin := e.AddActive(t, "org_a", "alice@a.example", "admin")

	// org_b writes everything it can about Sam, and Sam signs in there.
	e.Clock.Advance(97*time.Minute + 13*time.Second)
	bInvite, err := e.Svc.CreateUserAndMembership(ctx, "org_b", invite.InviteRequest{
		Email: "sam@example.com", ExternalID: "B-EXT-MARK", Roles: []string{"billing"}, ReturnAcceptLink: true,
		UserProfile: &invite.ProfileInput{FirstName: "Bmarkfirst", LastName: "Bmarklast", PhoneNumber: "+15550009999",
			Metadata: map[string]string{"bsecret": "BMARK-profile"}, CustomAttributes: map[string]string{"bsecret": "BMARK-attr"}},
		Metadata: map[string]string{"bsecret": "BMARK-meta"},
	})
	if err != nil {
		t.Fatal(err)
	}
	bTimes := []string{e.Clock.Now().UTC().Format(time.RFC3339)}
	e.Clock.Advance(41*time.Minute + 7*time.Second)
	if _, err := e.Svc.AcceptInvitation(ctx, invite.TokenFromLink(bInvite.AcceptLink), verified("sam@example.com")); err != nil {
		t.Fatal(err)
	}
	bTimes = append(bTimes, e.Clock.Now().UTC().Format(time.RFC3339))
	e.Clock.Advance(3 * time.Hour)

	allow := func(r *http.Request, orgID string, _ inviteapi.Action) (string, error) {
		if orgID != "org_a" {
			return "", inviteapi.ErrPermissionDenied
		}
		return aAdmin.User.ID, nil
	}
	jobs, err := inviteapi.NewBulkJobs(e.Svc, inviteapi.BulkJobsConfig{TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { jobs.Close() })
	api, err := inviteapi.NewHandler(e.Svc, allow, inviteapi.HandlerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	bulk, err := inviteapi.NewBulkHandler(e.Svc, allow, inviteapi.BulkHandlerConfig{Jobs: jobs})
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{mux: http.NewServeMux()}
	api.Routes(rec, "")
	bulk.Routes(rec, "")
	page, err := teampage.New(e.Svc, teampage.Config{Actor: func(*http.Request) string { return aAdmin.User.ID }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { page.Close() })
	rec.mux.Handle("/organizations/{orgID}/team/", page)
	srv := httptest.NewServer(rec.mux)
	t.Cleanup(srv.Close)

	forbidden := append(append([]string{}, bMarkers...), bTimes...)
	check := func(t *testing.T, what string, status int, body string) {
		t.Helper()
		if status >= 500 {
			t.Errorf("%s: %d %s", what, status, body)
		}
		for _, m := range forbidden {
			if strings.Contains(body, m) {
				t.Errorf("%s: org_a's admin sees %q, which org_b wrote: %s", what, m, body)
			}
		}
	}
	do := func(method, path, ctype, body string) (int, string) {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	people := []*person{
		{name: "shared", email: "sam@example.com", ext: "A-EXT-1", probeExt: "B-EXT-MARK"},
		{name: "fresh", email: "fred@example.com", ext: "A-EXT-2", probeExt: "NEVER-SEEN"},
	}
	// same runs one step for both people and compares what they got.
	same := func(t *testing.T, step string, run func(p *person) (int, string)) {
		t.Helper()
		var statuses []int
		var shapes []string
		for _, p := range people {
			status, body := run(p)
			check(t, step+" ("+p.name+")", status, body)
			statuses = append(statuses, status)
			shapes = append(shapes, shape(body, p))
		}
		if statuses[0] != statuses[1] {
			t.Errorf("%s: the shared person gets %d, a fresh one %d (an oracle)", step, statuses[0], statuses[1])
		}
		if shapes[0] != shapes[1] {
			t.Errorf("%s: the answers differ for the shared and a fresh person:\n%s\n%s", step, shapes[0], shapes[1])
		}
	}

	// 1. A bulk dry run naming org_b's external id and its member.
	same(t, "bulk dry run", func(p *person) (int, string) {
		return do("POST", "/organizations/org_a/users:bulk?dryRun=true", "text/csv", "email,external_id\n"+p.email+","+p.probeExt+"\n")
	})
	// 2. Invite, with org_b's external id for the shared person.
	same(t, "create", func(p *person) (int, string) {
		status, body := do("POST", "/organizations/org_a/users", "application/json",
			`{"email":"`+p.email+`","externalId":"`+p.ext+`","sendInvitationEmail":false,"userProfile":{"firstName":"A-`+p.name+`"}}`)
		var out struct{ User struct{ ID string } }
		_ = json.Unmarshal([]byte(body), &out)
		p.id = out.User.ID
		return status, body
	})
	if people[0].id == "" || people[1].id == "" {
		t.Fatal("create gave no user ids")
	}
	for _, p := range people {
		_, jobBody := do("POST", "/organizations/org_a/users:bulk?async=true&dryRun=true", "text/csv", "email\n"+p.name+"-job@a.example\n")
		var job struct{ ID string }
		_ = json.Unmarshal([]byte(jobBody), &job)
		if _, err := jobs.Wait(ctx, "org_a", job.ID, 10*time.Second); err != nil {
			t.Fatal(err)
		}
		p.job = job.ID
	}
	// Requests to join and domains: the shared person asked org_b too,
	// and org_b verified the shared person's domain; org_a's admin works
	// with a request and a domain of each person.
	if _, err := e.Svc.RequestToJoin(ctx, "org_b", invite.JoinRequestInput{Email: "shared-join@a.example", EmailVerified: true, Message: "BMARK"}); err != nil {
		t.Fatal(err)
	}
	bd, err := e.Svc.ClaimDomain(ctx, "org_b", "usr_b", "shared.test")
	if err != nil {
		t.Fatal(err)
	}
	name, value := e.Svc.DomainRecord(bd)
	dns.Set(name, value)
	if _, err := e.Svc.VerifyDomain(ctx, "org_b", "usr_b", "shared.test"); err != nil {
		t.Fatal(err)
	}
	dns.Delete(name)
	for _, p := range people {
		jr, err := e.Svc.RequestToJoin(ctx, "org_a", invite.JoinRequestInput{Email: p.name + "-join@a.example", EmailVerified: true})
		if err != nil {
			t.Fatal(err)
		}
		p.request, p.domain = jr.ID, p.name+".test"
	}

	// Held invitations: org_b holds the shared person's (with its own
	// reason), org_a one of each person's.
	if _, err := e.Svc.CreateUserAndMembership(ctx, "org_b", invite.InviteRequest{Email: "shared@held.example",
		Metadata: map[string]string{"bsecret": "BMARK-held"}, UserProfile: &invite.ProfileInput{FirstName: "Bmarkfirst"}}); err != nil {
		t.Fatal(err)
	}
	for _, p := range people {
		res, err := e.Svc.CreateUserAndMembership(ctx, "org_a", invite.InviteRequest{Email: p.name + "@held.example", InvitedBy: aAdmin.User.ID})
		if err != nil || res.Approval == nil {
			t.Fatalf("hold in org_a: %+v %v", res, err)
		}
		p.approval = res.Approval.ID
	}
	bHeld, err := e.Svc.HeldInvites(ctx, "org_b", "", 0)
	if err != nil || len(bHeld) != 1 {
		t.Fatalf("org_b's held: %v %v", bHeld, err)
	}
	for _, path := range []string{"/organizations/org_a/approvals/" + bHeld[0].ID, "/organizations/org_a/approvals/" + bHeld[0].ID + "/approve"} {
		method := "GET"
		if strings.HasSuffix(path, "/approve") {
			method = "POST"
		}
		if status, body := do(method, path, "", ""); status != http.StatusNotFound {
			t.Errorf("org_a reaches org_b's held invitation: %s %s: %d %s", method, path, status, body)
		}
	}

	// 3. Every registered route and method, in an order that keeps the
	// memberships alive until the end.
	type call struct {
		pattern, method string
		query           func(p *person) string
		ctype, body     string
		// orgWide: the answer is the organization's (a list of every
		// person's): run once, checked for org_b's markers only.
		orgWide bool
		// setting: the organization's own setting (the approval rules):
		// run once, checked for org_b's markers and success only.
		setting bool
	}
	calls := []call{
		{pattern: "/organizations/{orgID}/users", method: "GET", query: func(p *person) string { return "?q=" + url.QueryEscape(p.email) }},
		{pattern: "/organizations/{orgID}/users:lookup", method: "GET", query: func(p *person) string { return "?email=" + url.QueryEscape(p.email) }},
		{pattern: "/organizations/{orgID}/users:lookup", method: "GET", query: func(p *person) string { return "?externalId=" + url.QueryEscape(p.ext) }},
		{pattern: "/organizations/{orgID}/users:lookup", method: "GET", query: func(p *person) string { return "?externalId=" + url.QueryEscape(p.probeExt) }},
		{pattern: "/organizations/{orgID}/users/{userID}", method: "GET"},
		{pattern: "/organizations/{orgID}/users/{userID}", method: "PATCH", ctype: "application/json", body: `{"metadata":{"k":"v"}}`},
		{pattern: "/organizations/{orgID}/users/{userID}/resend", method: "POST"},
		{pattern: "/organizations/{orgID}/users/{userID}/invite-link", method: "POST"},
		{pattern: "/organizations/{orgID}/users/{userID}/deactivate", method: "POST"},
		{pattern: "/organizations/{orgID}/users/{userID}/reactivate", method: "POST"},
		{pattern: "/organizations/{orgID}/users", method: "POST", ctype: "application/json", body: `{"email":"EMAIL"}`},
		{pattern: "/organizations/{orgID}/users:bulk", method: "POST", ctype: "text/csv", body: "email\nEMAIL\n"},
		{pattern: "/organizations/{orgID}/users:bulk/jobs", method: "GET"},
		{pattern: "/organizations/{orgID}/users:bulk/jobs/{jobID}", method: "GET"},
		{pattern: "/organizations/{orgID}/users:bulk/jobs/{jobID}/report", method: "GET"},
		{pattern: "/organizations/{orgID}/users:bulk/jobs/{jobID}/cancel", method: "POST"},
		{pattern: "/organizations/{orgID}/users:bulk/jobs/{jobID}/confirm", method: "POST"},
		{pattern: "/organizations/{orgID}/team/", method: "GET", query: func(p *person) string { return "?q=" + url.QueryEscape(p.email) }},
		{pattern: "/organizations/{orgID}/approvals", method: "GET", orgWide: true},
		{pattern: "/organizations/{orgID}/approvals/{approvalID}", method: "GET"},
		{pattern: "/organizations/{orgID}/approval-rules", method: "GET", setting: true},
		{pattern: "/organizations/{orgID}/approval-rules", method: "PUT", ctype: "application/json", body: `{"roles":["billing"]}`, setting: true},
		{pattern: "/organizations/{orgID}/approvals/{approvalID}/approve", method: "POST"},
		{pattern: "/organizations/{orgID}/approvals/{approvalID}/reject", method: "POST", ctype: "application/json", body: `{"reason":"no"}`},
		{pattern: "/organizations/{orgID}/join-requests", method: "GET", orgWide: true},
		{pattern: "/organizations/{orgID}/join-requests/{requestID}", method: "GET"},
		{pattern: "/organizations/{orgID}/join-requests/{requestID}/approve", method: "POST", ctype: "application/json", body: `{"roles":["member"]}`},
		{pattern: "/organizations/{orgID}/join-requests/{requestID}/decline", method: "POST", ctype: "application/json", body: `{"reason":"no"}`},
		{pattern: "/organizations/{orgID}/domains", method: "POST", ctype: "application/json", body: `{"domain":"DOMAIN"}`},
		{pattern: "/organizations/{orgID}/domains", method: "GET", orgWide: true},
		{pattern: "/organizations/{orgID}/domains/{domain}/verify", method: "POST"},
		{pattern: "/organizations/{orgID}/domains/{domain}", method: "GET"},
		{pattern: "/organizations/{orgID}/domains/{domain}", method: "PATCH", ctype: "application/json", body: `{"policy":"AUTO_JOIN"}`},
		{pattern: "/organizations/{orgID}/domains/{domain}", method: "DELETE"},
		{pattern: "/organizations/{orgID}/users/{userID}/revoke", method: "POST"},
		{pattern: "/organizations/{orgID}/users/{userID}", method: "DELETE"},
	}
	covered := map[string]bool{}
	for _, c := range calls {
		covered[c.pattern+" "+c.method] = true
	}
	for _, pattern := range rec.patterns {
		probe := strings.NewReplacer("{orgID}", "org_a", "{userID}", people[0].id, "{jobID}", people[0].job, "{requestID}", people[0].request, "{domain}", people[0].domain, "{approvalID}", people[0].approval)
		status, _ := do("PROBE", probe.Replace(pattern), "", "")
		if status != http.StatusMethodNotAllowed {
			t.Fatalf("%s: PROBE answered %d, want 405", pattern, status)
		}
		_, allowHdr := probeAllow(t, srv.URL+probe.Replace(pattern))
		for _, m := range strings.Split(allowHdr, ", ") {
			if m == "HEAD" {
				continue
			}
			if !covered[pattern+" "+m] {
				t.Errorf("route %s %s is not covered by the tenant sweep: add it", m, pattern)
			}
		}
	}
	for _, c := range calls {
		if c.setting {
			status, body := do(c.method, strings.ReplaceAll(c.pattern, "{orgID}", "org_a"), c.ctype, c.body)
			check(t, c.method+" "+c.pattern, status, body)
			if status != http.StatusOK {
				t.Errorf("%s %s: %d %s", c.method, c.pattern, status, body)
			}
			continue
		}
		if c.orgWide {
			status, body := do(c.method, strings.ReplaceAll(c.pattern, "{orgID}", "org_a"), c.ctype, c.body)
			check(t, c.method+" "+c.pattern, status, body)
			if status != http.StatusOK || !strings.Contains(body, people[0].name) || !strings.Contains(body, people[1].name) {
				t.Errorf("%s: %d %s", c.pattern, status, body)
			}
			continue
		}
		same(t, c.method+" "+c.pattern, func(p *person) (int, string) {
			path := strings.NewReplacer("{orgID}", "org_a", "{userID}", p.id, "{jobID}", p.job, "{requestID}", p.request, "{domain}", p.domain, "{approvalID}", p.approval).Replace(c.pattern)
			if c.query != nil {
				path += c.query(p)
			}
			return do(c.method, path, c.ctype, strings.NewReplacer("EMAIL", p.email, "DOMAIN", p.domain).Replace(c.body))
		})
	}
	// org_b's view is untouched by everything org_a did.
	m, err := e.Svc.GetMember(ctx, "org_b", invite.UserRef{ExternalID: "B-EXT-MARK"})
	if err != nil || m.Membership.Profile.FirstName != "Bmarkfirst" || m.Membership.Status != store.StatusActive {
		t.Fatalf("org_b's member after org_a's sweep: %+v %v", m, err)
	}
}

// probeAllow sends an unknown method and returns the status and Allow header.
func probeAllow(t *testing.T, u string) (int, string) {
	req, _ := http.NewRequest("PROBE", u, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Allow")
}

var (
	reTime  = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ`)
	reID    = regexp.MustCompile(`\b(usr|prof|inv|job|msg|evt|jrq|apr)_[0-9a-z]+\b`)
	reToken = regexp.MustCompile(`token=[^"&\s]+`)
	// reDomainToken is a domain's verification token (each claim has its own).
	reDomainToken = regexp.MustCompile(`verification=[0-9a-z]+`)
)

// shape is a body with what legitimately differs between two people (their
// email, external id and name, ids, times, tokens) blanked, so that two
// answers can be compared.
func shape(body string, p *person) string {
	s := strings.NewReplacer(p.email, "EMAIL", p.ext, "EXT", p.probeExt, "EXT", "A-"+p.name, "NAME", p.name+"-job", "NAME", p.name, "NAME").Replace(body)
	s = reTime.ReplaceAllString(s, "TIME")
	s = reID.ReplaceAllString(s, "ID")
	s = reToken.ReplaceAllString(s, "token=TOKEN")
	s = reDomainToken.ReplaceAllString(s, "verification=TOKEN")
	if strings.HasPrefix(strings.TrimSpace(s), "{") {
		var v any
		if json.Unmarshal([]byte(s), &v) == nil {
			return keys(v)
		}
	}
	return s
}

// keys lists the JSON object paths and scalar values of v.
func keys(v any) string {
	var out []string
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, vv := range x {
				walk(prefix+"."+k, vv)
			}
		case []any:
			for _, vv := range x {
				walk(prefix+"[]", vv)
			}
		default:
			b, _ := json.Marshal(x)
			out = append(out, prefix+"="+string(b))
		}
	}
	walk("", v)
	sort.Strings(out)
	return strings.Join(out, "\n")
}

// holdHeldExample is the sweep's policy: an invitation of …@held.example
// waits for approval (org_b gives its own reason, which org_a must never
// see).
func holdHeldExample(ctx context.Context, in invite.PolicyInput) (invite.PolicyDecision, error) {
	if !strings.HasSuffix(in.Request.Email, "@held.example") {
		return invite.Allow(), nil
	}
	if in.Organization.ID == "org_b" {
		return invite.Hold("BMARK-hold-reason"), nil
	}
	return invite.Hold("held for review"), nil
}
