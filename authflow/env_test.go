package authflow_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/invitekit/invitekit/authflow"
	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/mailer/outbox"
	"github.com/invitekit/invitekit/middleware"
	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/store/memstore"
)

// clock is the invite Service's time, advanceable to expire invitations.
type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return time.Now().Add(c.offset) }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

type envOptions struct {
	claimsInIDToken     bool
	allowJoinAsSignedIn bool
	flowNow             func() time.Time
	// providerDown starts the app while nothing listens at the issuer's
	// address; env.startProvider starts the OP there later.
	providerDown bool
	// trustedEmailIssuers is Config.TrustedEmailIssuers.
	trustedEmailIssuers []string
	// rateLimits is Config.RateLimits; nil turns them off (the tests about
	// other things sign in many times from one address).
	rateLimits *authflow.RateLimits
	// locale is Config.Locale.
	locale func(*http.Request) string
	// joinPath is Config.JoinPath; resolver invite.Config.Domains.Resolver;
	// mount adds routes to the app (join_browser_test.go).
	joinPath string
	resolver invite.TXTResolver
	mount    func(e *env, mux *http.ServeMux)
}

// env is an app using the kit (memstore, invite.Service, scs, middleware,
// authflow) next to a real OpenID provider.
type env struct {
	t      *testing.T
	st     *memstore.Store
	svc    *invite.Service
	clock  *clock
	sm     *scs.SessionManager
	mw     *middleware.Middleware
	flow   *authflow.Flow
	app    *httptest.Server
	op     *testOP // nil until startProvider, with providerDown
	tamper *tamperTransport
	sealer *outbox.Sealer
	logs   *syncBuffer // everything the kit logged, at debug level
	org    store.Organization
	admin  store.User

	issuer        string // the flow's Config.Issuer
	startProvider func() // starts the OP at the issuer's address
}

var secretKey = []byte("0123456789abcdef0123456789abcdef")

func newEnv(t *testing.T, opts envOptions) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{t: t, st: memstore.New(), clock: &clock{}, sm: scs.New(), logs: &syncBuffer{}}
	logger := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var handler http.Handler
	e.app = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(e.app.Close)
	opAddr := ""
	if opts.providerDown {
		opAddr = reserveAddr(t)
		e.issuer = "http://" + opAddr + "/"
	}
	e.startProvider = func() {
		e.op = startOPAt(t, opAddr, e.app.URL+"/auth/callback", e.app.URL+"/bye", opts.claimsInIDToken)
		e.issuer = e.op.issuer
	}
	if !opts.providerDown {
		e.startProvider()
	}

	var err error
	e.mw, err = middleware.New(e.st, e.sm, middleware.Config{CacheTTL: time.Second, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	e.svc, err = invite.New(e.st, invite.Config{
		SecretKey:          secretKey,
		AcceptURL:          e.app.URL + "/accept",
		Now:                e.clock.Now,
		OnMembershipChange: e.mw.Invalidate,
		Logger:             logger,
		Domains:            invite.DomainConfig{Resolver: opts.resolver},
	})
	if err != nil {
		t.Fatal(err)
	}
	e.sealer = e.svc.Sealer()
	e.tamper = &tamperTransport{base: http.DefaultTransport}
	e.flow, err = authflow.New(e.svc, e.sm, authflow.Config{
		Issuer:              e.issuer,
		ClientID:            "web",
		ClientSecret:        "secret",
		RedirectURL:         e.app.URL + "/auth/callback",
		DashboardURL:        "/orgs/{orgID}/dashboard",
		EndSessionRedirect:  e.app.URL + "/bye",
		AllowJoinAsSignedIn: opts.allowJoinAsSignedIn,
		TrustedEmailIssuers: opts.trustedEmailIssuers,
		RateLimits:          rateLimitsOf(opts),
		HTTPClient:          &http.Client{Transport: e.tamper, Timeout: 10 * time.Second},
		Now:                 opts.flowNow,
		Logger:              logger,
		Locale:              opts.locale,
		JoinPath:            opts.joinPath,
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	e.flow.Routes(mux)
	mux.Handle("GET /orgs/{orgID}/dashboard", e.mw.RequireMember(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m, _ := middleware.MemberFromContext(r.Context())
		fmt.Fprintf(w, "dashboard of %s for %s", m.OrganizationID(), m.User.Email)
	})))
	mux.HandleFunc("GET /bye", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "bye") })
	if opts.mount != nil {
		defer opts.mount(e, mux) // once the organization exists
	}
	handler = e.sm.LoadAndSave(mux)

	e.org, _, err = e.svc.CreateOrganization(ctx, invite.CreateOrganizationRequest{
		Name:  "Acme",
		Admin: &invite.InviteRequest{Email: "boss@example.com", UserProfile: &invite.ProfileInput{FirstName: "Bea", LastName: "Boss"}, SendInvitationEmail: ptr(false)},
	})
	if err != nil {
		t.Fatal(err)
	}
	admins, err := e.st.ListMembers(ctx, e.org.ID, store.ListOptions{})
	if err != nil || len(admins.Members) != 1 {
		t.Fatalf("admin: %v %v", admins, err)
	}
	e.admin = admins.Members[0].User
	return e
}

func ptr[T any](v T) *T { return &v }

