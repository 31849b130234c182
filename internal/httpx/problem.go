package httpx

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/invitekit/invitekit/invite/csvimport"
	"github.com/invitekit/invitekit/store"
)

// Errors of the HTTP surfaces. The packages that return them re-export
// them under their own names (invite/inviteapi.ErrPermissionDenied,
// middleware.ErrNotMember, …); the values are these, so errors.Is works
// with any name.
var (
	// ErrUnauthenticated: the request carries no (valid) credentials, or
	// nobody is signed in (401).
	ErrUnauthenticated = errors.New("invitekit: authentication required")
	// ErrPermissionDenied: an authorizer refused the request (403).
	ErrPermissionDenied = errors.New("invitekit: permission denied")
	// ErrBodyTooLarge: the request body exceeds the handler's limit (413).
	ErrBodyTooLarge = errors.New("invitekit: request body too large")
	// ErrUnsupportedMediaType: a request body that is not
	// application/json (415).
	ErrUnsupportedMediaType = errors.New("invitekit: request body must be application/json")
	// ErrMethodNotAllowed: the route exists but not for this method (405).
	ErrMethodNotAllowed = errors.New("invitekit: method not allowed")
	// ErrPreconditionFailed: the request's If-Match names no current
	// entity tag of the resource; nothing was written (412).
	ErrPreconditionFailed = errors.New("invitekit: precondition failed")
	// ErrCrossOrigin: a cross-origin browser request to a state-changing
	// route was refused (403).
	ErrCrossOrigin = errors.New("invitekit: cross-origin request refused")
	// ErrTooManyImports: the organization already runs as many bulk
	// imports as it may (429).
	ErrTooManyImports = errors.New("invitekit: too many bulk imports are running; try again later")
	// ErrRateLimited: a rate limit refused the request (429); it comes
	// wrapped in a RetryError that says when to try again.
	ErrRateLimited = errors.New("invitekit: too many requests; try again later")
	// ErrNoOrg: the request names no organization (400).
	ErrNoOrg = errors.New("invitekit: no organization in request")
	// ErrNotMember: the signed-in user has no membership in the
	// organization (403).
	ErrNotMember = errors.New("invitekit: not a member of this organization")
	// ErrPendingInvite: the membership is still an invitation (accepted
	// not yet, or expired). It wraps ErrNotMember (403).
	ErrPendingInvite = fmt.Errorf("%w: invitation not accepted", ErrNotMember)
	// ErrInactive: the membership is deactivated (403).
	ErrInactive = errors.New("invitekit: membership is inactive")
	// ErrMissingRole: the member has none of the required roles (403).
	ErrMissingRole = errors.New("invitekit: missing required role")
)

// Problem is how an error renders on every surface: the JSON API, the
// bulk API, the team page, the authflow pages and the middleware.
type Problem struct {
	Status  int
	Code    string
	Field   string
	Message string // safe to show; never an internal detail
}

