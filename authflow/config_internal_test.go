package authflow

import (
	"context"
	"html/template"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// TestWithDefaults: withDefaults fills every zero field, keeps what is set
// and refuses what cannot work, without any I/O (the issuers here do not
// exist).
func TestWithDefaults(t *testing.T) {
	base := Config{Issuer: "https://idp.invalid/", ClientID: "app", RedirectURL: "https://app.example/auth/cb"}
	with := func(mod func(*Config)) Config { c := base; mod(&c); return c }
	static := func() *oidc.Provider { // no discovery document
		pc := oidc.ProviderConfig{IssuerURL: "https://static.invalid/", AuthURL: "https://static.invalid/auth"}
		return pc.NewProvider(context.Background())
	}
	custom := template.Must(template.New("accept").Parse("a"))
	template.Must(custom.New("message").Parse("m"))
	template.Must(custom.New("logout").Parse("l"))
	client := &http.Client{}

	tests := []struct {
		name    string
		in      Config
		wantErr string
		check   func(t *testing.T, c Config)
	}{
		{name: "defaults", in: base, check: func(t *testing.T, c Config) {
			if c.LoginPath != "/login" || c.CallbackPath != "/auth/cb" || c.AcceptPath != "/accept" || c.LogoutPath != "/logout" {
				t.Errorf("paths %q %q %q %q", c.LoginPath, c.CallbackPath, c.AcceptPath, c.LogoutPath)
			}
			if c.DashboardURL != "/" || c.LoginTTL != 10*time.Minute || c.HTTPClient == nil || c.HTTPClient.Timeout != 30*time.Second {
				t.Errorf("dashboard %q, TTL %v, client %+v", c.DashboardURL, c.LoginTTL, c.HTTPClient)
			}
			if c.Now == nil || c.Logger == nil || c.Templates == nil || c.Templates.Lookup("accept") == nil {
				t.Error("Now, Logger or Templates not set")
			}
			if !slices.Equal(c.Scopes, []string{"openid", "profile", "email"}) {
				t.Errorf("scopes %v", c.Scopes)
			}
			if c.Issuer != "https://idp.invalid/" {
				t.Errorf("issuer %q", c.Issuer)
			}
		}},
		{name: "set fields are kept", in: with(func(c *Config) {
			c.LoginPath, c.CallbackPath, c.AcceptPath, c.LogoutPath = "/in", "/cb", "/join", "/out"
			c.DashboardURL, c.LoginTTL, c.HTTPClient, c.Templates = "/orgs/{orgID}", time.Minute, client, custom
			c.EndSessionRedirect, c.EndSessionEndpoint = "https://app.example/bye", "https://idp.invalid/end"
		}), check: func(t *testing.T, c Config) {
			if c.LoginPath != "/in" || c.CallbackPath != "/cb" || c.AcceptPath != "/join" || c.LogoutPath != "/out" {
				t.Errorf("paths %q %q %q %q", c.LoginPath, c.CallbackPath, c.AcceptPath, c.LogoutPath)
			}
			if c.DashboardURL != "/orgs/{orgID}" || c.LoginTTL != time.Minute || c.HTTPClient != client || c.Templates != custom {
				t.Error("a set field was replaced")
			}
		}},
		{name: "callback path without RedirectURL path", in: with(func(c *Config) { c.RedirectURL = "https://app.example" }),
			check: func(t *testing.T, c Config) {
				if c.CallbackPath != DefaultCallbackPath {
					t.Errorf("callback path %q", c.CallbackPath)
				}
			}},
		{name: "openid added, offline_access appended once", in: with(func(c *Config) {
			c.Scopes, c.OfflineAccess = []string{"email"}, true
		}), check: func(t *testing.T, c Config) {
			if !slices.Equal(c.Scopes, []string{"openid", "email", "offline_access"}) {
				t.Errorf("scopes %v", c.Scopes)
			}
		}},
		{name: "static provider without document keeps Issuer", in: with(func(c *Config) { c.Provider = static() }),
			check: func(t *testing.T, c Config) {
				if c.Issuer != "https://idp.invalid/" {
					t.Errorf("issuer %q", c.Issuer)
				}
			}},
		{name: "static provider, no Issuer", in: with(func(c *Config) { c.Provider, c.Issuer = static(), "" }),
			check: func(t *testing.T, c Config) {
				if c.Issuer != "" {
					t.Errorf("issuer %q", c.Issuer)
				}
			}},
		{name: "no client id", in: with(func(c *Config) { c.ClientID = "" }), wantErr: "Config.ClientID is required"},
		{name: "relative redirect", in: with(func(c *Config) { c.RedirectURL = "/cb" }), wantErr: "Config.RedirectURL"},
		{name: "ftp redirect", in: with(func(c *Config) { c.RedirectURL = "ftp://app.example/cb" }), wantErr: "Config.RedirectURL"},
		{name: "no provider nor issuer", in: with(func(c *Config) { c.Issuer = "" }), wantErr: "Config.Provider or Config.Issuer"},
		{name: "issuer without scheme", in: with(func(c *Config) { c.Issuer = "idp.example.com" }), wantErr: "Config.Issuer must be an absolute"},
		{name: "relative end session endpoint", in: with(func(c *Config) { c.EndSessionEndpoint = "/end" }), wantErr: "Config.EndSessionEndpoint"},
		{name: "path without slash", in: with(func(c *Config) { c.LogoutPath = "logout" }), wantErr: "Config.LogoutPath"},
		{name: "path with pattern", in: with(func(c *Config) { c.AcceptPath = "/accept/{id}" }), wantErr: "Config.AcceptPath"},
		{name: "path of RedirectURL with query char", in: with(func(c *Config) { c.RedirectURL = "https://app.example/a%3Fb" }), wantErr: "Config.CallbackPath"},
		{name: "absolute dashboard", in: with(func(c *Config) { c.DashboardURL = "https://evil.example/" }), wantErr: "Config.DashboardURL"},
		{name: "protocol-relative dashboard", in: with(func(c *Config) { c.DashboardURL = "//evil.example" }), wantErr: "Config.DashboardURL"},
		{name: "relative end session redirect", in: with(func(c *Config) { c.EndSessionRedirect = "/bye" }), wantErr: "Config.EndSessionRedirect"},
		{name: "negative login TTL", in: with(func(c *Config) { c.LoginTTL = -1 }), wantErr: "Config.LoginTTL"},
		{name: "templates missing logout", in: with(func(c *Config) {
			c.Templates = template.Must(template.Must(template.New("accept").Parse("a")).New("message").Parse("m"))
		}), wantErr: `no template "logout"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			got, err := tt.in.withDefaults()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "authflow: ") {
					t.Fatalf("err = %v, want one mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, got)
			if in.LoginPath != tt.in.LoginPath || in.HTTPClient != tt.in.HTTPClient {
				t.Fatal("withDefaults changed its receiver")
			}
		})
	}
}

// TestWithDefaultsIssuerFromDocument: with a Provider that has a discovery
// document, the issuer it names is the one the callback's iss must match.
func TestWithDefaultsIssuerFromDocument(t *testing.T) {
	srv := newDocServer(t, "")
	p, err := oidc.NewProvider(context.Background(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Config{Provider: p, Issuer: "https://other.invalid/", ClientID: "app", RedirectURL: "https://app.example/cb"}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if c.Issuer != srv.URL {
		t.Fatalf("issuer %q, want the document's %q", c.Issuer, srv.URL)
	}
}
