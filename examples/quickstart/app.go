package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/invitekit/invitekit/authflow"
	"github.com/invitekit/invitekit/examples/devidp"
	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/invite/inviteapi"
	"github.com/invitekit/invitekit/invite/teampage"
	"github.com/invitekit/invitekit/mailer"
	"github.com/invitekit/invitekit/mailer/outbox"
	"github.com/invitekit/invitekit/middleware"
	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/store/sqlitestore"
)

// Seeded organization and admin.
const (
	seedOrgID      = "org_acme"
	seedOrgName    = "Acme"
	seedAdminEmail = "admin@example.com"
)

// myOrgsPath is "My organizations" (authflow's page).
const myOrgsPath = "/orgs"

// config is the quickstart's configuration, from flags and environment.
type config struct {
	Addr    string // app listen address
	BaseURL string // the app's public URL, e.g. http://localhost:8080
	DataDir string // SQLite file and secret key

	// A real provider; when Issuer is empty, the dev provider runs.
	Issuer, ClientID, ClientSecret, RedirectURL string
	DevIdPAddr                                  string // dev provider listen address

	Now    func() time.Time // clock of the membership cache (nil: time.Now; tests freeze it)
	Logger *slog.Logger
}

// app is the wired quickstart.
type app struct {
	Handler    http.Handler
	team       *teampage.Handler
	Service    *invite.Service
	Store      *sqlitestore.Store
	Inbox      *mailer.DevInbox
	Dispatcher *mailer.Dispatcher
	IdP        *devidp.Provider // nil with a real provider
	cfg        config
	sessions   *scs.SessionManager
	orgNames   *orgNames // the dashboard's organization names
}

