package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/invitekit/invitekit/examples/devidp"
	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/store"
)

// startApp serves the example on 127.0.0.1 (the dev provider too) with
// its mail dispatcher running; everything stops at the end of the test.
func startApp(t *testing.T) (*app, string) {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	a, err := newApp(t.Context(), config{
		Addr:       srv.Listener.Addr().String(),
		BaseURL:    base,
		DevIdPAddr: "127.0.0.1:0",
		Logger:     slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		srv.Close()
		t.Fatalf("newApp: %v", err)
	}
	t.Cleanup(func() { a.Close() })
	srv.Config.Handler = a.Handler
	srv.Start()
	t.Cleanup(srv.Close)
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.Dispatcher.Run(ctx)
	}()
	t.Cleanup(func() { stop(); <-done })
	return a, base
}

// noRedirect returns a client that shows redirects instead of following them.
func noRedirect() *http.Client {
	return &http.Client{
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

type response struct {
	status   int
	header   http.Header
	body     string
	finalURL *url.URL
}

func send(t *testing.T, c *http.Client, method, target, accept, body string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, target, rd)
	if err != nil {
		t.Fatal(err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: string(b), finalURL: resp.Request.URL}
}

// short bounds a body for failure messages.
func short(s string) string {
	if len(s) > 400 {
		return s[:400] + "…"
	}
	return s
}

// errorCode returns the "error.code" of a JSON error body.
func errorCode(t *testing.T, r response) string {
	t.Helper()
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type %q, want JSON; body %q", ct, short(r.body))
	}
	var e struct {
		Error struct{ Code, Field string }
	}
	if err := json.Unmarshal([]byte(r.body), &e); err != nil {
		t.Fatalf("error body %q: %v", short(r.body), err)
	}
	return e.Error.Code
}

// TestRoutesWithoutSession checks every mounted route answers a visitor
// who is not signed in as documented, through chi.
func TestRoutesWithoutSession(t *testing.T) {
	a, base := startApp(t)
	const org = "/orgs/" + seedOrgID
	tests := []struct {
		name, method, path, accept, body string
		status                           int
		location                         string // for redirects
		code                             string // JSON error code
		contains                         string // in the body
	}{
		{name: "dashboard, API request", method: "GET", path: org + "/dashboard", accept: "application/json",
			status: 401, code: "unauthenticated"},
		{name: "dashboard, browser", method: "GET", path: org + "/dashboard", accept: "text/html",
			status: 303, location: "/login?return_to=%2Forgs%2Forg_acme%2Fdashboard"},
		{name: "team page, browser", method: "GET", path: org + "/team/", accept: "text/html",
			status: 303, location: "/login?return_to=%2Forgs%2Forg_acme%2Fteam%2F"},
		{name: "team page, API request", method: "GET", path: org + "/team/", accept: "application/json",
			status: 401, code: "unauthenticated"},
		{name: "JSON API create", method: "POST", path: "/api/organizations/" + seedOrgID + "/users", accept: "application/json",
			body: `{"email":"ann@example.com"}`, status: 401, code: "unauthenticated"},
		{name: "JSON API list", method: "GET", path: "/api/organizations/" + seedOrgID + "/users", accept: "application/json",
			status: 401, code: "unauthenticated"},
		{name: "JSON API unknown method", method: "PUT", path: "/api/organizations/" + seedOrgID + "/users", accept: "application/json",
			status: 405, code: "method_not_allowed"},
		{name: "login starts at the provider", method: "GET", path: "/login?return_to=/orgs/org_acme/dashboard",
			status: 303, location: a.IdP.Issuer + "auth?"},
		{name: "login refuses an open redirect", method: "GET", path: "/login?return_to=//evil.example",
			status: 400, contains: "return_to"},
		{name: "accept link without token", method: "GET", path: "/accept",
			status: 400, contains: "no token"},
		{name: "dev inbox", method: "GET", path: "/dev/inbox", status: 200, contains: "Development inbox"},
		{name: "home", method: "GET", path: "/", status: 200, contains: "Sign in as " + seedAdminEmail},
		{name: "unknown path", method: "GET", path: "/nope", status: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := send(t, noRedirect(), tt.method, base+tt.path, tt.accept, tt.body)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d; body %q", r.status, tt.status, short(r.body))
			}
			if tt.location != "" && !strings.HasPrefix(r.header.Get("Location"), tt.location) {
				t.Errorf("Location %q, want prefix %q", r.header.Get("Location"), tt.location)
			}
			if tt.code != "" {
				if got := errorCode(t, r); got != tt.code {
					t.Errorf("error code %q, want %q", got, tt.code)
				}
			}
			if !strings.Contains(r.body, tt.contains) {
				t.Errorf("body %q does not contain %q", short(r.body), tt.contains)
			}
		})
	}
}

