package authflow

import (
	"errors"
	"net/http"

	"github.com/invitekit/invitekit/invite"
)

// Error is a refusal rendered as a page: an HTTP status, a stable
// machine-readable Code, the request Field at fault (if any) and a Message
// safe to show. Err keeps the cause for logs and errors.Is; it is never shown.
type Error struct {
	Status  int
	Code    string
	Field   string
	Message string
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return "authflow: " + e.Code + ": " + e.Message + ": " + e.Err.Error()
	}
	return "authflow: " + e.Code + ": " + e.Message
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Error codes shown on pages (stable; match on them, not on messages).
const (
	CodeMissingToken       = "missing_token"
	CodeInvalidToken       = "invalid_token"
	CodeInviteExpired      = "invite_expired"
	CodeInviteRevoked      = "invite_revoked"
	CodeInviteUsed         = "invite_used"
	CodeReturnToInvalid    = "return_to_invalid"
	CodeStateMissing       = "state_missing"
	CodeLoginNotStarted    = "login_not_started"
	CodeStateMismatch      = "state_mismatch"
	CodeLoginExpired       = "login_expired"
	CodeIssuerMismatch     = "issuer_mismatch"
	CodeProviderError      = "provider_error"
	CodeCodeMissing        = "code_missing"
	CodeCodeRejected       = "code_rejected"
	CodeTokenExchange      = "token_exchange_failed"
	CodeIDTokenMissing     = "id_token_missing"
	CodeIDTokenExpired     = "id_token_expired"
	CodeIDTokenAudience    = "id_token_audience"
	CodeIDTokenIssuer      = "id_token_issuer"
	CodeIDTokenSignature   = "id_token_signature"
	CodeIDTokenInvalid     = "id_token_invalid"
	CodeNonceMismatch      = "nonce_mismatch"
	CodeUserInfoFailed     = "userinfo_failed"
	CodeEmailMissing       = "email_missing"
	CodeEmailMismatch      = "email_mismatch"
	CodeEmailNotVerified   = "email_not_verified"
	CodeIdentityTaken      = "identity_taken"
	CodeInvitationRequired = "invitation_required"
	CodeSessionUnavailable = "session_unavailable"
	CodeMethodNotAllowed   = "method_not_allowed"
	CodeBadRequest         = "bad_request"
	CodeInternal           = "internal"
)

// CodeProviderUnavailable (503, with a Retry-After header): the identity
// provider cannot be reached (its discovery document or signing keys could
// not be fetched). Sign-in recovers by itself once it is back.
const CodeProviderUnavailable = "provider_unavailable"

// ErrNoSession is the cause of CodeSessionUnavailable: the route does not
// run inside SessionManager.LoadAndSave.
var ErrNoSession = errors.New("authflow: no session in request context (wrap the routes with sessions.LoadAndSave)")

// ErrProviderUnavailable is matched by Flow.Discover's error and by the
// cause of a CodeProviderUnavailable page while the identity provider's
// discovery document cannot be fetched.
var ErrProviderUnavailable = errors.New("authflow: identity provider unavailable")

func newError(status int, code, field, msg string, cause error) *Error {
	return &Error{Status: status, Code: code, Field: field, Message: msg, Err: cause}
}

// inviteError maps an invite.Service error to a page. Unknown errors are
// internal failures (500).
func inviteError(err error) *Error {
	switch {
	case errors.Is(err, invite.ErrInvalidToken):
		return newError(http.StatusNotFound, CodeInvalidToken, "token",
			"This invitation link is not valid. Check that you copied the whole link, or ask for a new invitation.", err)
	case errors.Is(err, invite.ErrInviteExpired):
		return newError(http.StatusGone, CodeInviteExpired, "token",
			"This invitation has expired.", err)
	case errors.Is(err, invite.ErrInviteRevoked):
		return newError(http.StatusGone, CodeInviteRevoked, "token",
			"This invitation was withdrawn by an administrator.", err)
	case errors.Is(err, invite.ErrInviteUsed):
		return newError(http.StatusConflict, CodeInviteUsed, "token",
			"This invitation has already been accepted. If that was you, sign in.", err)
	case errors.Is(err, invite.ErrEmailMismatch):
		return newError(http.StatusForbidden, CodeEmailMismatch, "email",
			"You signed in with a different email address than the one this invitation was sent to. Sign in with the invited address.", err)
	case errors.Is(err, invite.ErrEmailNotVerified):
		return newError(http.StatusForbidden, CodeEmailNotVerified, "email_verified",
			"Your identity provider has not verified your email address. Verify it there, then sign in again.", err)
	case errors.Is(err, invite.ErrIdentityTaken):
		return newError(http.StatusConflict, CodeIdentityTaken, "sub",
			"This sign-in account is already linked to another person.", err)
	case errors.Is(err, invite.ErrNoMembership):
		return newError(http.StatusForbidden, CodeInvitationRequired, "",
			"This app is invitation-only, and your account has no active membership. Ask an administrator for an invitation.", err)
	case errors.Is(err, invite.ErrWrongStatus):
		return newError(http.StatusConflict, CodeInviteUsed, "token",
			"This invitation can no longer be accepted.", err)
	}
	var fe *invite.FieldError
	if errors.As(err, &fe) {
		return newError(http.StatusBadRequest, CodeBadRequest, fe.Field, "The sign-in response is incomplete: "+fe.Message+".", err)
	}
	return internalError(err)
}

func internalError(err error) *Error {
	return newError(http.StatusInternalServerError, CodeInternal, "", "Something went wrong on our side. Please try again.", err)
}