// newApp opens the store, seeds it, starts the dev provider (unless a real
// one is configured) and builds every route.
func newApp(ctx context.Context, cfg config) (*app, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, err
	}
	key, err := loadOrCreateKey(filepath.Join(cfg.DataDir, "secret.key"))
	if err != nil {
		return nil, err
	}
	st, err := sqlitestore.Open(ctx, filepath.Join(cfg.DataDir, "invitekit.db"), sqlitestore.Config{})
	if err != nil {
		return nil, err
	}
	a := &app{Store: st, cfg: cfg}
	ok := false
	defer func() {
		if !ok {
			a.Close() // release the store (and dev provider) on a failed setup
		}
	}()

	sessions := scs.New()
	sessions.Lifetime = 12 * time.Hour
	sessions.Codec = compactCodec{} // the kit's small sessions without gob (see sessioncodec.go)
	sessions.Cookie.Name = "quickstart_session"
	sessions.Cookie.Secure = false // http://localhost; keep the default (true) in production

	// The guard reads memberships from the store, so it comes first: the
	// Service's membership-change hook then invalidates its cache, and a
	// change made through the Service (deactivate, revoke, roles) applies
	// to the member's next request, not up to CacheTTL later.
	guard, err := middleware.New(st, sessions, middleware.Config{
		Resolver: middleware.PathValue("orgID"),
		LoginURL: "/login",
		Pages:    middleware.PageLinks{Home: "/", Logout: "/logout", Organizations: myOrgsPath},
		CacheTTL: time.Second,
		Now:      cfg.Now,
		Logger:   cfg.Logger,
	})
	if err != nil {
		return nil, err
	}
	svc, err := invite.New(st, invite.Config{
		SecretKey:          key,
		AcceptURL:          cfg.BaseURL + "/accept",
		NotifyDirectAdd:    false,
		OnMembershipChange: guard.Invalidate,
		Logger:             cfg.Logger,
	})
	if err != nil {
		return nil, err
	}
	a.Service = svc
	a.orgNames = newOrgNames(svc, 30*time.Second)
	if err := seed(ctx, svc); err != nil {
		return nil, err
	}

	// Mail: rendered from the embedded templates, delivered to the dev inbox
	// (printed to the log; its page /dev/inbox only with the dev provider).
	a.Inbox = mailer.NewDevInbox(os.Stdout)
	renderer, err := mailer.NewRenderer(mailer.RenderConfig{Branding: mailer.Branding{AppName: "Quickstart", AppURL: cfg.BaseURL}})
	if err != nil {
		return nil, err
	}
	a.Dispatcher, err = mailer.NewDispatcher(st, a.Inbox, renderer, svc.Sealer(), mailer.DispatcherConfig{
		PollInterval: 200 * time.Millisecond, BaseBackoff: time.Second, Logger: cfg.Logger,
	})
	if err != nil {
		return nil, err
	}

	// Login: a real provider from the environment, or the dev provider.
	fcfg := authflow.Config{
		Issuer:       cfg.Issuer,
		ClientID:     cfg.ClientID,
		ClientSecret: cfg.ClientSecret,
		RedirectURL:  cfg.RedirectURL,
		DashboardURL: "/orgs/{orgID}/dashboard",
		// "My organizations" (authflow.Flow.OrganizationsHandler, registered
		// by flow.Routes): the refusal pages offer it as "Switch organization".
		OrganizationsPath: myOrgsPath,
		// Sign-out ends the provider's session too and comes back here
		// (register this URL at a real provider as a post-logout redirect
		// URI); without an end-session endpoint it is where logout lands.
		EndSessionRedirect: cfg.BaseURL + "/signed-out",
		Logger:             cfg.Logger,
	}
	if cfg.Issuer == "" {
		fcfg.RedirectURL = cfg.BaseURL + "/auth/callback"
		a.IdP, err = devidp.Start(devidp.Config{
			Addr: cfg.DevIdPAddr, Host: hostOf(cfg.BaseURL), RedirectURIs: []string{fcfg.RedirectURL},
			AppName: "invitekit quickstart", AppURL: cfg.BaseURL + "/", PostLogoutRedirectURIs: []string{fcfg.EndSessionRedirect},
		})
		if err != nil {
			return nil, err
		}
		fcfg.Issuer, fcfg.ClientID, fcfg.ClientSecret = a.IdP.Issuer, a.IdP.ClientID, a.IdP.ClientSecret
	}
	flow, err := authflow.New(svc, sessions, fcfg)
	if err != nil {
		return nil, err
	}

	team, err := teampage.New(svc, teampage.Config{
		BasePath: "/orgs/{orgID}/team",
		Actor: func(r *http.Request) string {
			u, _ := middleware.UserFromContext(r.Context())
			return u.ID
		},
		Logger: cfg.Logger,
	})
	if err != nil {
		return nil, err
	}
	currentUser := func(r *http.Request) (string, bool) {
		id := sessions.GetString(r.Context(), middleware.SessionKeyUserID)
		return id, id != ""
	}
	api, err := inviteapi.NewHandler(svc, inviteapi.AdminOnly(svc, currentUser), inviteapi.HandlerConfig{Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}

	bulk, err := inviteapi.NewBulkHandler(svc, inviteapi.AdminOnly(svc, currentUser), inviteapi.BulkHandlerConfig{Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}

	mux := http.NewServeMux()
	flow.Routes(mux) // GET/POST /accept, GET /login, GET /auth/callback, POST /logout, GET /orgs (my organizations)
	if a.IdP != nil {
		// The dev inbox shows working accept links: it exists only with the
		// dev provider, and answers this machine only.
		mux.Handle("GET /dev/inbox", a.Inbox.Handler())
	}
	mux.Handle("/orgs/{orgID}/dashboard", guard.RequireMember(http.HandlerFunc(a.dashboard)))
	// The app's join link: a signed-in person without a membership asks to
	// join the organization there; its admins decide on the team page.
	mux.Handle("/orgs/{orgID}/join", flow.JoinHandler())
	mux.Handle("/orgs/{orgID}/team/", guard.RequireRole("admin")(team))
	api.Routes(mux, "/api")  // /api/organizations/{orgID}/users…
	bulk.Routes(mux, "/api") // /api/organizations/{orgID}/users:bulk…
	mux.HandleFunc("GET /{$}", a.home)
	mux.HandleFunc("GET /signed-out", signedOut)
	a.sessions = sessions
	a.Handler = sessions.LoadAndSave(mux)
	a.team = team
	ok = true
	return a, nil
}

// Close stops the team page's import jobs and the dev provider and closes
// the store.
func (a *app) Close() error {
	if a.team != nil {
		a.team.Close()
	}
	if a.IdP != nil {
		a.IdP.Close()
	}
	return a.Store.Close()
}

// seed creates the Acme organization with its first admin, who is added
// directly (ACTIVE) and signs in through the provider with that email.
func seed(ctx context.Context, svc *invite.Service) error {
	_, err := svc.Organization(ctx, seedOrgID)
	if err == nil {
		return nil
	}
	if !errors.Is(err, invite.ErrNotFound) {
		return err
	}
	direct := false
	_, _, err = svc.CreateOrganization(ctx, invite.CreateOrganizationRequest{
		ID:   seedOrgID,
		Name: seedOrgName,
		Admin: &invite.InviteRequest{
			Email:               seedAdminEmail,
			UserProfile:         &invite.ProfileInput{FirstName: "Ada", LastName: "Admin"},
			SendInvitationEmail: &direct,
		},
	})
	return err
}

// loadOrCreateKey keeps the kit's 32-byte secret key in the data folder.
func loadOrCreateKey(path string) ([]byte, error) {
	key, err := os.ReadFile(path)
	if err == nil {
		if len(key) != outbox.KeySize {
			return nil, fmt.Errorf("quickstart: %s must hold %d bytes", path, outbox.KeySize)
		}
		return key, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	key = make([]byte, outbox.KeySize)
	rand.Read(key)
	return key, os.WriteFile(path, key, 0o600)
}

// The two pages are separate templates, each run with Execute: an
// html/template locks its set on every execution (ExecuteTemplate holds
// the lock longer, over the name's lookup), so under load pages sharing a
// set queue on one mutex (BenchmarkQuickstartLoad, -mutexprofile).
var homePage = template.Must(template.New("home").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>invitekit quickstart</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem;color:#18181b}
a{color:#2563eb}code{background:#f4f4f5;padding:0 .3em;border-radius:3px}.dev{border-left:4px solid #f59e0b;padding:.5rem 1rem;background:#fffbeb}</style></head>
<body><h1>invitekit quickstart</h1>
{{if .Dev}}<p class="dev"><strong>Development provider:</strong> sign in with any email address and the password <code>{{.Password}}</code>. Not for production.</p>{{end}}
<ol>
<li><a href="/login?return_to=/orgs/{{.Org}}/team/">Sign in as the admin</a> (<code>{{.Admin}}</code>) and open the team page.</li>
<li>Invite someone, e.g. <code>ann@example.com</code>.</li>
<li>{{if .Dev}}Open the <a href="/dev/inbox">dev inbox</a>{{else}}Find the invitation mail in the server's log{{end}}, click the link, join, and sign in as that person.</li>
<li>You land on the <a href="/orgs/{{.Org}}/dashboard">{{.OrgName}} dashboard</a> as an ACTIVE member.</li>
</ol>
<form method="post" action="/logout"><button>Sign out</button></form>
</body></html>
`))

var dashboardTemplate = template.Must(template.New("dashboard").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.OrgName}} dashboard</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem}</style></head>
<body><h1 id="welcome">Welcome to {{.OrgName}}, {{.Email}}</h1>
<p>Status: <strong id="status">{{.Status}}</strong> · Roles: <span id="roles">{{.Roles}}</span></p>
{{if .Admin}}<p><a href="/orgs/{{.Org}}/team/">Manage the team</a></p>{{end}}
<p><a href="/orgs">My organizations</a></p>
<form method="post" action="/logout"><button>Sign out</button></form>
</body></html>`))

func (a *app) home(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	homePage.Execute(w, map[string]any{
		"Dev": a.IdP != nil, "Password": devidp.Password,
		"Org": seedOrgID, "OrgName": seedOrgName, "Admin": seedAdminEmail,
	})
}

// dashboardPage is what the dashboard template shows. A struct and the
// roles joined here, not a map and a range in the template: html/template
// runs each action through its escaper by reflection, and under load
// (BenchmarkQuickstartLoad) the map and the loop made the page cost more
// than the guard in front of it.
type dashboardPage struct {
	Org, OrgName, Email string
	Status              string // a string, not a store.MembershipStatus: html/template prints other types with fmt
	Roles               string // comma-separated
	Admin               bool
}

func (a *app) dashboard(w http.ResponseWriter, r *http.Request) {
	page, err := a.dashboardFor(r)
	if err != nil {
		http.Error(w, "organization not found", http.StatusNotFound)
		return
	}
	authflow.RememberOrganization(w, r, page.Org) // a returning member lands here again
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	dashboardTemplate.Execute(w, page)
}

// dashboardFor is what the dashboard shows: the member (user and
// membership) RequireMember loaded and the organization's name from a
// small cache, so no store read. It is a function of its own, not
// inlined, so that its frame (the Member MemberFromContext copies, some
// 600 bytes, and the copies Membership's value methods make: 2.4 KB) is
// gone from the stack before the template runs. In the handler, that
// frame took the connection's goroutine past the stack size the GC
// shrinks an idle goroutine's stack to, so after every GC cycle each
// connection copied its stack again on its next dashboard request
// (callgrind of BenchmarkQuickstartLoad's requests: about 11,000
// instructions a request, 4 % of the dashboard's).
//
//go:noinline
func (a *app) dashboardFor(r *http.Request) (dashboardPage, error) {
	m, _ := middleware.MemberFromContext(r.Context())
	orgID := m.OrganizationID()
	orgName, err := a.orgNames.get(r.Context(), orgID)
	if err != nil {
		return dashboardPage{}, err
	}
	return dashboardPage{
		Org: orgID, OrgName: orgName, Email: m.User.Email,
		Status: string(m.Membership.EffectiveStatus(a.Service.Now())), Roles: strings.Join(m.Membership.Roles, ", "),
		Admin: m.Membership.HasRole("admin"),
	}, nil
}

var _ store.Store = (*sqlitestore.Store)(nil)
