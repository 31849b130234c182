package authflow

import (
	"strings"
	"testing"
	"time"
)

// TestWithDefaultsTokenRules: the ID-token tolerances default to 2 and 10
// minutes, MaxAuthAge is rounded up to what max_age can say (whole
// seconds), and bad values are refused.
func TestWithDefaultsTokenRules(t *testing.T) {
	base := Config{Issuer: "https://idp.invalid/", ClientID: "app", RedirectURL: "https://app.example/auth/cb"}
	c, err := base.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if c.ClockSkew != 2*time.Minute || c.IDTokenMaxAge != 10*time.Minute || c.MaxAuthAge != 0 || c.TrustedEmailIssuers != nil {
		t.Errorf("defaults: skew %v, max age %v, max auth age %v, trusted %v", c.ClockSkew, c.IDTokenMaxAge, c.MaxAuthAge, c.TrustedEmailIssuers)
	}

	set := base
	set.ClockSkew, set.IDTokenMaxAge, set.MaxAuthAge = 30*time.Second, time.Hour, 90*time.Second+time.Millisecond
	set.TrustedEmailIssuers = []string{"https://idp.invalid/"}
	if c, err = set.withDefaults(); err != nil {
		t.Fatal(err)
	}
	if c.ClockSkew != 30*time.Second || c.IDTokenMaxAge != time.Hour || c.MaxAuthAge != 91*time.Second {
		t.Errorf("set: skew %v, max age %v, max auth age %v", c.ClockSkew, c.IDTokenMaxAge, c.MaxAuthAge)
	}
	set.TrustedEmailIssuers[0] = "changed"
	if c.TrustedEmailIssuers[0] != "https://idp.invalid/" {
		t.Error("TrustedEmailIssuers shares the caller's slice")
	}
	none := base
	none.TrustedEmailIssuers = []string{}
	if c, err = none.withDefaults(); err != nil || c.TrustedEmailIssuers == nil || len(c.TrustedEmailIssuers) != 0 {
		t.Errorf("empty TrustedEmailIssuers must stay empty (trust none): %v %v", c.TrustedEmailIssuers, err)
	}

	for _, tt := range []struct {
		mod  func(*Config)
		want string
	}{
		{func(c *Config) { c.ClockSkew = -time.Second }, "Config.ClockSkew"},
		{func(c *Config) { c.IDTokenMaxAge = -time.Second }, "Config.IDTokenMaxAge"},
		{func(c *Config) { c.MaxAuthAge = -time.Second }, "Config.MaxAuthAge"},
		{func(c *Config) { c.TrustedEmailIssuers = []string{""} }, "Config.TrustedEmailIssuers"},
		{func(c *Config) { c.TrustedEmailIssuers = []string{"https://idp\n.invalid/"} }, "Config.TrustedEmailIssuers"},
	} {
		c := base
		tt.mod(&c)
		if _, err := c.withDefaults(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("err = %v, want one naming %s", err, tt.want)
		}
	}
}
