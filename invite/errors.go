package invite

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/invitekit/invitekit/store"
)

// Sentinel errors returned by the Service (possibly wrapped; test with
// errors.Is). HTTPStatus and ErrorCode map them for handlers.
var (
	// ErrInvalidToken: the token is malformed, unknown, or its verifier is wrong.
	ErrInvalidToken = errors.New("invite: invalid invitation token")
	// ErrInviteExpired: the invitation's expiry time has passed.
	ErrInviteExpired = errors.New("invite: invitation expired")
	// ErrInviteUsed: the invitation was already accepted.
	ErrInviteUsed = errors.New("invite: invitation already used")
	// ErrInviteRevoked: an admin revoked the invitation.
	ErrInviteRevoked = errors.New("invite: invitation revoked")
	// ErrAlreadyInvited: the person already has a pending (possibly expired)
	// invitation to the organization; use ResendInvitation instead.
	ErrAlreadyInvited = errors.New("invite: user already has a pending invitation to this organization")
	// ErrAlreadyMember: the person is already an ACTIVE or INACTIVE member.
	ErrAlreadyMember = errors.New("invite: user is already a member of this organization")
	// ErrNotFound: the organization, user or membership does not exist (or
	// is not visible from the requested organization).
	ErrNotFound = errors.New("invite: not found")
	// ErrEmailMismatch: the signed-in email differs from the invited email.
	ErrEmailMismatch = errors.New("invite: signed-in email does not match the invited email")
	// ErrEmailNotVerified: the identity provider did not assert email_verified.
	ErrEmailNotVerified = errors.New("invite: email address is not verified by the identity provider")
	// ErrNoMembership: the user has no ACTIVE membership anywhere; an
	// invitation is required.
	ErrNoMembership = errors.New("invite: no active membership; an invitation is required")
	// ErrWrongStatus: the membership is not in the status the operation needs.
	ErrWrongStatus = errors.New("invite: membership is not in the required status")

	// ErrExternalIDTaken: the externalId belongs to another user, or the
	// invited email belongs to a user with a different externalId.
	ErrExternalIDTaken = errors.New("invite: external id belongs to another user")
	// ErrOrganizationExists: CreateOrganization with a taken id.
	ErrOrganizationExists = errors.New("invite: organization already exists")
	// ErrIdentityTaken: the provider identity (issuer+subject) is linked to
	// another user.
	ErrIdentityTaken = errors.New("invite: identity is linked to another user")
	// ErrLastAdmin: the change would leave the organization without an
	// ACTIVE member holding Config.AdminRole (deactivating its last admin,
	// or taking the admin role from them). Nothing was changed.
	ErrLastAdmin = errors.New("invite: the organization must keep at least one active admin")

	// ErrUnauthenticated is returned by an Authorizer when the request
	// carries no (valid) credentials (401).
	ErrUnauthenticated = errors.New("invite: authentication required")
	// ErrPermissionDenied is returned by an Authorizer to refuse (403).
	ErrPermissionDenied = errors.New("invite: permission denied")
	// ErrBodyTooLarge: the request body exceeds HandlerConfig.MaxBodyBytes (413).
	ErrBodyTooLarge = errors.New("invite: request body too large")
	// ErrUnsupportedMediaType: a request body that is not application/json (415).
	ErrUnsupportedMediaType = errors.New("invite: request body must be application/json")
	// ErrMethodNotAllowed: the route exists but not for this method (405).
	ErrMethodNotAllowed = errors.New("invite: method not allowed")
	// ErrCrossOrigin: a cross-origin browser request to a state-changing
	// route was refused (403).
	ErrCrossOrigin = errors.New("invite: cross-origin request refused")
)

// FieldError codes.
const (
	// CodeInvalidArgument: the request was well-formed but a value is not
	// acceptable (HTTP 422).
	CodeInvalidArgument = "invalid_argument"
	// CodeMalformedRequest: the body is not valid JSON of the expected shape
	// (syntax error, wrong type, unknown field, trailing data) (HTTP 400).
	CodeMalformedRequest = "malformed_request"
)

// FieldError reports a bad input value. Field names the offending input in
// the JSON API's spelling ("email", "roles[0]", "userProfile.firstName",
// "metadata"); it is empty when the error is about the request as a whole.
type FieldError struct {
	Code    string // CodeInvalidArgument or CodeMalformedRequest
	Field   string
	Message string // human-readable, safe to show to the caller
}

func (e *FieldError) Error() string { return "invite: " + e.Message }

func invalid(field, format string, args ...any) *FieldError {
	return &FieldError{Code: CodeInvalidArgument, Field: field, Message: fmt.Sprintf(format, args...)}
}

func malformed(field, format string, args ...any) *FieldError {
	return &FieldError{Code: CodeMalformedRequest, Field: field, Message: fmt.Sprintf(format, args...)}
}

// PolicyError is a refusal by Config.BeforeInvite. Reason is shown to the
// caller (the JSON API returns it as the error message). A hook that
// returns any other error refuses too; the Service wraps that error in a
// PolicyError with a generic Reason and keeps it in Err (not shown).
type PolicyError struct {
	Reason string
	Err    error
}

func (e *PolicyError) Error() string { return "invite: refused by policy: " + e.Reason }

// Unwrap returns the hook's original error, if any.
func (e *PolicyError) Unwrap() error { return e.Err }

