package middleware

import (
	"errors"
	"fmt"

	"github.com/invitekit/invitekit/internal/httpx"
)

// Errors returned by Check and passed to Config.ErrorHandler (possibly
// wrapped; test with errors.Is). They are the kit's shared values, so the
// JSON API and the middleware render the same error the same way.
var (
	// ErrNoSession: no user is signed in (401, or a redirect to login). It
	// is the JSON API's ErrUnauthenticated.
	ErrNoSession = httpx.ErrUnauthenticated
	// ErrSessionRevoked: the session was made before the user's sessions
	// were revoked ("sign out everywhere": its generation is older than
	// the user's, see SessionKeyGeneration). It wraps ErrNoSession, so it
	// is rendered the same way (401, or a redirect to login).
	ErrSessionRevoked = fmt.Errorf("%w (the session was signed out)", ErrNoSession)
	// ErrNoOrg: the resolver found no organization in the request (400).
	ErrNoOrg = httpx.ErrNoOrg
	// ErrNotMember: the user has no membership in the organization (403).
	ErrNotMember = httpx.ErrNotMember
	// ErrPendingInvite: the membership is still an (accepted-not-yet or
	// expired) invitation. It wraps ErrNotMember (403).
	ErrPendingInvite = httpx.ErrPendingInvite
	// ErrInactive: the membership is deactivated (403).
	ErrInactive = httpx.ErrInactive
	// ErrMissingRole: the member has none of the required roles (403).
	ErrMissingRole = httpx.ErrMissingRole
	// ErrNoSessionManager: the route does not run inside
	// SessionManager.LoadAndSave, a wiring mistake (500).
	ErrNoSessionManager = errors.New("middleware: no session in request context (wrap the route with sessions.LoadAndSave)")
)
