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
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/invitekit/invitekit/invite"
)

// Flow holds the handlers. Create it with New; it is safe for concurrent use.
type Flow struct {
	svc      *invite.Service
	sess     sess
	cfg      Config
	provider *oidc.Provider
	oauth    oauth2.Config
	verifier *oidc.IDTokenVerifier
	issuer   string
	endSess  string // provider's end_session_endpoint, "" if none
	cop      *http.CrossOriginProtection
	tmpl     *template.Template
	log      *slog.Logger
}

// New returns a Flow. svc and sessions are required.
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
	provider, err := discover(cfg)
	if err != nil {
		return nil, err
	}
	f := &Flow{
		svc: svc, sess: sess{sessions}, cfg: cfg, provider: provider,
		oauth: oauth2.Config{
			ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, Endpoint: provider.Endpoint(),
			RedirectURL: cfg.RedirectURL, Scopes: cfg.Scopes,
		},
		verifier: provider.Verifier(&oidc.Config{ClientID: cfg.ClientID, Now: cfg.Now}),
		issuer:   cfg.Issuer, endSess: endSessionEndpoint(cfg, provider),
		cop: cop, tmpl: cfg.Templates, log: cfg.Logger,
	}
	if u, _ := url.Parse(cfg.RedirectURL); u.Scheme == "https" && !sessions.Cookie.Secure {
		f.log.Warn("authflow: the app is served over https but the session cookie is not Secure; set sessions.Cookie.Secure = true")
	}
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.renderError(w, r, newError(http.StatusForbidden, CodeBadRequest, "",
			"This form was submitted from another site and was refused. Go back, reload the page and try again.", nil))
	}))
	return f, nil
}

// discover returns cfg.Provider, or discovers it from cfg.Issuer.
func discover(cfg Config) (*oidc.Provider, error) {
	if cfg.Provider != nil {
		return cfg.Provider, nil
	}
	ctx, cancel := context.WithTimeout(oidc.ClientContext(context.Background(), cfg.HTTPClient), 15*time.Second)
	defer cancel()
	p, err := oidc.NewProvider(ctx, cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("authflow: discover provider %q: %w", cfg.Issuer, err)
	}
	return p, nil
}

// endSessionEndpoint is Config.EndSessionEndpoint, else the provider's.
func endSessionEndpoint(cfg Config, p *oidc.Provider) string {
	if cfg.EndSessionEndpoint != "" {
		return cfg.EndSessionEndpoint
	}
	var meta struct {
		EndSessionEndpoint string `json:"end_session_endpoint"`
	}
	_ = p.Claims(&meta) // none for a Provider built from oidc.ProviderConfig
	return meta.EndSessionEndpoint
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
type Router interface {
	Handle(pattern string, h http.Handler)
}

// Routes registers the accept, login, callback and logout handlers on mux
// at the configured paths. Each handler dispatches on the method itself,
// so the patterns carry none and work with chi too.
func (f *Flow) Routes(mux Router) {
	mux.Handle(f.cfg.AcceptPath, f.AcceptHandler())
	mux.Handle(f.cfg.LoginPath, f.LoginHandler())
	mux.Handle(f.cfg.CallbackPath, f.CallbackHandler())
	mux.Handle(f.cfg.LogoutPath, f.LogoutHandler())
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

func (f *Flow) methodNotAllowed(w http.ResponseWriter, r *http.Request, allow string) {
	w.Header().Set("Allow", allow)
	f.renderError(w, r, newError(http.StatusMethodNotAllowed, CodeMethodNotAllowed, "", "This address does not accept "+r.Method+" requests.", nil))
}

// dashboard returns the landing URL for orgID.
func (f *Flow) dashboard(orgID string) string {
	return strings.ReplaceAll(f.cfg.DashboardURL, OrgIDPlaceholder, url.PathEscape(orgID))
}
