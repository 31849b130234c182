package authflow

import (
	"errors"

	"github.com/invitekit/invitekit/internal/httpx"
	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/store"
)

// Error is a refusal rendered as a page: an HTTP status, a stable
// machine-readable Code, the request Field at fault (if any) and a Message
// safe to show. Status and Code come from the kit's one error table, so a
// code means the same status here as in the JSON API. Err keeps the cause
// for logs and errors.Is; it is never shown.
type Error struct {
	Status  int
	Code    string
	Field   string
	Message string
	Err     error
	kind    error // the table's error: Status and Code are its
}

func (e *Error) Error() string {
	if e.Err != nil {
		return "authflow: " + e.Code + ": " + e.Message + ": " + e.Err.Error()
	}
	return "authflow: " + e.Code + ": " + e.Message
}

// Unwrap returns the kind of refusal (the kit's shared error value, such
// as invite.ErrInviteUsed) and the cause.
func (e *Error) Unwrap() []error {
	var out []error
	for _, err := range []error{e.kind, e.Err} {
		if err != nil {
			out = append(out, err)
		}
	}
	return out
}

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

// Codes of the ID-token and UserInfo rules the callback checks after
// go-oidc's verification (OpenID Connect Core 3.1.3.7, 3.1.3.8, 5.3.2), all
// 400. See Config.ClockSkew, Config.IDTokenMaxAge and Config.MaxAuthAge.
const (
	// CodeIDTokenAZPMissing: the ID token has several audiences and no azp.
	CodeIDTokenAZPMissing = "id_token_azp_missing"
	// CodeIDTokenAZPMismatch: the ID token's azp is not Config.ClientID.
	CodeIDTokenAZPMismatch = "id_token_azp_mismatch"
	// CodeIDTokenIATMissing: the ID token has no iat.
	CodeIDTokenIATMissing = "id_token_iat_missing"
	// CodeIDTokenIATFuture: iat is later than now + ClockSkew.
	CodeIDTokenIATFuture = "id_token_iat_future"
	// CodeIDTokenTooOld: iat is earlier than now − IDTokenMaxAge − ClockSkew.
	CodeIDTokenTooOld = "id_token_too_old"
	// CodeIDTokenNotYetValid: nbf is later than now + ClockSkew.
	CodeIDTokenNotYetValid = "id_token_not_yet_valid"
	// CodeIDTokenAuthTimeMissing: max_age was sent and the ID token has no auth_time.
	CodeIDTokenAuthTimeMissing = "id_token_auth_time_missing"
	// CodeIDTokenAuthTimeTooOld: auth_time + max_age + ClockSkew is before now.
	CodeIDTokenAuthTimeTooOld = "id_token_auth_time_too_old"
	// CodeUserInfoSubjectMismatch: the UserInfo response's sub is not the
	// ID token's.
	CodeUserInfoSubjectMismatch = "userinfo_subject_mismatch"
)

// Codes of the identity rules (invite.Service.SignIn and AcceptInvitation).
const (
	// CodeIdentityBound (409): the account is already linked to another
	// subject at this issuer; a second one is never linked.
	CodeIdentityBound = "identity_bound"
	// CodeEmailLinkUntrusted (403): the sign-in is unknown and its issuer is
	// not in Config.TrustedEmailIssuers, so it is not linked to the account
	// with the same email.
	CodeEmailLinkUntrusted = "email_link_untrusted"
)

// CodeProviderUnavailable (503, with a Retry-After header): the identity
// provider cannot be reached (its discovery document or signing keys could
// not be fetched). Sign-in recovers by itself once it is back.
const CodeProviderUnavailable = "provider_unavailable"

// CodeAccessDenied (403): the identity provider refused the sign-in
// (access_denied, login_required, consent_required, interaction_required).
const CodeAccessDenied = "access_denied"

// ErrNoSession is the cause of CodeSessionUnavailable: the route does not
// run inside SessionManager.LoadAndSave.
var ErrNoSession = httpx.ErrSessionUnavailable

// ErrProviderUnavailable is matched by Flow.Discover's error and by the
// cause of a CodeProviderUnavailable page while the identity provider's
// discovery document cannot be fetched.
var ErrProviderUnavailable = httpx.ErrProviderUnavailable

// pageError is a refusal of the given kind (an error of the kit's table;
// nil for an internal failure) with the page's own message.
func pageError(kind error, field, msg string, cause error) *Error {
	p := httpx.ProblemOf(kind)
	if kind == nil {
		p = httpx.ProblemOf(errInternal)
	}
	return &Error{Status: p.Status, Code: p.Code, Field: field, Message: msg, Err: cause, kind: kind}
}

// errInternal stands for an internal failure (500) in pageError.
var errInternal = errors.New("authflow: internal error")

// pageMessages are the pages' words for the Service's refusals, first match
// wins; the status and code come from the table.
var pageMessages = [...]struct {
	kind error
	msg  string
}{
	{store.ErrInvalidToken, "This invitation link is not valid. Check that you copied the whole link, or ask for a new invitation."},
	{store.ErrInviteExpired, "This invitation has expired."},
	{store.ErrInviteRevoked, "This invitation was withdrawn by an administrator."},
	{store.ErrInviteUsed, "This invitation has already been accepted. If that was you, sign in."},
	{store.ErrEmailMismatch, "You signed in with a different email address than the one this invitation was sent to. Sign in with the invited address."},
	{store.ErrEmailNotVerified, "Your identity provider has not verified your email address. Verify it there, then sign in again."},
	{store.ErrIdentityTaken, "This sign-in account is already linked to another person."},
	{store.ErrIdentityBound, "Your account here is already linked to a different sign-in at this identity provider. Sign in with the account you used before."},
	{store.ErrEmailLinkUntrusted, "This identity provider is not trusted to connect a new sign-in to an existing account by its email address. Sign in the way you did before, or ask an administrator."},
	{store.ErrNoMembership, "This app is invitation-only, and your account has no active membership. Ask an administrator for an invitation."},
	{store.ErrWrongStatus, "This invitation can no longer be accepted."},
}

// inviteError maps an invite.Service error to a page. Unknown errors are
// internal failures (500).
func inviteError(err error) *Error {
	for _, pm := range pageMessages {
		if errors.Is(err, pm.kind) {
			return pageError(pm.kind, httpx.ProblemOf(pm.kind).Field, pm.msg, err)
		}
	}
	var fe *invite.FieldError
	if errors.As(err, &fe) {
		return pageError(httpx.ErrBadRequest, fe.Field, "The sign-in response is incomplete: "+fe.Message+".", err)
	}
	return internalError(err)
}

func internalError(err error) *Error {
	return pageError(nil, "", "Something went wrong on our side. Please try again.", err)
}