// errorInfo is how one sentinel renders in the JSON API.
type errorInfo struct {
	err     error
	status  int
	code    string
	message string
}

// sentinelInfo returns how err renders when it is (or wraps) one of the
// sentinels; the first match in the table wins.
func sentinelInfo(err error) (errorInfo, bool) {
	table := [...]errorInfo{
		{ErrInvalidToken, http.StatusNotFound, "invalid_token", "the invitation link is not valid"},
		{ErrInviteExpired, http.StatusGone, "invite_expired", "the invitation has expired"},
		{ErrInviteUsed, http.StatusGone, "invite_used", "the invitation has already been used"},
		{ErrInviteRevoked, http.StatusGone, "invite_revoked", "the invitation was revoked"},
		{ErrAlreadyInvited, http.StatusConflict, "already_invited", "the user already has a pending invitation to this organization"},
		{ErrAlreadyMember, http.StatusConflict, "already_member", "the user is already a member of this organization"},
		{ErrExternalIDTaken, http.StatusConflict, "external_id_taken", "the external id belongs to another user"},
		{ErrOrganizationExists, http.StatusConflict, "organization_exists", "an organization with this id already exists"},
		{ErrIdentityTaken, http.StatusConflict, "identity_taken", "this sign-in is linked to another user"},
		{ErrWrongStatus, http.StatusConflict, "wrong_status", "the membership is not in the required status"},
		{ErrLastAdmin, http.StatusConflict, "last_admin", "the organization must keep at least one active admin"},
		{ErrNotFound, http.StatusNotFound, "not_found", "not found"},
		{ErrEmailMismatch, http.StatusForbidden, "email_mismatch", "the signed-in email does not match the invited email"},
		{ErrEmailNotVerified, http.StatusForbidden, "email_not_verified", "the email address is not verified"},
		{ErrNoMembership, http.StatusForbidden, "no_membership", "an invitation is required"},
		{ErrUnauthenticated, http.StatusUnauthorized, "unauthenticated", "authentication required"},
		{ErrPermissionDenied, http.StatusForbidden, "permission_denied", "permission denied"},
		{ErrCrossOrigin, http.StatusForbidden, "cross_origin", "cross-origin request refused"},
		{ErrBodyTooLarge, http.StatusRequestEntityTooLarge, "body_too_large", "the request body is too large"},
		{ErrUnsupportedMediaType, http.StatusUnsupportedMediaType, "unsupported_media_type", "the request body must be application/json"},
		{ErrMethodNotAllowed, http.StatusMethodNotAllowed, "method_not_allowed", "method not allowed"},
	}
	for _, e := range table {
		if errors.Is(err, e.err) {
			return e, true
		}
	}
	return errorInfo{}, false
}

// HTTPStatus maps any Service or handler error to an HTTP status:
// FieldError 422 (400 for CodeMalformedRequest), PolicyError 403, the
// sentinels as documented in the README, anything else 500.
func HTTPStatus(err error) int {
	status, _, _, _ := describe(err)
	return status
}

// ErrorCode maps any Service or handler error to the machine-readable code
// and field of the JSON API's error object ("internal" for unknown errors).
func ErrorCode(err error) (code, field string) {
	_, code, field, _ = describe(err)
	return code, field
}

// describe returns status, code, field and a message that is safe to show.
func describe(err error) (status int, code, field, message string) {
	if err == nil {
		return http.StatusOK, "", "", ""
	}
	var fe *FieldError
	if errors.As(err, &fe) {
		if fe.Code == CodeMalformedRequest {
			return http.StatusBadRequest, fe.Code, fe.Field, fe.Message
		}
		return http.StatusUnprocessableEntity, fe.Code, fe.Field, fe.Message
	}
	var pe *PolicyError
	if errors.As(err, &pe) {
		return http.StatusForbidden, "policy_refused", "", pe.Reason
	}
	if status, code, field, message, ok := bulkErrorInfo(err); ok {
		return status, code, field, message
	}
	if e, ok := sentinelInfo(err); ok {
		return e.status, e.code, "", e.message
	}
	return http.StatusInternalServerError, "internal", "", "internal error"
}

// storeErr translates a store sentinel into the matching invite sentinel,
// keeping the original in the chain.
func storeErr(err error) error {
	var target error
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound):
		target = ErrNotFound
	case errors.Is(err, store.ErrAlreadyMember):
		target = ErrAlreadyMember
	case errors.Is(err, store.ErrExternalIDTaken):
		target = ErrExternalIDTaken
	case errors.Is(err, store.ErrWrongStatus):
		target = ErrWrongStatus
	case errors.Is(err, store.ErrInviteUsed):
		target = ErrInviteUsed
	case errors.Is(err, store.ErrInviteExpired):
		target = ErrInviteExpired
	case errors.Is(err, store.ErrInviteRevoked):
		target = ErrInviteRevoked
	case errors.Is(err, store.ErrIdentityTaken):
		target = ErrIdentityTaken
	case errors.Is(err, store.ErrOrganizationExists):
		target = ErrOrganizationExists
	case errors.Is(err, store.ErrLastRoleHolder):
		target = ErrLastAdmin
	default:
		return fmt.Errorf("invite: %w", err)
	}
	return fmt.Errorf("%w (%w)", target, err)
}
