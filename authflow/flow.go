package authflow

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/invitekit/invitekit/invite"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultLoginPath    = "/login"
	DefaultCallbackPath = "/auth/callback"
	DefaultAcceptPath   = "/accept"
	DefaultLogoutPath   = "/logout"
	DefaultDashboardURL = "/"
	DefaultLoginTTL     = 10 * time.Minute
	// OrgIDPlaceholder in Config.DashboardURL is replaced by the organization
	// just joined (or the returning member's first ACTIVE one).
	OrgIDPlaceholder = "{orgID}"
)

// Config configures a Flow. Provider (or Issuer), ClientID and RedirectURL
// are required; every other zero field has a safe default.
type Config struct {
	// Provider is the OpenID provider. When nil, New discovers it from
	// Issuer (using HTTPClient, with a 15 s timeout).
	Provider *oidc.Provider
	// Issuer is the provider's issuer URL, used when Provider is nil. With
	// a Provider built from oidc.ProviderConfig (no discovery document), set
	// it too: it is checked against the callback's RFC 9207 "iss" parameter.
	Issuer string
	// EndSessionEndpoint overrides the provider's end_session_endpoint
	// (discovered otherwise) for RP-initiated logout.
	EndSessionEndpoint string
	// ClientID and ClientSecret are the app's client credentials at the
	// provider (ClientSecret may be empty for a public client using PKCE).
	ClientID     string
	ClientSecret string
	// RedirectURL is the absolute URL of the callback route, registered at
	// the provider; its path is the default CallbackPath.
	RedirectURL string
	// Scopes requested (default "openid profile email"; "openid" is always
	// included), plus "offline_access" when OfflineAccess is set.
	Scopes        []string
	OfflineAccess bool
	// AuthCodeOptions are extra authorization request parameters, such as
	// oauth2.SetAuthURLParam("prompt", "select_account").
	AuthCodeOptions []oauth2.AuthCodeOption

	// DashboardURL is where a login lands without return_to (default "/").
	// OrgIDPlaceholder ("{orgID}") in it is replaced by the organization.
	DashboardURL string
	// Route paths (defaults "/login", RedirectURL's path or "/auth/callback",
	// "/accept", "/logout"). invite.Config.AcceptURL must point at AcceptPath.
	LoginPath, CallbackPath, AcceptPath, LogoutPath string

	// AllowJoinAsSignedIn shows a second button on the accept page, "join
	// with the account I sign in with": the invitation is then accepted even
	// when the signed-in email differs from the invited one, and the
	// mismatch is recorded in the accept event. Off by default.
	AllowJoinAsSignedIn bool
	// EndSessionRedirect is the absolute post_logout_redirect_uri sent to
	// the provider's end_session_endpoint (it must be registered there), and
	// the local redirect after logout when the provider has none (default "/").
	EndSessionRedirect string
	// ProviderName is recorded as the membership's primaryIdentityProvider
	// (default: the issuer URL).
	ProviderName string
	// TrustedOrigins are extra origins allowed to POST to the accept and
	// logout routes (see http.CrossOriginProtection.AddTrustedOrigin).
	TrustedOrigins []string
	// LoginTTL is how long a started login may take (default 10 minutes).
	LoginTTL time.Duration

	// HTTPClient talks to the provider (discovery, token, keys, UserInfo);
	// default http.DefaultClient with a 30 s timeout.
	HTTPClient *http.Client
	// Now returns the current time (default time.Now); used to verify ID
	// token expiry and the login TTL.
	Now func() time.Time
	// Logger receives failures (never tokens, codes or secrets); default discards.
	Logger *slog.Logger
	// Templates overrides the pages. It must define the templates "accept",
	// "message" and "logout"; each receives a *Page.
	Templates *template.Template
}

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
	if cfg.ClientID == "" {
		return nil, errors.New("authflow: Config.ClientID is required")
	}
	redirect, err := url.Parse(cfg.RedirectURL)
	if err != nil || (redirect.Scheme != "https" && redirect.Scheme != "http") || redirect.Host == "" {
		return nil, errors.New("authflow: Config.RedirectURL must be an absolute http(s) URL")
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.LoginTTL < 0 {
		return nil, errors.New("authflow: Config.LoginTTL must not be negative")
	}
	if cfg.LoginTTL == 0 {
		cfg.LoginTTL = DefaultLoginTTL
	}
	if cfg.CallbackPath == "" {
		cfg.CallbackPath = redirect.Path
		if cfg.CallbackPath == "" {
			cfg.CallbackPath = DefaultCallbackPath
		}
	}
	for _, p := range []struct {
		field string
		val   *string
		def   string
	}{
		{"LoginPath", &cfg.LoginPath, DefaultLoginPath},
		{"CallbackPath", &cfg.CallbackPath, DefaultCallbackPath},
		{"AcceptPath", &cfg.AcceptPath, DefaultAcceptPath},
		{"LogoutPath", &cfg.LogoutPath, DefaultLogoutPath},
	} {
		if *p.val == "" {
			*p.val = p.def
		}
		if !strings.HasPrefix(*p.val, "/") || strings.ContainsAny(*p.val, " ?#{}") {
			return nil, fmt.Errorf("authflow: Config.%s must be a plain absolute path, got %q", p.field, *p.val)
		}
	}
	if cfg.DashboardURL == "" {
		cfg.DashboardURL = DefaultDashboardURL
	}
	if err := CheckReturnTo(strings.ReplaceAll(cfg.DashboardURL, OrgIDPlaceholder, "x")); err != nil {
		return nil, errors.New("authflow: Config.DashboardURL must be a relative path such as \"/\" or \"/orgs/{orgID}\"")
	}
	if cfg.EndSessionRedirect != "" {
		u, err := url.Parse(cfg.EndSessionRedirect)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, errors.New("authflow: Config.EndSessionRedirect must be an absolute http(s) URL")
		}
	}
	tmpl := cfg.Templates
	if tmpl == nil {
		tmpl = defaultTemplates()
	}
	for _, name := range []string{"accept", "message", "logout"} {
		if tmpl.Lookup(name) == nil {
			return nil, fmt.Errorf("authflow: Config.Templates has no template %q", name)
		}
	}

	provider := cfg.Provider
	if provider == nil {
		if cfg.Issuer == "" {
			return nil, errors.New("authflow: Config.Provider or Config.Issuer is required")
		}
		ctx, cancel := context.WithTimeout(oidc.ClientContext(context.Background(), cfg.HTTPClient), 15*time.Second)
		defer cancel()
		provider, err = oidc.NewProvider(ctx, cfg.Issuer)
		if err != nil {
			return nil, fmt.Errorf("authflow: discover provider %q: %w", cfg.Issuer, err)
		}
	}
	var meta struct {
		Issuer             string `json:"issuer"`
		EndSessionEndpoint string `json:"end_session_endpoint"`
	}
	// A Provider built from oidc.ProviderConfig has no discovery document;
	// Config.Issuer and Config.EndSessionEndpoint stand in for it.
	_ = provider.Claims(&meta)
	if meta.Issuer == "" {
		meta.Issuer = cfg.Issuer
	}
	if cfg.EndSessionEndpoint != "" {
		u, err := url.Parse(cfg.EndSessionEndpoint)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, errors.New("authflow: Config.EndSessionEndpoint must be an absolute http(s) URL")
		}
		meta.EndSessionEndpoint = cfg.EndSessionEndpoint
	}

	scopes := cfg.Scopes
	if len(scopes) == 0 {
		scopes = []string{oidc.ScopeOpenID, "profile", "email"}
	}
	if !slices.Contains(scopes, oidc.ScopeOpenID) {
		scopes = append([]string{oidc.ScopeOpenID}, scopes...)
	}
	if cfg.OfflineAccess && !slices.Contains(scopes, oidc.ScopeOfflineAccess) {
		scopes = append(slices.Clone(scopes), oidc.ScopeOfflineAccess)
	}

	cop := http.NewCrossOriginProtection()
	for _, o := range cfg.TrustedOrigins {
		if err := cop.AddTrustedOrigin(o); err != nil {
			return nil, fmt.Errorf("authflow: Config.TrustedOrigins: %w", err)
		}
	}
	f := &Flow{
		svc:      svc,
		sess:     sess{sessions},
		cfg:      cfg,
		provider: provider,
		oauth: oauth2.Config{
			ClientID:     cfg.ClientID,
			ClientSecret: cfg.ClientSecret,
			Endpoint:     provider.Endpoint(),
			RedirectURL:  cfg.RedirectURL,
			Scopes:       scopes,
		},
		verifier: provider.Verifier(&oidc.Config{ClientID: cfg.ClientID, Now: cfg.Now}),
		issuer:   meta.Issuer,
		endSess:  meta.EndSessionEndpoint,
		cop:      cop,
		tmpl:     tmpl,
		log:      cfg.Logger,
	}
	if redirect.Scheme == "https" && !sessions.Cookie.Secure {
		f.log.Warn("authflow: the app is served over https but the session cookie is not Secure; set sessions.Cookie.Secure = true")
	}
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.renderError(w, r, newError(http.StatusForbidden, CodeBadRequest, "",
			"This form was submitted from another site and was refused. Go back, reload the page and try again.", nil))
	}))
	return f, nil
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
