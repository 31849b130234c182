package mailer

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSanitizeHeaderText(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "Welcome to Acme", "Welcome to Acme"},
		{"crlf injection", "Ann\r\nBcc: evil@x", "Ann Bcc: evil@x"},
		{"bare lf", "Ann\nBcc: evil@x", "Ann Bcc: evil@x"},
		{"bare cr", "Ann\rBcc: evil@x", "Ann Bcc: evil@x"},
		{"nul and tab", "A\x00B\tC", "A B C"},
		{"unicode line separator", "Ann\u2028Bcc: x", "Ann Bcc: x"},
		{"next line", "Ann\u0085Bcc: x", "Ann Bcc: x"},
		{"collapse and trim", "  a   b  ", "a b"},
		{"invalid utf8", "a\xffb", "a b"},
		{"umlauts kept", "Jürgen Größe", "Jürgen Größe"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SanitizeHeaderText(tt.in); got != tt.want {
				t.Fatalf("SanitizeHeaderText(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
	t.Run("long value is cut", func(t *testing.T) {
		got := SanitizeHeaderText(strings.Repeat("ä", 1000))
		if n := utf8.RuneCountInString(got); n != maxHeaderText {
			t.Fatalf("got %d runes, want %d", n, maxHeaderText)
		}
	})
}

func TestParseAddress(t *testing.T) {
	tests := []struct {
		in       string
		wantErr  error
		wantAddr string
		wantName string
	}{
		{in: "ann@example.com", wantAddr: "ann@example.com"},
		{in: "Ann <ann@example.com>", wantAddr: "ann@example.com", wantName: "Ann"},
		{in: `"Acme, Inc." <noreply@acme.test>`, wantAddr: "noreply@acme.test", wantName: "Acme, Inc."},
		{in: "=?utf-8?q?Ann=0D=0ABcc=3A_x=40evil?= <ann@example.com>", wantAddr: "ann@example.com", wantName: "Ann Bcc: x@evil"},
		{in: "ann@example.com\r\nBcc: evil@x", wantErr: ErrHeaderInjection},
		{in: "Ann\r\n <ann@example.com>", wantErr: ErrHeaderInjection},
		{in: "ann@example.com, bob@example.com", wantErr: ErrBadAddress},
		{in: "not an address", wantErr: ErrBadAddress},
		{in: "", wantErr: ErrBadAddress},
		{in: "group: a@b.c, d@e.f;", wantErr: ErrBadAddress},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			a, err := ParseAddress(tt.in)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if a.Address != tt.wantAddr || a.Name != tt.wantName {
				t.Fatalf("got %q / %q, want %q / %q", a.Name, a.Address, tt.wantName, tt.wantAddr)
			}
		})
	}
}

func TestCheckHeader(t *testing.T) {
	tests := []struct {
		name, value string
		wantErr     error
	}{
		{"X-Invitekit-Kind", "invitation", nil},
		{"List-Unsubscribe", "<https://app.example/unsub>", nil},
		{"X-Evil", "a\r\nBcc: evil@x", ErrHeaderInjection},
		{"X-Evil\r\nBcc", "x", ErrHeaderInjection},
		{"X Space", "x", ErrHeaderInjection},
		{"", "x", ErrHeaderInjection},
		{"Bcc", "evil@x", ErrReservedHeader},
		{"subject", "override", ErrReservedHeader},
		{"Message-ID", "<x@y>", ErrReservedHeader},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkHeader(tt.name, tt.value)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("checkHeader(%q, %q) = %v, want %v", tt.name, tt.value, err, tt.wantErr)
			}
		})
	}
}

func TestCheckMessageID(t *testing.T) {
	for _, ok := range []string{"msg_01abc@invitekit", "a.b-c@host.example"} {
		if err := checkMessageID(ok); err != nil {
			t.Errorf("checkMessageID(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "noat", "@host", "left@", "a b@c", "a@b\r\nBcc: x", "<a@b>", "a@b>"} {
		if err := checkMessageID(bad); !errors.Is(err, ErrBadMessageID) {
			t.Errorf("checkMessageID(%q) = %v, want ErrBadMessageID", bad, err)
		}
	}
}

func FuzzSanitizeHeaderText(f *testing.F) {
	for _, s := range []string{"Ann\r\nBcc: evil@x", "a\u2028b", "\x00", "ümlaut", strings.Repeat("x", 300)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := SanitizeHeaderText(s)
		if hasControl(got) || strings.ContainsAny(got, "\r\n") {
			t.Fatalf("control character survived: %q → %q", s, got)
		}
		if !utf8.ValidString(got) {
			t.Fatalf("invalid UTF-8: %q", got)
		}
		if utf8.RuneCountInString(got) > maxHeaderText {
			t.Fatalf("too long: %d runes", utf8.RuneCountInString(got))
		}
		if got != strings.TrimSpace(got) || strings.Contains(got, "  ") {
			t.Fatalf("not trimmed/collapsed: %q", got)
		}
		if SanitizeHeaderText(got) != got {
			t.Fatalf("not idempotent: %q", got)
		}
	})
}

func FuzzParseAddress(f *testing.F) {
	for _, s := range []string{"ann@example.com", "Ann <ann@example.com>", "a@b\r\nBcc: c@d", "=?utf-8?q?A=0A?= <a@b.c>", `"x\"y" <a@b.c>`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAddress(s)
		if err != nil {
			if a != nil {
				t.Fatal("address returned with error")
			}
			return
		}
		if hasControl(a.Name) || hasControl(a.Address) {
			t.Fatalf("control character in %q / %q from %q", a.Name, a.Address, s)
		}
		if strings.ContainsAny(a.Address, " <>,;") || !strings.Contains(a.Address, "@") {
			t.Fatalf("bad address %q from %q", a.Address, s)
		}
		// What goes into the header must parse back to the same address.
		b, err := ParseAddress(a.String())
		if err != nil || b.Address != a.Address {
			t.Fatalf("round trip of %q: %v, %v", a.String(), b, err)
		}
	})
}

func FuzzNormalizeLocale(f *testing.F) {
	for _, s := range []string{"de-AT", "en_US", "../etc", "de/../../x", "x-1", "zh-Hant-TW", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := NormalizeLocale(s)
		if got == "" {
			return
		}
		if strings.ContainsAny(got, "/.\\_ ") || strings.ToLower(got) != got || len(got) > 35 {
			t.Fatalf("NormalizeLocale(%q) = %q: not a safe directory name", s, got)
		}
		if NormalizeLocale(got) != got {
			t.Fatalf("not idempotent: %q", got)
		}
		fb := localeFallbacks(got)
		if len(fb) == 0 || fb[0] != got || strings.Contains(fb[len(fb)-1], "-") {
			t.Fatalf("fallbacks of %q: %v", got, fb)
		}
	})
}
