package authflow

import (
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultLoginPath    = "/login"
	DefaultCallbackPath = "/auth/callback"
	DefaultAcceptPath   = "/accept"
	DefaultLogoutPath   = "/logout"
	DefaultDashboardURL = "/"
	DefaultLoginTTL     = 10 * time.Minute
	// DefaultClockSkew is Config.ClockSkew's default.
	DefaultClockSkew = 2 * time.Minute
	// DefaultIDTokenMaxAge is Config.IDTokenMaxAge's default.
	DefaultIDTokenMaxAge = 10 * time.Minute
	// OrgIDPlaceholder in Config.DashboardURL is replaced by the organization
	// just joined (or the returning member's first ACTIVE one).
	OrgIDPlaceholder = "{orgID}"
)

// Config configures a Flow. Provider (or Issuer), ClientID and RedirectURL
// are required; every other zero field has a safe default.
type Config struct {
	// Provider is the OpenID provider, when the app builds it itself
	// (then nothing is discovered).
	Provider *oidc.Provider
	// Issuer is the provider's issuer URL (absolute http(s)), used when
	// Provider is nil. New does no I/O: the discovery document is fetched
	// on first use (a login, an accepted invitation, a callback, a logout)
	// or by Flow.Discover, and kept once fetched. While it cannot be
	// fetched those requests answer 503 (code provider_unavailable, with
	// Retry-After) and attempts are spaced out, from 1 s doubling to 30 s;
	// requests arriving together share one attempt (15 s timeout). With a
	// Provider built from oidc.ProviderConfig (no discovery document), set
	// Issuer too: it is checked against the callback's RFC 9207 "iss"
	// parameter.
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
	// OrganizationsPath is "My organizations" (default "/organizations";
	// see Flow.OrganizationsHandler); "-" leaves the route out of Routes
	// and the refusal pages' "Switch organization" step.
	OrganizationsPath string
	// JoinPath is the join page (Flow.JoinHandler, registered by Routes):
	// a person without a membership asks an organization to let them in.
	// The "invitation required" page links to it. "" (the default) offers
	// no join page; a sign-in without membership then keeps nothing.
	JoinPath string
	// JoinRateLimit bounds join requests per person and organization
	// (default DefaultJoinRateLimit: 5 an hour, bursts of 3); per person
	// four times that.
	JoinRateLimit RateLimit

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
	// when an invitation is accepted through this provider (default: the
	// issuer URL). A later sign-in through it changes no membership's
	// primaryIdentityProvider (it is app-wide, not one organization's); a
	// sign-in or accept through an organization's SSO connection records
	// the connection's name instead.
	ProviderName string
	// TrustedOrigins are extra origins allowed to POST to the accept and
	// logout routes (see http.CrossOriginProtection.AddTrustedOrigin).
	TrustedOrigins []string
	// LoginTTL is how long a started login may take (default 10 minutes).
	LoginTTL time.Duration

	// ID-token rules checked after go-oidc's verification (issuer,
	// audience, expiry, signature), from OpenID Connect Core 3.1.3.7: an ID
	// token with several audiences must name this client in azp, and an azp
	// must be ClientID; iat must be present, not after now + ClockSkew and
	// not before now − IDTokenMaxAge − ClockSkew; a present nbf must not be
	// after now + ClockSkew.

	// ClockSkew is the tolerated difference between the provider's clock
	// and ours (default 2 minutes).
	ClockSkew time.Duration
	// IDTokenMaxAge is how old (by iat) an ID token may be when it reaches
	// the callback (default 10 minutes).
	IDTokenMaxAge time.Duration
	// MaxAuthAge, when positive, is sent as the authorization request's
	// max_age (in whole seconds, rounded up): the provider must then have
	// authenticated the person at most that long ago, and the ID token must
	// carry auth_time with auth_time + MaxAuthAge + ClockSkew ≥ now. Zero
	// (the default) sends no max_age. Use it rather than an AuthCodeOptions
	// max_age, which would not be checked.
	MaxAuthAge time.Duration
	// TrustedEmailIssuers are the issuers trusted to assert a person's
	// email for linking: when someone signs in with an identity the kit
	// does not know yet, it is linked to the user with the same (verified)
	// email only if its issuer is listed. nil (the default) trusts the
	// configured provider's issuer; an empty non-nil slice trusts none
	// (returning members are then found by their linked identity only).
	// Accepting an invitation does not depend on it: the invitation link
	// proves the email.
	TrustedEmailIssuers []string

	// HTTPClient talks to the provider (discovery, token, keys, UserInfo);
	// default http.DefaultClient with a 30 s timeout.
	HTTPClient *http.Client
	// Now returns the current time (default time.Now); used to verify the
	// ID token's times (exp, iat, nbf, auth_time) and the login TTL.
	Now func() time.Time
	// RateLimits bounds sign-in requests per client: the accept form
	// (POST), the login route and the callback (the zero value: 20 a
	// minute per client and route, bursts of 10; see RateLimits). The
	// limiters use Now.
	RateLimits RateLimits
	// Logger receives failures (never tokens, codes or secrets); default discards.
	Logger *slog.Logger
	// Templates overrides the pages. It must define the templates "accept",
	// "message" and "logout"; each receives a *Page.
	Templates *template.Template
	// Locale returns the person's own locale (for example from the app's
	// user settings, for the signed-in user), "" when unknown. Every page
	// of the flow — the Join page, sign-out, sign-in errors and refusals,
	// "My organizations" — negotiates its language the one way of every kit
	// page (the same as middleware's and teampage's Config.Locale): this
	// locale, then the request's Accept-Language, then the organization's
	// locale (when the page is about one), then English. Default: nil (no
	// own locale).
	Locale func(r *http.Request) string
}

