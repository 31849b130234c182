package mailer

import (
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

func TestSMTPConfigWithDefaults(t *testing.T) {
	base := SMTPConfig{Host: "smtp.example", From: "Acme <a@acme.example>"}
	with := func(f func(*SMTPConfig)) SMTPConfig {
		c := base
		f(&c)
		return c
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	tests := []struct {
		name    string
		in      SMTPConfig
		want    SMTPConfig // Logger is checked apart
		wantErr string
	}{
		{"zero values: STARTTLS on 587", base,
			with(func(c *SMTPConfig) {
				c.TLS, c.Port, c.Timeout, c.MaxConns, c.IdleTimeout = TLSStartTLS, 587, DefaultSMTPTimeout, DefaultSMTPMaxConns, DefaultSMTPIdleTimeout
			}), ""},
		{"implicit TLS: 465", with(func(c *SMTPConfig) { c.TLS = TLSImplicit }),
			with(func(c *SMTPConfig) {
				c.TLS, c.Port, c.Timeout, c.MaxConns, c.IdleTimeout = TLSImplicit, 465, DefaultSMTPTimeout, DefaultSMTPMaxConns, DefaultSMTPIdleTimeout
			}), ""},
		{"opportunistic: 587", with(func(c *SMTPConfig) { c.TLS = InsecureTLSOpportunistic }),
			with(func(c *SMTPConfig) {
				c.TLS, c.Port, c.Timeout, c.MaxConns, c.IdleTimeout = InsecureTLSOpportunistic, 587, DefaultSMTPTimeout, DefaultSMTPMaxConns, DefaultSMTPIdleTimeout
			}), ""},
		{"none: 25", with(func(c *SMTPConfig) { c.TLS = InsecureTLSNone }),
			with(func(c *SMTPConfig) {
				c.TLS, c.Port, c.Timeout, c.MaxConns, c.IdleTimeout = InsecureTLSNone, 25, DefaultSMTPTimeout, DefaultSMTPMaxConns, DefaultSMTPIdleTimeout
			}), ""},
		{"set values kept", with(func(c *SMTPConfig) {
			c.TLS, c.Port, c.Timeout, c.MaxConns, c.IdleTimeout, c.HELO, c.Logger = InsecureTLSNone, 1025, time.Second, 9, time.Minute, "app.example", logger
		}), with(func(c *SMTPConfig) {
			c.TLS, c.Port, c.Timeout, c.MaxConns, c.IdleTimeout, c.HELO = InsecureTLSNone, 1025, time.Second, 9, time.Minute, "app.example"
		}), ""},
		{"no host", with(func(c *SMTPConfig) { c.Host = " " }), SMTPConfig{}, "Host is required"},
		{"host with a line break", with(func(c *SMTPConfig) { c.Host = "smtp.example\r\nx" }), SMTPConfig{}, "Host: mailer: header value contains a line break"},
		{"no from", with(func(c *SMTPConfig) { c.From = "" }), SMTPConfig{}, "From"},
		{"two senders", with(func(c *SMTPConfig) { c.From = "a@b.c, d@e.f" }), SMTPConfig{}, "From"},
		{"negative port", with(func(c *SMTPConfig) { c.Port = -1 }), SMTPConfig{}, "must not be negative"},
		{"port too large", with(func(c *SMTPConfig) { c.Port = 65536 }), SMTPConfig{}, "must not be negative"},
		{"negative timeout", with(func(c *SMTPConfig) { c.Timeout = -time.Second }), SMTPConfig{}, "must not be negative"},
		{"negative max conns", with(func(c *SMTPConfig) { c.MaxConns = -1 }), SMTPConfig{}, "must not be negative"},
		{"negative idle timeout", with(func(c *SMTPConfig) { c.IdleTimeout = -1 }), SMTPConfig{}, "must not be negative"},
		{"HELO with a space", with(func(c *SMTPConfig) { c.HELO = "a b" }), SMTPConfig{}, "HELO"},
		{"HELO with a line break", with(func(c *SMTPConfig) { c.HELO = "a\r\nRCPT TO:<x@y>" }), SMTPConfig{}, "HELO"},
		{"unknown TLS mode", with(func(c *SMTPConfig) { c.TLS = "sometimes" }), SMTPConfig{}, `unknown TLS mode "sometimes"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.in.withDefaults()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Logger == nil || (tt.in.Logger != nil && got.Logger != tt.in.Logger) {
				t.Errorf("Logger = %v, want the given one or a discarding one", got.Logger)
			}
			got.Logger, tt.want.Logger = nil, nil
			if got != tt.want {
				t.Errorf("withDefaults =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestSMTPConfigTLSConfig(t *testing.T) {
	c := SMTPConfig{Host: "smtp.example"}
	if got := c.tlsConfig(); got.MinVersion != tls.VersionTLS12 || got.ServerName != "smtp.example" {
		t.Errorf("default tls.Config: min version %x, server name %q", got.MinVersion, got.ServerName)
	}
	own := &tls.Config{ServerName: "mx.example", MinVersion: tls.VersionTLS13}
	c.TLSConfig = own
	got := c.tlsConfig()
	if got == own || got.ServerName != "mx.example" || got.MinVersion != tls.VersionTLS13 {
		t.Errorf("own tls.Config: not cloned or changed: %p %p %q %x", got, own, got.ServerName, got.MinVersion)
	}
	c.TLSConfig = &tls.Config{}
	if got := c.tlsConfig(); got.MinVersion != tls.VersionTLS12 || got.ServerName != "smtp.example" || c.TLSConfig.ServerName != "" {
		t.Errorf("empty own tls.Config: %x %q; the caller's changed: %q", got.MinVersion, got.ServerName, c.TLSConfig.ServerName)
	}
}

// TestNewSMTPDoesNotDial: NewSMTP returns without touching the network,
// for a listening server (no connection arrives) and for a host that does
// not resolve.
func TestNewSMTPDoesNotDial(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	for _, mode := range []TLSMode{TLSStartTLS, TLSImplicit, InsecureTLSOpportunistic, InsecureTLSNone} {
		m, err := NewSMTP(SMTPConfig{Host: "127.0.0.1", Port: port, From: "a@b.example", TLS: mode, Username: "u", Password: "p"})
		if err != nil {
			t.Fatalf("%s: %v", mode, err)
		}
		m.Close()
	}
	// A dial would have completed the TCP handshake into the backlog by
	// now, so Accept would return at once.
	l.(*net.TCPListener).SetDeadline(time.Now().Add(100 * time.Millisecond))
	if c, err := l.Accept(); err == nil {
		c.Close()
		t.Fatal("NewSMTP connected to the server")
	} else if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
		t.Fatal(err)
	}
	if _, err := NewSMTP(SMTPConfig{Host: "smtp.does-not-exist.invalid", From: "a@b.example"}); err != nil {
		t.Fatalf("NewSMTP resolved or dialed the host: %v", err)
	}
}

func TestDispatcherConfigWithDefaults(t *testing.T) {
	defaults := DispatcherConfig{
		Concurrency: DefaultConcurrency, BatchSize: DefaultBatchSize, Burst: 1, MaxAttempts: DefaultMaxAttempts,
		BaseBackoff: DefaultBaseBackoff, MaxBackoff: DefaultMaxBackoff, Lease: DefaultLease,
		PollInterval: DefaultPollInterval, SendTimeout: DefaultSendTimeout, ShutdownTimeout: DefaultShutdownTimeout,
	}
	with := func(c DispatcherConfig, f func(*DispatcherConfig)) DispatcherConfig {
		f(&c)
		return c
	}
	set := DispatcherConfig{
		Concurrency: 2, BatchSize: 5, RateLimit: 2.5, Burst: 3, MaxAttempts: 4, BaseBackoff: time.Second,
		MaxBackoff: time.Minute, Lease: time.Hour, PollInterval: time.Millisecond, SendTimeout: time.Minute, ShutdownTimeout: time.Second,
	}
	tests := []struct {
		name    string
		in      DispatcherConfig
		want    DispatcherConfig // funcs and Logger are checked apart
		wantErr string
	}{
		{"zero value", DispatcherConfig{}, defaults, ""},
		{"set values kept", set, set, ""},
		{"SendTimeout defaults to Lease/2 for a short lease", DispatcherConfig{Lease: time.Minute},
			with(defaults, func(c *DispatcherConfig) { c.Lease, c.SendTimeout = time.Minute, 30*time.Second }), ""},
		{"MaxBackoff at least BaseBackoff", DispatcherConfig{BaseBackoff: 2 * time.Hour},
			with(defaults, func(c *DispatcherConfig) { c.BaseBackoff, c.MaxBackoff = 2*time.Hour, 2*time.Hour }), ""},
		{"Lease not longer than SendTimeout", DispatcherConfig{Lease: time.Second, SendTimeout: time.Second}, DispatcherConfig{}, "Lease (1s) must be longer than SendTimeout (1s)"},
		{"SendTimeout beyond the default Lease", DispatcherConfig{SendTimeout: time.Hour}, DispatcherConfig{}, "must be longer than SendTimeout"},
		{"negative Concurrency", DispatcherConfig{Concurrency: -1}, DispatcherConfig{}, "Concurrency must not be negative"},
		{"negative BatchSize", DispatcherConfig{BatchSize: -1}, DispatcherConfig{}, "BatchSize must not be negative"},
		{"negative RateLimit", DispatcherConfig{RateLimit: -0.5}, DispatcherConfig{}, "RateLimit must not be negative"},
		{"negative Burst", DispatcherConfig{Burst: -1}, DispatcherConfig{}, "Burst must not be negative"},
		{"negative MaxAttempts", DispatcherConfig{MaxAttempts: -1}, DispatcherConfig{}, "MaxAttempts must not be negative"},
		{"negative BaseBackoff", DispatcherConfig{BaseBackoff: -1}, DispatcherConfig{}, "BaseBackoff must not be negative"},
		{"negative MaxBackoff", DispatcherConfig{MaxBackoff: -1}, DispatcherConfig{}, "MaxBackoff must not be negative"},
		{"negative Lease", DispatcherConfig{Lease: -1}, DispatcherConfig{}, "Lease must not be negative"},
		{"negative PollInterval", DispatcherConfig{PollInterval: -1}, DispatcherConfig{}, "PollInterval must not be negative"},
		{"negative SendTimeout", DispatcherConfig{SendTimeout: -1}, DispatcherConfig{}, "SendTimeout must not be negative"},
		{"negative ShutdownTimeout", DispatcherConfig{ShutdownTimeout: -1}, DispatcherConfig{}, "ShutdownTimeout must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.in.withDefaults()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Now == nil || got.Jitter == nil || got.Logger == nil {
				t.Fatalf("Now, Jitter or Logger left nil: %+v", got)
			}
			got.Now, got.Jitter, got.Logger, got.OnDead = nil, nil, nil, nil
			if !equalDispatcherConfig(got, tt.want) {
				t.Errorf("withDefaults =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
	t.Run("given funcs kept", func(t *testing.T) {
		fixed := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		got, err := DispatcherConfig{Now: func() time.Time { return fixed }, Jitter: func(time.Duration) time.Duration { return 7 }}.withDefaults()
		if err != nil || !got.Now().Equal(fixed) || got.Jitter(time.Hour) != 7 {
			t.Fatalf("withDefaults: %v; Now %v, Jitter %v", err, got.Now(), got.Jitter(time.Hour))
		}
	})
}

// equalDispatcherConfig compares the value fields (the struct holds funcs).
func equalDispatcherConfig(a, b DispatcherConfig) bool {
	type values struct {
		Concurrency, BatchSize, Burst, MaxAttempts                                 int
		RateLimit                                                                  float64
		BaseBackoff, MaxBackoff, Lease, PollInterval, SendTimeout, ShutdownTimeout time.Duration
	}
	v := func(c DispatcherConfig) values {
		return values{c.Concurrency, c.BatchSize, c.Burst, c.MaxAttempts, c.RateLimit,
			c.BaseBackoff, c.MaxBackoff, c.Lease, c.PollInterval, c.SendTimeout, c.ShutdownTimeout}
	}
	return v(a) == v(b)
}

func TestFullJitter(t *testing.T) {
	for _, max := range []time.Duration{-1, 0} {
		if got := fullJitter(max); got != 0 {
			t.Errorf("fullJitter(%v) = %v, want 0", max, got)
		}
	}
	seen := map[time.Duration]bool{}
	for range 2000 {
		j := fullJitter(3)
		if j < 0 || j > 3 {
			t.Fatalf("fullJitter(3) = %v, out of [0, 3]", j)
		}
		seen[j] = true
	}
	if len(seen) != 4 {
		t.Errorf("fullJitter(3) gave %v over 2000 draws, want all of 0..3", seen)
	}
}

func TestHeldByTemplates(t *testing.T) {
	te := &TemplateError{Kind: "invitation", Locale: "en", Part: "text", File: "en/invitation.txt", Err: errors.New("x"), reason: "x"}
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{te, true},
		{Permanent(te), true},
		{ErrUnknownKind, true},
		{ErrMissingLink, false},
		{Permanent(errors.New("550 no such user")), false},
		{errors.New("connection refused"), false},
	} {
		if got := heldByTemplates(tt.err); got != tt.want {
			t.Errorf("heldByTemplates(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
