package invite_test

import (
	"net/mail"
	"strings"
	"testing"

	"github.com/go-playground/validator/v10"

	"github.com/invitekit/invitekit/invite"
)

func TestNormalizeEmail(t *testing.T) {
	valid := map[string]string{
		"ann@example.com":                  "ann@example.com",
		"  Ann.Lee@Example.COM\t":          "ann.lee@example.com",
		"ANN+tag@sub.Example.co.uk":        "ann+tag@sub.example.co.uk",
		"o'brien@example.ie":               "o'brien@example.ie",
		"a_b-c@xn--bcher-kva.example":      "a_b-c@xn--bcher-kva.example",
		"x@a-b.io":                         "x@a-b.io",
		"ann@example.com\r\n":              "ann@example.com", // surrounding white space is trimmed
		strings.Repeat("a", 64) + "@x.com": strings.Repeat("a", 64) + "@x.com",
	}
	for in, want := range valid {
		got, err := invite.NormalizeEmail(in)
		if err != nil || got != want {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	invalid := []string{
		"",
		"   ",
		"plainaddress",
		"@example.com",
		"ann@",
		"ann@example",
		"ann@@example.com",
		"ann@x@example.com",
		"Ann Lee <ann@example.com>",
		"<ann@example.com>",
		"\"ann\"@example.com",
		"ann@example.com\r\nBcc: evil@example.com",
		"ann\x00@example.com",
		"ann lee@example.com",
		"ann@exa mple.com",
		".ann@example.com",
		"ann.@example.com",
		"an..n@example.com",
		"ann@-example.com",
		"ann@example-.com",
		"ann@example..com",
		"ann@.example.com",
		"ann@example.com.",
		"ann@example.c0m1",
		"ann@127.0.0.1",
		"ann@[127.0.0.1]",
		"ann(comment)@example.com",
		"anné@example.com",
		"ann@bücher.example",
		strings.Repeat("a", 65) + "@x.com",
		"a@" + strings.Repeat("b", 64) + ".com",
		"a@" + strings.Repeat("bbbbbbbbb.", 26) + "com",
	}
	for _, in := range invalid {
		got, err := invite.NormalizeEmail(in)
		if err == nil {
			t.Errorf("NormalizeEmail(%q) = %q, want an error", in, got)
			continue
		}
		if code, field := errorCode(err); code != invite.CodeInvalidArgument || field != "email" {
			t.Errorf("NormalizeEmail(%q) error code/field = %q/%q", in, code, field)
		}
		if len(in) > 3 && strings.Contains(err.Error(), in) {
			t.Errorf("error echoes the input: %v", err)
		}
	}
}

// FuzzNormalizeEmail checks that NormalizeEmail never panics and that what
// it accepts is canonical, idempotent, a bare RFC 5322 address, and valid
// for validator/v10's "email" rule.
func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{
		"ann@example.com", " Ann@Example.COM ", "a+b@x.io", "Ann <a@x.com>", "a@b@c.com",
		"a@x.com\r\n", "\"q\"@x.com", "=?utf-8?q?a?=@x.com", "a..b@x.com", "a@x.c0m", "ä@x.com", "",
	} {
		f.Add(s)
	}
	v := validator.New()
	f.Fuzz(func(t *testing.T, in string) {
		out, err := invite.NormalizeEmail(in)
		if err != nil {
			if code, field := errorCode(err); code != invite.CodeInvalidArgument || field != "email" {
				t.Fatalf("error %v has code/field %q/%q", err, code, field)
			}
			return
		}
		if out != strings.ToLower(out) || strings.TrimSpace(out) != out || len(out) > 254 || strings.Count(out, "@") != 1 {
			t.Fatalf("NormalizeEmail(%q) = %q is not canonical", in, out)
		}
		for _, c := range []byte(out) {
			if c < 0x21 || c > 0x7e {
				t.Fatalf("NormalizeEmail(%q) = %q has byte %#x", in, out, c)
			}
		}
		again, err := invite.NormalizeEmail(out)
		if err != nil || again != out {
			t.Fatalf("not idempotent: %q → %q → %q, %v", in, out, again, err)
		}
		addr, err := mail.ParseAddress(out)
		if err != nil || addr.Name != "" || addr.Address != out {
			t.Fatalf("net/mail disagrees on %q: %+v, %v", out, addr, err)
		}
		if err := v.Var(out, "email"); err != nil {
			t.Fatalf("validator rejects %q: %v", out, err)
		}
	})
}
