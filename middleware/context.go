package middleware

import (
	"context"

	"github.com/invitekit/invitekit/store"
)

// Member is the signed-in user together with their ACTIVE membership in
// the request's organization.
type Member struct {
	User       store.User
	Membership store.Membership
}

// OrganizationID returns the organization the membership belongs to.
func (m Member) OrganizationID() string { return m.Membership.OrganizationID }

// HasRole reports whether the member has the named role.
func (m Member) HasRole(name string) bool { return m.Membership.HasRole(name) }

// memberKey is the unexported context key for the checked Member; no other
// package can create it, so the value cannot be forged.
type memberKey struct{}

// WithMember returns a copy of ctx carrying m, for tests of handlers that
// read MemberFromContext. The middleware sets it itself.
func WithMember(ctx context.Context, m Member) context.Context {
	return context.WithValue(ctx, memberKey{}, &m)
}

// MemberFromContext returns the member put there by RequireMember or
// RequireRole. ok is false outside those middlewares. It never panics.
func MemberFromContext(ctx context.Context) (Member, bool) {
	if ctx == nil {
		return Member{}, false
	}
	m, ok := ctx.Value(memberKey{}).(*Member)
	if !ok || m == nil {
		return Member{}, false
	}
	return *m, true
}

// UserFromContext returns the signed-in user put there by RequireMember or
// RequireRole. ok is false outside those middlewares. It never panics.
func UserFromContext(ctx context.Context) (store.User, bool) {
	m, ok := MemberFromContext(ctx)
	return m.User, ok
}
