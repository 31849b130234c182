package authflow

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/alexedwards/scs/v2"

	"github.com/invitekit/invitekit/internal/httpx"
	"github.com/invitekit/invitekit/internal/ratelimit"
	"github.com/invitekit/invitekit/invite"
)

// Flow holds the handlers. Create it with New; it is safe for concurrent use.
type Flow struct {
	svc    *invite.Service
	sess   sess
	cfg    Config
	remote *lazyRemote // the provider's endpoints, discovered on first use
	sso    ssoRemotes  // organizations' own connections (sso.go)
	cop    *http.CrossOriginProtection
	tmpl   *template.Template
	// builtin are the embedded pages, for a page Config.Templates lacks
	// ("organizations").
	builtin *template.Template
	log     *slog.Logger
	limits  *ratelimit.SignIn
	// join holds the join page's rate limits, shared by every
	// JoinHandler (join.go).
	join joinLimits
}

// New returns a Flow. svc and sessions are required. New does no I/O: the
// provider is discovered from Config.Issuer on first use (see Discover), so
// an app starts even while its identity provider is down.
func New(svc *invite.Service, sessions *scs.SessionManager, cfg Config) (*Flow, error) {
	if svc == nil {
		return nil, errors.New("authflow: New: nil invite.Service")
	}
	if sessions == nil {
		return nil, errors.New("authflow: New: nil scs.SessionManager")
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	cop, err := crossOriginProtection(cfg.TrustedOrigins)
	if err != nil {
		return nil, err
	}
	f := &Flow{svc: svc, sess: sess{sessions}, cfg: cfg, remote: newLazyRemote(cfg), cop: cop, tmpl: cfg.Templates, builtin: defaultTemplates(), log: cfg.Logger}
	if f.limits, err = newSignInLimits(cfg); err != nil {
		return nil, err
	}
	if u, _ := url.Parse(cfg.RedirectURL); u.Scheme == "https" && !sessions.Cookie.Secure {
		f.log.Warn("authflow: the app is served over https but the session cookie is not Secure; set sessions.Cookie.Secure = true")
	}
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.renderError(w, r, pageError(httpx.ErrCrossOrigin, "",
			"This form was submitted from another site and was refused. Go back, reload the page and try again.", nil))
	}))
	return f, nil
}

// Discover fetches the provider's discovery document now rather than on
// first use: call it at startup to fail fast, or from a readiness check.
// It returns nil once the provider is known (at once with
// Config.Provider), or an error matching ErrProviderUnavailable. It obeys
// the same rules as the handlers: it joins an attempt in flight, returns
// at once while the backoff after a failure lasts, and gives up waiting
// when ctx ends (the attempt itself goes on for the requests behind it).
func (f *Flow) Discover(ctx context.Context) error {
	_, err := f.remote.get(ctx)
	return err
}

// crossOriginProtection guards the accept and logout forms.
func crossOriginProtection(trusted []string) (*http.CrossOriginProtection, error) {
	cop := http.NewCrossOriginProtection()
	for _, o := range trusted {
		if err := cop.AddTrustedOrigin(o); err != nil {
			return nil, fmt.Errorf("authflow: Config.TrustedOrigins: %w", err)
		}
	}
	return cop, nil
}

// Router is what Routes registers on: *http.ServeMux and chi.Router both
// satisfy it.
type Router = httpx.Router

// Routes registers the accept, login, callback and logout handlers, and
// "My organizations" (unless Config.OrganizationsPath is "-"), on mux at
// the configured paths. Each handler dispatches on the method itself,
// so the patterns carry none and work with chi too.
func (f *Flow) Routes(mux Router) {
	mux.Handle(f.cfg.AcceptPath, f.AcceptHandler())
	mux.Handle(f.cfg.LoginPath, f.LoginHandler())
	mux.Handle(f.cfg.LoginPath+"/sso", f.EmailFirstHandler()) // email-first sign-in (enterprise SSO)
	mux.Handle(f.cfg.CallbackPath, f.CallbackHandler())
	mux.Handle(f.cfg.LogoutPath, f.LogoutHandler())
	if f.cfg.OrganizationsPath != "" {
		mux.Handle(f.cfg.OrganizationsPath, f.OrganizationsHandler())
	}
	if f.cfg.JoinPath != "" {
		mux.Handle(f.cfg.JoinPath, f.JoinHandler())
	}
}

// Handler returns a ServeMux with the four routes, for mounting under "/"
// of a bigger mux or alone.
func (f *Flow) Handler() http.Handler {
	mux := http.NewServeMux()
	f.Routes(mux)
	return mux
}

// Paths reports the configured route paths.
func (f *Flow) Paths() (accept, login, callback, logout string) {
	return f.cfg.AcceptPath, f.cfg.LoginPath, f.cfg.CallbackPath, f.cfg.LogoutPath
}

// LoginURL returns the login route with return_to set, for links such as
// "Sign in" (returnTo "" means the dashboard).
func (f *Flow) LoginURL(returnTo string) string {
	if returnTo == "" {
		return f.cfg.LoginPath
	}
	return f.cfg.LoginPath + "?" + url.Values{"return_to": {returnTo}}.Encode()
}

// methods dispatches on the method (httpx.Methods) and renders a refused
// method as a page.
func (f *Flow) methods(handlers map[string]http.HandlerFunc) http.Handler {
	return httpx.Methods(handlers, func(w http.ResponseWriter, r *http.Request, err error) {
		f.renderError(w, r, pageError(err, "", "This address does not accept "+r.Method+" requests.", nil))
	})
}

// dashboard returns the landing URL for orgID.
func (f *Flow) dashboard(orgID string) string {
	return strings.ReplaceAll(f.cfg.DashboardURL, OrgIDPlaceholder, url.PathEscape(orgID))
}
