package middleware

import (
	"errors"
	"fmt"
)

// Errors returned by Check and passed to Config.ErrorHandler (possibly
// wrapped; test with errors.Is).
var (
	// ErrNoSession: no user is signed in (401, or a redirect to login).
	ErrNoSession = errors.New("middleware: not signed in")
	// ErrNoOrg: the resolver found no organization in the request (400).
	ErrNoOrg = errors.New("middleware: no organization in request")
	// ErrNotMember: the user has no membership in the organization (403).
	ErrNotMember = errors.New("middleware: not a member of this organization")
	// ErrPendingInvite: the membership is still an (accepted-not-yet or
	// expired) invitation. It wraps ErrNotMember (403).
	ErrPendingInvite = fmt.Errorf("%w: invitation not accepted", ErrNotMember)
	// ErrInactive: the membership is deactivated (403).
	ErrInactive = errors.New("middleware: membership is inactive")
	// ErrMissingRole: the member has none of the required roles (403).
	ErrMissingRole = errors.New("middleware: missing required role")
	// ErrNoSessionManager: the route does not run inside
	// SessionManager.LoadAndSave, a wiring mistake (500).
	ErrNoSessionManager = errors.New("middleware: no session in request context (wrap the route with sessions.LoadAndSave)")
)

// errorInfo is how an error renders by default.
type errorInfo struct {
	status  int
	code    string
	message string
}

// infoFor maps an error from Check to its default rendering. Unknown
// errors (store failures) are 500 and never shown.
func infoFor(err error) errorInfo {
	switch {
	case errors.Is(err, ErrNoSession):
		return errorInfo{401, "unauthenticated", "sign-in required"}
	case errors.Is(err, ErrNoOrg):
		return errorInfo{400, "no_organization", "the request names no organization"}
	case errors.Is(err, ErrPendingInvite):
		return errorInfo{403, "invitation_pending", "the invitation to this organization has not been accepted"}
	case errors.Is(err, ErrNotMember):
		return errorInfo{403, "not_member", "you are not a member of this organization"}
	case errors.Is(err, ErrInactive):
		return errorInfo{403, "membership_inactive", "your membership in this organization is inactive"}
	case errors.Is(err, ErrMissingRole):
		return errorInfo{403, "missing_role", "you do not have the role this page needs"}
	}
	return errorInfo{500, "internal", "internal error"}
}
