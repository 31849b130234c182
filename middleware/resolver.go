package middleware

import (
	"fmt"
	"net"
	"net/http"
	"strings"
)

// OrgResolver finds the organization id a request is about. It returns an
// error wrapping ErrNoOrg when the request names none (400); any other
// error is treated as an internal failure (500).
type OrgResolver interface {
	OrgID(r *http.Request) (string, error)
}

// ResolverFunc adapts a function to OrgResolver, for example to map a
// slug to an organization id.
type ResolverFunc func(r *http.Request) (string, error)

// OrgID calls f(r).
func (f ResolverFunc) OrgID(r *http.Request) (string, error) { return f(r) }

// maxOrgIDLen bounds a resolved org id; longer values are refused as ErrNoOrg.
const maxOrgIDLen = 128

// checkOrgID refuses empty, over-long and control-character ids.
func checkOrgID(source, id string) (string, error) {
	if id == "" {
		return "", fmt.Errorf("%w (%s is empty)", ErrNoOrg, source)
	}
	if len(id) > maxOrgIDLen {
		return "", fmt.Errorf("%w (%s is too long)", ErrNoOrg, source)
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c < 0x21 || c == 0x7f {
			return "", fmt.Errorf("%w (%s has a space or control character)", ErrNoOrg, source)
		}
	}
	return id, nil
}

// PathValue resolves the organization from the route's path wildcard name,
// as in the ServeMux pattern "/orgs/{orgID}/…". chi fills r.PathValue too,
// but only once it has matched the route: with chi, attach the middleware
// to the route (r.With, or r.Use inside r.Route("/orgs/{orgID}", …)), not
// with r.Use on the top-level router, where the value is still empty.
func PathValue(name string) OrgResolver {
	source := "path value " + name
	return ResolverFunc(func(r *http.Request) (string, error) {
		return checkOrgID(source, r.PathValue(name))
	})
}

// Header resolves the organization from a request header, such as
// "X-Org-ID". Use it only for API clients; a browser can set any header on
// same-origin requests, so membership is still checked.
func Header(name string) OrgResolver {
	source := "header " + http.CanonicalHeaderKey(name)
	return ResolverFunc(func(r *http.Request) (string, error) {
		return checkOrgID(source, strings.TrimSpace(r.Header.Get(name)))
	})
}

// Subdomain resolves the organization from the first label of the host
// under baseDomain: with baseDomain "example.com", a request to
// "acme.example.com:8080" resolves to "acme". The host must be exactly one
// label under baseDomain (case-insensitive); the bare base domain and
// deeper names resolve to ErrNoOrg. Wrap it in a ResolverFunc to map the
// label to an organization id.
func Subdomain(baseDomain string) OrgResolver {
	base := "." + strings.Trim(strings.ToLower(baseDomain), ".")
	return ResolverFunc(func(r *http.Request) (string, error) {
		label, ok := subdomainLabel(r.Host, base)
		if !ok {
			return "", fmt.Errorf("%w (host is not a subdomain of %s)", ErrNoOrg, base[1:])
		}
		return checkOrgID("subdomain", label)
	})
}

// subdomainLabel returns the single label of host directly under base
// (base starts with a dot).
func subdomainLabel(host, base string) (string, bool) {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	label, ok := strings.CutSuffix(host, base)
	if !ok || label == "" || strings.Contains(label, ".") {
		return "", false
	}
	return label, true
}