// browserClient is a cookie-keeping client, one per person.
func browserClient(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 30 * time.Second}
}

// signIn submits the dev provider's login form on the page r ended on and
// returns where the redirects end (the app, after the callback).
func signIn(t *testing.T, c *http.Client, issuer string, r response, email string) response {
	t.Helper()
	if r.status != 200 || !strings.HasPrefix(r.finalURL.String(), issuer+"login/username") {
		t.Fatalf("expected the provider's login form, got %d at %s", r.status, r.finalURL)
	}
	form := url.Values{
		"id":       {r.finalURL.Query().Get("authRequestID")},
		"username": {email},
		"password": {devidp.Password},
	}
	resp, err := c.PostForm(issuer+"login/username", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: string(b), finalURL: resp.Request.URL}
}

// login signs email in through the real dev provider, starting at /login.
func login(t *testing.T, c *http.Client, a *app, base, email string) response {
	t.Helper()
	return signIn(t, c, a.IdP.Issuer, send(t, c, "GET", base+"/login", "", ""), email)
}

type apiUser struct {
	ID          string `json:"id"`
	Email       string `json:"email"`
	Memberships []struct {
		MembershipStatus store.MembershipStatus `json:"membershipStatus"`
	} `json:"memberships"`
}

type createResponse struct {
	User       apiUser `json:"user"`
	AcceptLink string  `json:"acceptLink"`
}

func decode[T any](t *testing.T, r response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(r.body), &v); err != nil {
		t.Fatalf("decode %q: %v", short(r.body), err)
	}
	return v
}

