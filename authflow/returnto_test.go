package authflow_test

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/invitekit/invitekit/authflow"
)

func TestCheckReturnTo(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"", true},
		{"/", true},
		{"/orgs/org_1/dashboard?tab=members#top", true},
		{"/a/../b", true},
		{"/%2F%2Fevil.com", true}, // a path on this site
		{"//evil.com", false},
		{"///evil.com", false},
		{"https://evil.com", false},
		{"http:/evil.com", false},
		{"javascript:alert(1)", false},
		{`/\evil.com`, false},
		{`\\evil.com`, false},
		{"/\t/evil.com", false},
		{"/\n/evil.com", false},
		{"/ /evil.com", false},
		{"/\x00", false},
		{"/\x7f", false},
		{"/é", false},
		{"evil.com", false},
		{"./x", false},
		{"?next=/", false},
		{"/" + strings.Repeat("a", 2048), false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			err := authflow.CheckReturnTo(tt.in)
			if (err == nil) != tt.ok {
				t.Fatalf("CheckReturnTo(%q) = %v, want ok=%v", tt.in, err, tt.ok)
			}
			var e *authflow.Error
			if err != nil && (!errors.As(err, &e) || e.Code != authflow.CodeReturnToInvalid || e.Field != "return_to" || e.Status != 400) {
				t.Fatalf("error %#v lacks code/field/status", err)
			}
		})
	}
}

// FuzzCheckReturnTo: whatever is accepted resolves to this site.
func FuzzCheckReturnTo(f *testing.F) {
	for _, s := range []string{"/", "//evil.com", `/\evil.com`, "https://evil.com", "/a?b=c#d", "/\t/x", "/%5cevil.com", "/.//evil.com"} {
		f.Add(s)
	}
	base, _ := url.Parse("https://app.example/some/page")
	f.Fuzz(func(t *testing.T, s string) {
		if authflow.CheckReturnTo(s) != nil || s == "" {
			return
		}
		u, err := url.Parse(s)
		if err != nil {
			t.Fatalf("accepted unparsable %q", s)
		}
		if r := base.ResolveReference(u); r.Host != "app.example" || r.Scheme != "https" {
			t.Fatalf("accepted %q resolves to %s", s, r)
		}
		if strings.ContainsAny(s, "\\\t\r\n ") || strings.HasPrefix(s, "//") {
			t.Fatalf("accepted %q", s)
		}
	})
}
