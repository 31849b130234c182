package middleware

import (
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/invitekit/invitekit/store"
)

// OrgResolver finds the organization id a request is about. It returns an
// error wrapping ErrNoOrg when the request names none (400); any other
// error is treated as an internal failure (500). The built-in resolvers
// refuse a value that breaks the kit's text rule (store.TextProblem: NUL,
// invalid UTF-8, control characters) or has a space, or is longer than
// 128 bytes, with an error that wraps ErrNoOrg and a *store.FieldError
// naming the source (400 malformed_request, field "orgID" for
// PathValue("orgID")): no store ever sees such an id.
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

// checkOrgID refuses empty ids, and ids that break the text rule, have a
// space or are over-long; field names the input in the refusal.
func checkOrgID(source, field, id string) (string, error) {
	if id == "" {
		return "", fmt.Errorf("%w (%s is empty)", ErrNoOrg, source)
	}
	bad := func(format string, args ...any) (string, error) {
		return "", fmt.Errorf("%w: %w", ErrNoOrg, store.Malformed(field, format, args...))
	}
	if len(id) > maxOrgIDLen {
		return bad("%s must be at most %d bytes", field, maxOrgIDLen)
	}
	if p := store.TextProblem(id, 0, store.TextLine); p != "" {
		return bad("%s %s", field, p)
	}
	if strings.Contains(id, " ") {
		return bad("%s must not contain spaces", field)
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
		return checkOrgID(source, name, r.PathValue(name))
	})
}

// Header resolves the organization from a request header, such as
// "X-Org-ID". Use it only for API clients; a browser can set any header on
// same-origin requests, so membership is still checked.
func Header(name string) OrgResolver {
	field := http.CanonicalHeaderKey(name)
	source := "header " + field
	return ResolverFunc(func(r *http.Request) (string, error) {
		return checkOrgID(source, field, strings.Trim(r.Header.Get(name), " \t")) // HTTP's optional white space
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
		if p := store.TextProblem(r.Host, 0, store.TextLine); p != "" { // before lowercasing would replace it
			return "", fmt.Errorf("%w: %w", ErrNoOrg, store.Malformed("host", "host %s", p))
		}
		label, ok := subdomainLabel(r.Host, base)
		if !ok {
			return "", fmt.Errorf("%w (host is not a subdomain of %s)", ErrNoOrg, base[1:])
		}
		return checkOrgID("subdomain", "host", label)
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