// withDefaults returns c with every zero field set to its default and
// Scopes completed, or the first configuration error. It does no I/O.
func (c Config) withDefaults() (Config, error) {
	for _, step := range []func(*Config) error{
		(*Config).defaultProvider,
		(*Config).defaultRoutes,
		(*Config).defaultRuntime,
		(*Config).defaultTokenRules,
		(*Config).defaultTemplates,
	} {
		if err := step(&c); err != nil {
			return Config{}, err
		}
	}
	return c, nil
}

// defaultProvider checks the client and the provider settings and
// completes Scopes. With a Provider that has a discovery document, Issuer
// becomes the issuer it names.
func (c *Config) defaultProvider() error {
	switch {
	case c.ClientID == "":
		return errors.New("authflow: Config.ClientID is required")
	case !isAbsHTTP(c.RedirectURL):
		return errors.New("authflow: Config.RedirectURL must be an absolute http(s) URL")
	case c.Provider == nil && c.Issuer == "":
		return errors.New("authflow: Config.Provider or Config.Issuer is required")
	case c.Issuer != "" && !isAbsHTTP(c.Issuer):
		return errors.New("authflow: Config.Issuer must be an absolute http(s) URL")
	case c.EndSessionEndpoint != "" && !isAbsHTTP(c.EndSessionEndpoint):
		return errors.New("authflow: Config.EndSessionEndpoint must be an absolute http(s) URL")
	}
	if c.Provider != nil {
		var meta struct {
			Issuer string `json:"issuer"`
		}
		// A Provider built from oidc.ProviderConfig has no document; then
		// Config.Issuer stands in for it.
		if c.Provider.Claims(&meta) == nil && meta.Issuer != "" {
			c.Issuer = meta.Issuer
		}
	}
	c.Scopes = scopes(c.Scopes, c.OfflineAccess)
	return nil
}

// scopes returns the requested scopes: the default set when none, always
// with "openid", plus "offline_access" when asked for.
func scopes(s []string, offline bool) []string {
	if len(s) == 0 {
		s = []string{oidc.ScopeOpenID, "profile", "email"}
	}
	if !slices.Contains(s, oidc.ScopeOpenID) {
		s = append([]string{oidc.ScopeOpenID}, s...)
	}
	if offline && !slices.Contains(s, oidc.ScopeOfflineAccess) {
		s = append(slices.Clone(s), oidc.ScopeOfflineAccess)
	}
	return s
}

