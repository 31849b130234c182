package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/go-chi/chi/v5"

	"github.com/invitekit/invitekit/authflow"
	"github.com/invitekit/invitekit/examples/devidp"
	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/invite/inviteapi"
	"github.com/invitekit/invitekit/invite/teampage"
	"github.com/invitekit/invitekit/mailer"
	"github.com/invitekit/invitekit/mailer/outbox"
	"github.com/invitekit/invitekit/middleware"
	"github.com/invitekit/invitekit/store/memstore"
)

// Seeded organization and admin.
const (
	seedOrgID      = "org_acme"
	seedOrgName    = "Acme"
	seedAdminEmail = "admin@example.com"
)

// config configures the example.
type config struct {
	Addr    string // listen address
	BaseURL string // the app's public URL, e.g. http://localhost:8090

	// A real provider; when Issuer is empty, the dev provider runs on DevIdPAddr.
	Issuer, ClientID, ClientSecret, RedirectURL string
	DevIdPAddr                                  string

	MailLog io.Writer // where the dev inbox prints each mail (nil: nowhere)
	Logger  *slog.Logger
}

// app holds the wired parts; Handler is the chi router.
type app struct {
	Handler    http.Handler
	Service    *invite.Service
	Store      *memstore.Store
	Inbox      *mailer.DevInbox
	Dispatcher *mailer.Dispatcher
	IdP        *devidp.Provider // nil with a real provider

	sessions *scs.SessionManager
	guard    *middleware.Middleware
	flow     *authflow.Flow
	api      *inviteapi.Handler
	team     *teampage.Handler
}

// routes mounts invitekit on a chi router.
func (a *app) routes() http.Handler {
	r := chi.NewRouter()
	r.Use(a.sessions.LoadAndSave) // authflow and the middleware read the session
	a.flow.Routes(r)              // /accept, /login, /auth/callback, /logout
	a.api.Routes(r, "/api")       // /api/organizations/{orgID}/users…
	r.Route("/orgs/{orgID}", func(r chi.Router) {
		r.With(a.guard.RequireMember).Get("/dashboard", a.dashboard)
		r.With(a.guard.RequireRole("admin")).Handle("/team/*", a.team)
	})
	r.Get("/dev/inbox", a.Inbox.Handler().ServeHTTP)
	r.Get("/", a.home)
	return r
}