// problems is the one table from error to rendering; the first entry the
// error matches (errors.Is) wins. It is never modified.
var problems = [...]struct {
	err error
	Problem
}{
	{store.ErrInvalidToken, Problem{http.StatusNotFound, "invalid_token", "token", "the invitation link is not valid"}},
	{store.ErrInviteExpired, Problem{http.StatusGone, "invite_expired", "token", "the invitation has expired"}},
	{store.ErrInviteUsed, Problem{http.StatusGone, "invite_used", "token", "the invitation has already been used"}},
	{store.ErrInviteRevoked, Problem{http.StatusGone, "invite_revoked", "token", "the invitation was revoked"}},
	{store.ErrAlreadyInvited, Problem{http.StatusConflict, "already_invited", "email", "the user already has a pending invitation to this organization"}},
	{store.ErrAlreadyMember, Problem{http.StatusConflict, "already_member", "email", "the user is already a member of this organization"}},
	{store.ErrExternalIDTaken, Problem{http.StatusConflict, "external_id_taken", "externalId", "the external id belongs to another user"}},
	{store.ErrOrganizationExists, Problem{http.StatusConflict, "organization_exists", "id", "an organization with this id already exists"}},
	{store.ErrIdentityTaken, Problem{http.StatusConflict, "identity_taken", "sub", "this sign-in is linked to another user"}},
	{store.ErrWrongStatus, Problem{http.StatusConflict, "wrong_status", "", "the membership is not in the required status"}},
	{store.ErrLastRoleHolder, Problem{http.StatusConflict, "last_admin", "", "the organization must keep at least one active admin"}},
	{store.ErrJoinRequestPending, Problem{http.StatusConflict, "join_request_pending", "", "a request to join this organization is already waiting for a decision"}},
	{store.ErrJoinCooldown, Problem{http.StatusConflict, "join_request_cooldown", "", "the last request to join this organization was declined recently; try again later"}},
	{store.ErrJoinRequestsUnsupported, Problem{http.StatusNotImplemented, "join_requests_unsupported", "", "requests to join are not supported by this server's store"}},
	{store.ErrDomainClaimed, Problem{http.StatusConflict, "domain_claimed", "domain", "this organization has already added this domain"}},
	{store.ErrDomainUnavailable, Problem{http.StatusConflict, "domain_unavailable", "domain", "this domain cannot be verified for this organization"}},
	{store.ErrDomainRecordMissing, Problem{http.StatusUnprocessableEntity, "domain_record_missing", "domain", "the domain's DNS TXT verification record was not found; publish it and try again (DNS changes can take a while to appear)"}},
	{store.ErrDomainLookupFailed, Problem{http.StatusServiceUnavailable, "domain_lookup_failed", "domain", "the domain's DNS lookup failed; try again later"}},
	{store.ErrDomainsUnsupported, Problem{http.StatusNotImplemented, "domains_unsupported", "", "email domains are not supported by this server's store"}},
	{store.ErrInvalidCursor, Problem{http.StatusUnprocessableEntity, "invalid_argument", "pageToken", "pageToken is not a token this server handed out"}},
	{store.ErrNotFound, Problem{http.StatusNotFound, "not_found", "", "not found"}},
	{store.ErrUnavailable, Problem{http.StatusServiceUnavailable, "unavailable", "", "the service is temporarily unavailable; try again"}},
	{store.ErrEmailMismatch, Problem{http.StatusForbidden, "email_mismatch", "email", "the signed-in email does not match the invited email"}},
	{store.ErrEmailNotVerified, Problem{http.StatusForbidden, "email_not_verified", "email_verified", "the email address is not verified"}},
	{store.ErrNoMembership, Problem{http.StatusForbidden, "invitation_required", "", "an invitation is required"}},
	{ErrUnauthenticated, Problem{http.StatusUnauthorized, "unauthenticated", "", "authentication required"}},
	{ErrPermissionDenied, Problem{http.StatusForbidden, "permission_denied", "", "permission denied"}},
	{ErrCrossOrigin, Problem{http.StatusForbidden, "cross_origin", "", "cross-origin request refused"}},
	{ErrBodyTooLarge, Problem{http.StatusRequestEntityTooLarge, "body_too_large", "", "the request body is too large"}},
	{ErrUnsupportedMediaType, Problem{http.StatusUnsupportedMediaType, "unsupported_media_type", "", "the request body must be application/json"}},
	{csvimport.ErrBadFormat, Problem{http.StatusUnsupportedMediaType, "unsupported_media_type", "format", "the file must be CSV (text/csv) or JSON lines (application/x-ndjson)"}},
	{ErrMethodNotAllowed, Problem{http.StatusMethodNotAllowed, "method_not_allowed", "", "method not allowed"}},
	{ErrPreconditionFailed, Problem{http.StatusPreconditionFailed, "precondition_failed", "", "the resource changed since the entity tag of If-Match was read (read it again)"}},
	{ErrTooManyImports, Problem{http.StatusTooManyRequests, "too_many_imports", "", "too many imports are running; try again later"}},
	{ErrRateLimited, Problem{http.StatusTooManyRequests, "rate_limited", "", "too many requests; try again later"}},
	{ErrNoOrg, Problem{http.StatusBadRequest, "no_organization", "", "the request names no organization"}},
	{ErrPendingInvite, Problem{http.StatusForbidden, "invitation_pending", "", "the invitation to this organization has not been accepted"}},
	{ErrNotMember, Problem{http.StatusForbidden, "not_member", "", "you are not a member of this organization"}},
	{ErrInactive, Problem{http.StatusForbidden, "membership_inactive", "", "your membership in this organization is inactive"}},
	{ErrMissingRole, Problem{http.StatusForbidden, "missing_role", "", "you do not have the role this page needs"}},
	{store.ErrSSORequired, Problem{http.StatusForbidden, "sso_required", "", "this organization requires signing in through its single sign-on"}},
	{store.ErrSSOWrongOrganization, Problem{http.StatusForbidden, "sso_wrong_organization", "", "you signed in through another organization's single sign-on; sign in again for this organization"}},
	{store.ErrSSOUnsupported, Problem{http.StatusNotImplemented, "sso_unsupported", "", "single sign-on connections are not supported by this server's store"}},
	{store.ErrAlreadyDecided, Problem{http.StatusConflict, "approval_decided", "", "the held invitation has already been approved, rejected or expired"}},
	{store.ErrApprovalExpired, Problem{http.StatusGone, "approval_expired", "", "the held invitation expired before it was approved"}},
	{store.ErrDecisionStale, Problem{http.StatusConflict, "decision_stale", "", "the approval rules or the inviter's roles changed while the invitation was decided; try again"}},
	{store.ErrNotApprover, Problem{http.StatusForbidden, "not_approver", "", "only an approver of this organization may do this"}},
	{store.ErrApprovalsUnsupported, Problem{http.StatusNotImplemented, "approvals_unsupported", "", "approval before invitation is not supported by this server's store"}},
	{store.ErrWebhookEndpointStale, Problem{http.StatusConflict, "webhook_endpoint_conflict", "", "the webhook endpoint was changed by another request at the same moment; try again"}},
}