// defaultRoutes fills and checks the route paths and the redirect targets.
func (c *Config) defaultRoutes() error {
	if c.CallbackPath == "" {
		u, _ := url.Parse(c.RedirectURL) // checked by defaultProvider
		c.CallbackPath = u.Path
	}
	for _, p := range []struct {
		field string
		val   *string
		def   string
	}{
		{"LoginPath", &c.LoginPath, DefaultLoginPath},
		{"CallbackPath", &c.CallbackPath, DefaultCallbackPath},
		{"AcceptPath", &c.AcceptPath, DefaultAcceptPath},
		{"LogoutPath", &c.LogoutPath, DefaultLogoutPath},
	} {
		if *p.val == "" {
			*p.val = p.def
		}
		if !strings.HasPrefix(*p.val, "/") || strings.ContainsAny(*p.val, " ?#{}") {
			return fmt.Errorf("authflow: Config.%s must be a plain absolute path, got %q", p.field, *p.val)
		}
	}
	if c.JoinPath != "" && (!strings.HasPrefix(c.JoinPath, "/") || strings.ContainsAny(c.JoinPath, " ?#{}")) {
		return fmt.Errorf("authflow: Config.JoinPath must be a plain absolute path, got %q", c.JoinPath)
	}
	if _, err := c.JoinRateLimit.WithDefault(DefaultJoinRateLimit); err != nil {
		return fmt.Errorf("authflow: Config.JoinRateLimit: %w", err)
	}
	switch c.OrganizationsPath {
	case "":
		c.OrganizationsPath = DefaultOrganizationsPath
	case "-":
		c.OrganizationsPath = ""
	default:
		if !strings.HasPrefix(c.OrganizationsPath, "/") || strings.ContainsAny(c.OrganizationsPath, " ?#{}") {
			return fmt.Errorf("authflow: Config.OrganizationsPath must be a plain absolute path (or \"-\"), got %q", c.OrganizationsPath)
		}
	}
	if c.DashboardURL == "" {
		c.DashboardURL = DefaultDashboardURL
	}
	if CheckReturnTo(strings.ReplaceAll(c.DashboardURL, OrgIDPlaceholder, "x")) != nil {
		return errors.New("authflow: Config.DashboardURL must be a relative path such as \"/\" or \"/orgs/{orgID}\"")
	}
	if c.EndSessionRedirect != "" && !isAbsHTTP(c.EndSessionRedirect) {
		return errors.New("authflow: Config.EndSessionRedirect must be an absolute http(s) URL")
	}
	return nil
}

// defaultRuntime fills the HTTP client, clock, logger and login TTL.
func (c *Config) defaultRuntime() error {
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.LoginTTL < 0 {
		return errors.New("authflow: Config.LoginTTL must not be negative")
	}
	if c.LoginTTL == 0 {
		c.LoginTTL = DefaultLoginTTL
	}
	return nil
}

// defaultTokenRules fills and checks the ID-token and identity rules.
func (c *Config) defaultTokenRules() error {
	for _, d := range []struct {
		field string
		val   *time.Duration
		def   time.Duration
	}{
		{"ClockSkew", &c.ClockSkew, DefaultClockSkew},
		{"IDTokenMaxAge", &c.IDTokenMaxAge, DefaultIDTokenMaxAge},
		{"MaxAuthAge", &c.MaxAuthAge, 0},
	} {
		if *d.val < 0 {
			return fmt.Errorf("authflow: Config.%s must not be negative", d.field)
		}
		if *d.val == 0 {
			*d.val = d.def
		}
	}
	// max_age is sent in whole seconds; check against what is sent.
	c.MaxAuthAge = (c.MaxAuthAge + time.Second - 1).Truncate(time.Second)
	if c.TrustedEmailIssuers != nil {
		c.TrustedEmailIssuers = slices.Clone(c.TrustedEmailIssuers)
		for _, iss := range c.TrustedEmailIssuers {
			if iss == "" || strings.ContainsFunc(iss, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
				return fmt.Errorf("authflow: Config.TrustedEmailIssuers holds an empty or malformed issuer %q", iss)
			}
		}
	}
	return nil
}

// defaultTemplates fills Templates and checks that it has every page.
func (c *Config) defaultTemplates() error {
	if c.Templates == nil {
		c.Templates = defaultTemplates()
	}
	for _, name := range []string{"accept", "message", "logout"} {
		if c.Templates.Lookup(name) == nil {
			return fmt.Errorf("authflow: Config.Templates has no template %q", name)
		}
	}
	return nil
}

// isAbsHTTP reports whether s is an absolute http(s) URL with a host.
func isAbsHTTP(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}