// reserveAddr returns a loopback address where nothing listens (a port
// the kernel just handed out and that was released at once).
func reserveAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// invite invites email (the OP gets a user with that email, verified) and
// returns the accept link taken from the sealed outbox message.
func (e *env) invite(email string) (userID, link string) {
	e.t.Helper()
	ctx := context.Background()
	res, err := e.svc.CreateUserAndMembership(ctx, e.org.ID, invite.InviteRequest{
		Email: email, InvitedBy: e.admin.ID, UserProfile: &invite.ProfileInput{FirstName: "Ann"},
	})
	if err != nil {
		e.t.Fatal(err)
	}
	if res.Membership.Status != store.StatusPendingInvite {
		e.t.Fatalf("invite status %s", res.Membership.Status)
	}
	return res.User.ID, e.linkFor(email)
}

// linkFor opens the newest queued mail to email and returns its accept link.
func (e *env) linkFor(email string) string {
	e.t.Helper()
	msgs, err := e.st.ListOutbox(context.Background(), e.org.ID, store.OutboxQueued, 1000)
	if err != nil {
		e.t.Fatal(err)
	}
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].To != email {
			continue
		}
		secret, err := e.sealer.Open(msgs[i].ID, msgs[i].Sealed)
		if err != nil {
			e.t.Fatal(err)
		}
		link := secret[outbox.SecretAcceptURL]
		if !strings.HasPrefix(link, e.app.URL+"/accept?token=") {
			e.t.Fatalf("accept link %q", link)
		}
		return link
	}
	e.t.Fatalf("no mail to %s in the outbox", email)
	return ""
}

func (e *env) status(userID string) store.MembershipStatus {
	e.t.Helper()
	m, err := e.st.GetMembership(context.Background(), e.org.ID, userID)
	if err != nil {
		return "NONE"
	}
	return m.Status
}

// browser is a cookie-keeping client that does not follow redirects.
type browser struct {
	t *testing.T
	c *http.Client
}

func newBrowser(t *testing.T) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, c: &http.Client{
		Jar:           jar,
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

type page struct {
	status   int
	location string
	body     string
	header   http.Header
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	req.Header.Set("Accept", "text/html")
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	p := page{status: resp.StatusCode, body: string(body), header: resp.Header}
	if loc, err := resp.Location(); err == nil {
		p.location = loc.String()
	}
	return p
}

func (b *browser) get(u string) page {
	b.t.Helper()
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

func (b *browser) post(u string, form url.Values) page {
	b.t.Helper()
	req, err := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

func (b *browser) cookie(base, name string) string {
	u, _ := url.Parse(base)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

var (
	errorCodeRe = regexp.MustCompile(`<code id="error-code">([a-z_]+)</code>`)
	tokenRe     = regexp.MustCompile(`name="token" value="([^"]+)"`)
)

// code is the machine-readable error code on an error page ("" if none).
func (p page) code() string {
	m := errorCodeRe.FindStringSubmatch(p.body)
	if m == nil {
		return ""
	}
	return m[1]
}

func (p page) expect(t *testing.T, status int, code string) {
	t.Helper()
	if p.status != status || p.code() != code {
		t.Fatalf("got %d %q, want %d %q\n%s", p.status, p.code(), status, code, p.body)
	}
}

// token extracts the accept link's token.
func token(link string) string {
	u, _ := url.Parse(link)
	return u.Query().Get("token")
}

// startJoin opens the link, posts the Join form and returns the login URL
// it redirects to.
func (e *env) startJoin(b *browser, link, action string) {
	e.t.Helper()
	p := b.get(link)
	if p.status != 200 {
		e.t.Fatalf("accept page %d: %s", p.status, p.body)
	}
	p = b.post(e.app.URL+"/accept", url.Values{"token": {token(link)}, "action": {action}})
	if p.status != 303 || p.location != e.app.URL+"/login" {
		e.t.Fatalf("accept POST: %d %q %s", p.status, p.location, p.body)
	}
}

// authorize follows /login to the provider, signs in there as username and
// returns the app callback URL the provider redirects to (not yet fetched).
func (e *env) authorize(b *browser, loginURL, username string) string {
	e.t.Helper()
	p := b.get(loginURL)
	if p.status != 303 || !strings.HasPrefix(p.location, e.op.issuer+"auth?") {
		e.t.Fatalf("login: %d %q %s", p.status, p.location, p.body)
	}
	p = b.get(p.location)
	if p.status != 302 || !strings.Contains(p.location, "/login/username?authRequestID=") {
		e.t.Fatalf("provider /auth: %d %q %s", p.status, p.location, p.body)
	}
	loginForm := p.location
	p = b.get(loginForm)
	if p.status != 200 || !strings.Contains(p.body, `name="password"`) {
		e.t.Fatalf("provider login form: %d %s", p.status, p.body)
	}
	u, _ := url.Parse(loginForm)
	id := u.Query().Get("authRequestID")
	p = b.post(e.op.issuer+"login/username", url.Values{"id": {id}, "username": {username}, "password": {opPassword}})
	if p.status != 302 {
		e.t.Fatalf("provider login POST: %d %s", p.status, p.body)
	}
	p = b.get(p.location)
	if p.status != 302 || !strings.HasPrefix(p.location, e.app.URL+"/auth/callback?") {
		e.t.Fatalf("provider callback: %d %q %s", p.status, p.location, p.body)
	}
	return p.location
}