// newApp wires a memory store, the invite service, sessions, the
// membership middleware, the login flow, the JSON API, the team page and
// the mail dispatcher (into the dev inbox).
func newApp(ctx context.Context, cfg config) (*app, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	key := make([]byte, outbox.KeySize) // a new key per run: the store is in memory too
	rand.Read(key)
	a := &app{Store: memstore.New(), sessions: scs.New()}
	a.sessions.Cookie.Secure = false // plain http on localhost; keep true in production

	// The guard needs only the store, so it comes first and the Service's
	// change hook invalidates its cache: a change made through the Service
	// applies to the member's next request.
	var err error
	a.guard, err = middleware.New(a.Store, a.sessions, middleware.Config{
		Resolver: middleware.PathValue("orgID"), // chi fills r.PathValue
		CacheTTL: time.Second,
		Logger:   cfg.Logger,
	})
	if err != nil {
		return nil, err
	}
	a.Service, err = invite.New(a.Store, invite.Config{
		SecretKey:          key,
		AcceptURL:          cfg.BaseURL + "/accept",
		Logger:             cfg.Logger,
		OnMembershipChange: a.guard.Invalidate,
	})
	if err != nil {
		return nil, err
	}
	direct := false
	if _, _, err := a.Service.CreateOrganization(ctx, invite.CreateOrganizationRequest{
		ID: seedOrgID, Name: seedOrgName,
		Admin: &invite.InviteRequest{Email: seedAdminEmail, SendInvitationEmail: &direct,
			UserProfile: &invite.ProfileInput{FirstName: "Ada", LastName: "Admin"}},
	}); err != nil {
		return nil, err
	}

	a.Inbox = mailer.NewDevInbox(cfg.MailLog)
	a.Dispatcher, err = mailer.NewDispatcher(a.Store, a.Inbox, nil, a.Service.Sealer(), mailer.DispatcherConfig{
		PollInterval: 200 * time.Millisecond, Logger: cfg.Logger,
	})
	if err != nil {
		return nil, err
	}

	fcfg := authflow.Config{
		Issuer: cfg.Issuer, ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret,
		RedirectURL:  cfg.RedirectURL,
		DashboardURL: "/orgs/{orgID}/dashboard",
		Logger:       cfg.Logger,
	}
	if cfg.Issuer == "" {
		fcfg.RedirectURL = cfg.BaseURL + "/auth/callback"
		host := ""
		if u, err := url.Parse(cfg.BaseURL); err == nil {
			host = u.Hostname()
		}
		a.IdP, err = devidp.Start(devidp.Config{Addr: cfg.DevIdPAddr, Host: host, RedirectURIs: []string{fcfg.RedirectURL}})
		if err != nil {
			return nil, err
		}
		fcfg.Issuer, fcfg.ClientID, fcfg.ClientSecret = a.IdP.Issuer, a.IdP.ClientID, a.IdP.ClientSecret
	}
	if a.flow, err = authflow.New(a.Service, a.sessions, fcfg); err != nil {
		a.Close()
		return nil, err
	}

	currentUser := func(r *http.Request) (string, bool) {
		id := a.sessions.GetString(r.Context(), middleware.SessionKeyUserID)
		return id, id != ""
	}
	if a.api, err = inviteapi.NewHandler(a.Service, inviteapi.AdminOnly(a.Service, currentUser), inviteapi.HandlerConfig{Logger: cfg.Logger}); err != nil {
		a.Close()
		return nil, err
	}
	a.team, err = teampage.New(a.Service, teampage.Config{
		BasePath: "/orgs/{orgID}/team",
		Actor: func(r *http.Request) string {
			u, _ := middleware.UserFromContext(r.Context())
			return u.ID
		},
		Logger: cfg.Logger,
	})
	if err != nil {
		a.Close()
		return nil, err
	}
	a.Handler = a.routes()
	return a, nil
}

// Close stops the dev provider and the team page's import jobs.
func (a *app) Close() error {
	var errs []error
	if a.team != nil {
		errs = append(errs, a.team.Close())
	}
	if a.IdP != nil {
		errs = append(errs, a.IdP.Close())
	}
	return errors.Join(errs...)
}

var page = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title></head>
<body><h1>{{.Title}}</h1>
{{if .Email}}<p id="who">Signed in as {{.Email}} · status <strong id="status">{{.Status}}</strong> · roles {{.Roles}}</p>
<p><a href="/orgs/{{.Org}}/team/">Team</a></p>
<form method="post" action="/logout"><button>Sign out</button></form>
{{else}}<p><a href="/login?return_to=/orgs/{{.Org}}/team/">Sign in as {{.Admin}}</a>{{if .Dev}} (dev provider: any email, password <code>{{.Password}}</code>){{end}} · <a href="/dev/inbox">dev inbox</a></p>{{end}}
</body></html>`))

func (a *app) home(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	page.Execute(w, map[string]any{"Title": "invitekit on chi", "Org": seedOrgID, "Admin": seedAdminEmail,
		"Dev": a.IdP != nil, "Password": devidp.Password})
}

// dashboard runs behind RequireMember: the member is in the context.
func (a *app) dashboard(w http.ResponseWriter, r *http.Request) {
	m, ok := middleware.MemberFromContext(r.Context())
	if !ok {
		http.Error(w, "not behind RequireMember", http.StatusInternalServerError)
		return
	}
	if middleware.WantsJSON(r) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"userId": m.User.ID, "email": m.User.Email, "status": m.Membership.Status})
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	page.Execute(w, map[string]any{"Title": seedOrgName + " dashboard", "Org": m.OrganizationID(),
		"Email": m.User.Email, "Status": m.Membership.Status, "Roles": m.Membership.Roles})
}