// TestSignedInThroughChi signs people in through the real dev provider and
// checks the roles are enforced on the chi routes: the admin manages
// members through the JSON API and the team page; a member reaches the
// dashboard only; an invitee joins through the accept link; deactivation
// takes effect on the next request.
func TestSignedInThroughChi(t *testing.T) {
	a, base := startApp(t)
	usersURL := base + "/api/organizations/" + seedOrgID + "/users"
	dashboard := base + "/orgs/" + seedOrgID + "/dashboard"
	team := base + "/orgs/" + seedOrgID + "/team/"
	const jsonType = "application/json"

	admin := browserClient(t)
	r := login(t, admin, a, base, seedAdminEmail)
	if r.status != 200 || r.finalURL.String() != dashboard || !strings.Contains(r.body, "Signed in as "+seedAdminEmail) {
		t.Fatalf("admin login ended with %d at %s: %q", r.status, r.finalURL, short(r.body))
	}
	if r := send(t, admin, "GET", team, "text/html", ""); r.status != 200 || !strings.Contains(r.body, "ik-add-email") {
		t.Fatalf("team page for the admin: %d %q", r.status, short(r.body))
	}

	// The JSON API through chi: create an invitee, a direct member, a bad request.
	r = send(t, admin, "POST", usersURL, jsonType, `{"email":"Ann@Example.com","returnAcceptLink":true,"sendInvitationEmail":false}`)
	if r.status != 201 {
		t.Fatalf("create Ann: %d %q", r.status, short(r.body))
	}
	ann := decode[createResponse](t, r)
	if ann.User.Email != "ann@example.com" || ann.User.Memberships[0].MembershipStatus != store.StatusPendingInvite || !strings.HasPrefix(ann.AcceptLink, base+"/accept?token=") {
		t.Fatalf("create Ann: %+v", ann)
	}
	r = send(t, admin, "POST", usersURL, jsonType, `{"email":"bob@example.com","sendInvitationEmail":false}`)
	if r.status != 201 {
		t.Fatalf("create Bob: %d %q", r.status, short(r.body))
	}
	bob := decode[createResponse](t, r).User
	if bob.Memberships[0].MembershipStatus != store.StatusActive {
		t.Fatalf("Bob added directly: status %s, want ACTIVE", bob.Memberships[0].MembershipStatus)
	}
	if r := send(t, admin, "POST", usersURL, jsonType, `{"email":"not-an-email"}`); r.status != 422 || errorCode(t, r) == "" || !strings.Contains(r.body, `"field":"email"`) {
		t.Fatalf("bad email: %d %q, want 422 naming the field", r.status, short(r.body))
	}
	if r := send(t, admin, "GET", usersURL, jsonType, ""); r.status != 200 || strings.Count(r.body, `"email":`) != 3 {
		t.Fatalf("list: %d %q, want 3 users", r.status, short(r.body))
	}

	// Bob, a member: dashboard yes, team page and API no.
	bobC := browserClient(t)
	if r := login(t, bobC, a, base, "bob@example.com"); r.status != 200 || r.finalURL.String() != dashboard {
		t.Fatalf("Bob's login ended with %d at %s", r.status, r.finalURL)
	}
	if r := send(t, bobC, "GET", dashboard, jsonType, ""); r.status != 200 || !strings.Contains(r.body, `"status":"ACTIVE"`) {
		t.Fatalf("Bob's dashboard: %d %q", r.status, short(r.body))
	}
	if r := send(t, bobC, "GET", team, jsonType, ""); r.status != 403 || errorCode(t, r) != "missing_role" {
		t.Fatalf("team page for Bob: %d %q, want 403 missing_role", r.status, short(r.body))
	}
	if r := send(t, bobC, "POST", usersURL, jsonType, `{"email":"eve@example.com"}`); r.status != 403 || errorCode(t, r) != "permission_denied" {
		t.Fatalf("API create by Bob: %d %q, want 403", r.status, short(r.body))
	}

	// Ann joins through the accept link: GET shows the page, POST starts the login.
	annC := browserClient(t)
	r = send(t, annC, "GET", ann.AcceptLink, "", "")
	if r.status != 200 || !strings.Contains(r.body, "Join "+seedOrgName) {
		t.Fatalf("accept page: %d %q", r.status, short(r.body))
	}
	resp, err := annC.PostForm(base+"/accept", url.Values{"token": {ann.AcceptLink[strings.Index(ann.AcceptLink, "token=")+6:]}, "action": {"join"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	r = signIn(t, annC, a.IdP.Issuer, response{status: resp.StatusCode, body: string(b), finalURL: resp.Request.URL}, "ann@example.com")
	if r.status != 200 || r.finalURL.String() != dashboard || !strings.Contains(r.body, "ACTIVE") {
		t.Fatalf("Ann's join ended with %d at %s: %q", r.status, r.finalURL, short(r.body))
	}

	m, err := a.Service.GetMember(t.Context(), seedOrgID, invite.UserRef{Email: "ann@example.com"})
	if err != nil || m.Membership.Status != store.StatusActive {
		t.Fatalf("Ann's stored membership: %s, %v; want ACTIVE", m.Membership.Status, err)
	}

	// The admin deactivates Bob; his next request is refused.
	if r := send(t, admin, "POST", usersURL+"/"+bob.ID+"/deactivate", jsonType, ""); r.status != 200 {
		t.Fatalf("deactivate Bob: %d %q", r.status, short(r.body))
	}
	if r := send(t, bobC, "GET", dashboard, jsonType, ""); r.status != 403 || errorCode(t, r) != "membership_inactive" {
		t.Fatalf("Bob's dashboard after deactivation: %d %q, want 403 membership_inactive", r.status, short(r.body))
	}
	if r := send(t, bobC, "GET", dashboard, "text/html", ""); r.status != 403 {
		t.Fatalf("Bob's dashboard page after deactivation: %d, want 403", r.status)
	}
}
