package store

import (
	"errors"
	"fmt"
)

// Sentinel errors of the domain. Stores wrap the first group with %w; the
// Service returns them all (package invite re-exports them under the same
// values, so errors.Is works with either name). Test with errors.Is.
var (
	ErrNotFound           = errors.New("invitekit: not found")
	ErrOrganizationExists = errors.New("invitekit: organization already exists")
	ErrAlreadyMember      = errors.New("invitekit: user is already a member of this organization")
	ErrExternalIDTaken    = errors.New("invitekit: external id belongs to another user")
	ErrWrongStatus        = errors.New("invitekit: membership is not in the required status")
	ErrInviteUsed         = errors.New("invitekit: invitation already used")
	ErrInviteExpired      = errors.New("invitekit: invitation expired")
	ErrInviteRevoked      = errors.New("invitekit: invitation revoked")
	ErrIdentityTaken      = errors.New("invitekit: identity is linked to another user")
	// ErrInvalidCursor is returned by ListMembers for a ListOptions.After
	// that is not a cursor the store handed out.
	ErrInvalidCursor = errors.New("invitekit: invalid page token")
	// ErrLastRoleHolder refuses a change that would leave the organization
	// without an ACTIVE membership holding the role to keep (see
	// MembershipUpdate.KeepRole and StatusChange.KeepRole).
	ErrLastRoleHolder = errors.New("invitekit: the organization must keep at least one active admin")
	// ErrUnavailable marks a write that failed because the store could not
	// be reached or lost its connection (not because of what was written):
	// retrying it row by row would fail the same way. Stores wrap such
	// errors with it where they can tell (a terminated server connection).
	ErrUnavailable = errors.New("invitekit: store unavailable")
)

// Sentinel errors only the Service returns (stores never do).
var (
	// ErrInvalidToken: the invitation token is malformed, unknown, or its
	// verifier is wrong.
	ErrInvalidToken = errors.New("invitekit: invalid invitation token")
	// ErrAlreadyInvited: the person already has a pending (possibly
	// expired) invitation to the organization.
	ErrAlreadyInvited = errors.New("invitekit: user already has a pending invitation to this organization")
	// ErrEmailMismatch: the signed-in email differs from the invited email.
	ErrEmailMismatch = errors.New("invitekit: signed-in email does not match the invited email")
	// ErrEmailNotVerified: the identity provider did not assert
	// email_verified.
	ErrEmailNotVerified = errors.New("invitekit: email address is not verified by the identity provider")
	// ErrNoMembership: the user has no ACTIVE membership anywhere; an
	// invitation is required.
	ErrNoMembership = errors.New("invitekit: no active membership; an invitation is required")
	// ErrIdentityBound: the user is already linked to another subject at
	// the identity's issuer; a second one is never linked.
	ErrIdentityBound = errors.New("invitekit: the user is linked to another identity at this issuer")
	// ErrEmailLinkUntrusted: the identity is unknown and its issuer is not
	// trusted to assert emails, so it is not linked to the user with that
	// email.
	ErrEmailLinkUntrusted = errors.New("invitekit: the issuer is not trusted to link an identity by email")
)

// FieldError codes.
const (
	// CodeInvalidArgument: the request was well-formed but a value is not
	// acceptable (HTTP 422).
	CodeInvalidArgument = "invalid_argument"
	// CodeMalformedRequest: the body is not valid JSON of the expected
	// shape (syntax error, wrong type, unknown field, trailing data) (400).
	CodeMalformedRequest = "malformed_request"
)

// FieldError reports a bad input value. Field names the offending input
// by its full path in the JSON API's spelling ("email", "roles[0]",
// "userProfile.firstName", "metadata.plan"); it is empty when the error is
// about the request as a whole.
type FieldError struct {
	Code    string // CodeInvalidArgument or CodeMalformedRequest
	Field   string
	Message string // human-readable, safe to show to the caller
}

func (e *FieldError) Error() string { return "invitekit: " + e.Message }

// Invalid returns a CodeInvalidArgument FieldError.
func Invalid(field, format string, args ...any) *FieldError {
	return &FieldError{Code: CodeInvalidArgument, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Malformed returns a CodeMalformedRequest FieldError.
func Malformed(field, format string, args ...any) *FieldError {
	return &FieldError{Code: CodeMalformedRequest, Field: field, Message: fmt.Sprintf(format, args...)}
}

// PolicyError is a refusal by a policy hook (invite.Config.BeforeInvite).
// Reason is shown to the caller. Err keeps a hook's own error (not shown).
type PolicyError struct {
	Reason string
	Err    error
}

func (e *PolicyError) Error() string { return "invitekit: refused by policy: " + e.Reason }

// Unwrap returns the hook's original error, if any.
func (e *PolicyError) Unwrap() error { return e.Err }
