package middleware_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/invitekit/invitekit/middleware"
)

func TestResolvers(t *testing.T) {
	tests := []struct {
		name     string
		resolver middleware.OrgResolver
		host     string
		header   string
		path     string // value of the {orgID} wildcard
		want     string
		noOrg    bool
	}{
		{name: "path", resolver: middleware.PathValue("orgID"), path: "org_1", want: "org_1"},
		{name: "path missing", resolver: middleware.PathValue("orgID"), noOrg: true},
		{name: "path with control char", resolver: middleware.PathValue("orgID"), path: "org\x00x", noOrg: true},
		{name: "path too long", resolver: middleware.PathValue("orgID"), path: strings.Repeat("a", 129), noOrg: true},
		{name: "header", resolver: middleware.Header("X-Org-ID"), header: " org_2 ", want: "org_2"},
		{name: "header missing", resolver: middleware.Header("X-Org-ID"), noOrg: true},
		{name: "header with space inside", resolver: middleware.Header("X-Org-ID"), header: "org 2", noOrg: true},
		{name: "subdomain", resolver: middleware.Subdomain("example.com"), host: "acme.example.com", want: "acme"},
		{name: "subdomain with port and case", resolver: middleware.Subdomain(".Example.COM."), host: "ACME.example.com:8443", want: "acme"},
		{name: "subdomain trailing dot", resolver: middleware.Subdomain("example.com"), host: "acme.example.com.", want: "acme"},
		{name: "bare base domain", resolver: middleware.Subdomain("example.com"), host: "example.com", noOrg: true},
		{name: "two labels deep", resolver: middleware.Subdomain("example.com"), host: "a.b.example.com", noOrg: true},
		{name: "other domain", resolver: middleware.Subdomain("example.com"), host: "acme.evil.com", noOrg: true},
		{name: "suffix trick", resolver: middleware.Subdomain("example.com"), host: "acmeexample.com", noOrg: true},
		{name: "func", resolver: middleware.ResolverFunc(func(r *http.Request) (string, error) { return "org_f", nil }), want: "org_f"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			if tt.host != "" {
				r.Host = tt.host
			}
			if tt.header != "" {
				r.Header.Set("X-Org-ID", tt.header)
			}
			if tt.path != "" {
				r.SetPathValue("orgID", tt.path)
			}
			got, err := tt.resolver.OrgID(r)
			if tt.noOrg {
				if !errors.Is(err, middleware.ErrNoOrg) {
					t.Fatalf("got %q, %v; want ErrNoOrg", got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func FuzzSubdomain(f *testing.F) {
	for _, h := range []string{"acme.example.com", "example.com", "a.b.example.com:80", "[::1]:80", "ACME.EXAMPLE.COM.", ".example.com", ""} {
		f.Add(h)
	}
	res := middleware.Subdomain("example.com")
	f.Fuzz(func(t *testing.T, host string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.Host = host
		got, err := res.OrgID(r)
		if err != nil {
			if !errors.Is(err, middleware.ErrNoOrg) || got != "" {
				t.Fatalf("%q: got %q, %v", host, got, err)
			}
			return
		}
		if got == "" || strings.ContainsAny(got, ". :/\\") || strings.ToLower(got) != got || len(got) > 128 {
			t.Fatalf("%q resolved to bad label %q", host, got)
		}
		if !strings.Contains(strings.ToLower(host), got+".example.com") {
			t.Fatalf("%q resolved to %q, not a label of the host", host, got)
		}
	})
}
