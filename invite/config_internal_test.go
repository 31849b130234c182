package invite

import (
	"strings"
	"testing"
	"time"
)

func TestConfigWithDefaults(t *testing.T) {
	key := make([]byte, 32)
	base := func(mutate func(*Config)) Config {
		c := Config{SecretKey: key, AcceptURL: "https://app.example.com/accept"}
		if mutate != nil {
			mutate(&c)
		}
		return c
	}
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
		check   func(t *testing.T, c Config)
	}{
		{name: "defaults", cfg: base(nil), check: func(t *testing.T, c Config) {
			if strings.Join(c.Roles, ",") != "admin,member" || strings.Join(c.DefaultRoles, ",") != "member" || c.AdminRole != "admin" {
				t.Errorf("roles %v default %v admin %q", c.Roles, c.DefaultRoles, c.AdminRole)
			}
			if c.InviteTTL != DefaultInviteTTL || c.EnvironmentID != "env_default" || c.DefaultLocale != "en" || c.Now == nil || c.Logger == nil {
				t.Errorf("defaults not filled: %+v", c)
			}
		}},
		{name: "no member role: admin is the default role", cfg: base(func(c *Config) { c.Roles = []string{"admin", "viewer"} }), check: func(t *testing.T, c Config) {
			if strings.Join(c.DefaultRoles, ",") != "admin" {
				t.Errorf("default roles %v", c.DefaultRoles)
			}
		}},
		{name: "custom ttl kept", cfg: base(func(c *Config) { c.InviteTTL = time.Hour }), check: func(t *testing.T, c Config) {
			if c.InviteTTL != time.Hour {
				t.Errorf("ttl %v", c.InviteTTL)
			}
		}},
		{name: "short key", cfg: base(func(c *Config) { c.SecretKey = key[:31] }), wantErr: "SecretKey"},
		{name: "no accept url", cfg: base(func(c *Config) { c.AcceptURL = "" }), wantErr: "AcceptURL is required"},
		{name: "relative accept url", cfg: base(func(c *Config) { c.AcceptURL = "/accept" }), wantErr: "absolute http(s)"},
		{name: "accept url with fragment", cfg: base(func(c *Config) { c.AcceptURL = "https://a.example/x#f" }), wantErr: "fragment"},
		{name: "bad role name", cfg: base(func(c *Config) { c.Roles = []string{"admin", "Bad Role"} }), wantErr: "invalid role name"},
		{name: "duplicate role", cfg: base(func(c *Config) { c.Roles = []string{"admin", "admin"} }), wantErr: "duplicate role"},
		{name: "admin role not in roles", cfg: base(func(c *Config) { c.AdminRole = "owner" }), wantErr: "AdminRole"},
		{name: "default role not in roles", cfg: base(func(c *Config) { c.DefaultRoles = []string{"guest"} }), wantErr: "DefaultRoles"},
		{name: "negative ttl", cfg: base(func(c *Config) { c.InviteTTL = -time.Second }), wantErr: "InviteTTL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.cfg.withDefaults()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, got)
		})
	}
	// The result shares no slice with the caller's Config.
	roles := []string{"admin", "member"}
	got, err := base(func(c *Config) { c.Roles = roles }).withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	roles[0] = "changed"
	if got.Roles[0] != "admin" {
		t.Error("withDefaults kept the caller's Roles slice")
	}
}