// internal is what every unknown error renders as (its text is never shown).
var internal = Problem{http.StatusInternalServerError, "internal", "", "internal error"}

// ProblemOf maps any error of the kit to its rendering: a *store.FieldError
// is 422 (400 for CodeMalformedRequest) with its own field and message, a
// *store.PolicyError 403 policy_refused with its reason, the file-limit
// errors of csvimport 413/422, the sentinels by the table, and anything
// else 500 internal. A nil error is 200.
func ProblemOf(err error) Problem {
	if err == nil {
		return Problem{Status: http.StatusOK}
	}
	if p, ok := typedProblem(err); ok {
		return p
	}
	for _, e := range problems {
		if errors.Is(err, e.err) {
			return e.Problem
		}
	}
	for _, e := range signInProblems {
		if errors.Is(err, e.err) {
			return e.Problem
		}
	}
	return internal
}

// Status is ProblemOf(err).Status.
func Status(err error) int { return ProblemOf(err).Status }

// typedProblem renders the errors that carry their own data.
func typedProblem(err error) (Problem, bool) {
	var fe *store.FieldError
	if errors.As(err, &fe) {
		status := http.StatusUnprocessableEntity
		if fe.Code == store.CodeMalformedRequest {
			status = http.StatusBadRequest
		}
		return Problem{status, fe.Code, fe.Field, fe.Message}, true
	}
	var pe *store.PolicyError
	if errors.As(err, &pe) {
		return Problem{http.StatusForbidden, "policy_refused", "", pe.Reason}, true
	}
	var le *csvimport.LimitError
	if errors.As(err, &le) {
		return limitProblem(le)
	}
	var he *csvimport.HeaderError
	if errors.As(err, &he) {
		field := "file"
		if he.Column != "" {
			field = he.Column
		}
		msg := he.Error()
		if len(msg) > len("csvimport: ") {
			msg = msg[len("csvimport: "):]
		}
		return Problem{http.StatusUnprocessableEntity, "bad_header", field, msg}, true
	}
	return Problem{}, false
}

func limitProblem(le *csvimport.LimitError) (Problem, bool) {
	switch le.Err {
	case csvimport.ErrTooLarge:
		return Problem{http.StatusRequestEntityTooLarge, "too_large", "file",
			fmt.Sprintf("the file is larger than the limit of %s", FormatBytes(le.Limit))}, true
	case csvimport.ErrTooManyRows:
		return Problem{http.StatusRequestEntityTooLarge, "too_many_rows", "file",
			fmt.Sprintf("the file has more than the limit of %d rows", le.Limit)}, true
	case csvimport.ErrRecordTooLarge:
		return Problem{http.StatusRequestEntityTooLarge, "row_too_large", "file",
			fmt.Sprintf("the row at line %d is larger than the limit of %s", le.Line, FormatBytes(le.Limit))}, true
	}
	return Problem{}, false
}

// FormatBytes renders a byte count for messages ("32 MiB", "64 KiB",
// "100 bytes").
func FormatBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
