package invite

import "github.com/invitekit/invitekit/store"

// Sentinel errors returned by the Service (possibly wrapped; test with
// errors.Is). They are the store's sentinels — the same values, not
// copies — so a store error and a Service error with the same meaning are
// one error. The HTTP surfaces map them through one table (package
// inviteapi's ProblemOf).
var (
	// ErrInvalidToken: the token is malformed, unknown, or its verifier is wrong.
	ErrInvalidToken = store.ErrInvalidToken
	// ErrInviteExpired: the invitation's expiry time has passed.
	ErrInviteExpired = store.ErrInviteExpired
	// ErrInviteUsed: the invitation was already accepted.
	ErrInviteUsed = store.ErrInviteUsed
	// ErrInviteRevoked: an admin revoked the invitation.
	ErrInviteRevoked = store.ErrInviteRevoked
	// ErrAlreadyInvited: the person already has a pending (possibly expired)
	// invitation to the organization; use ResendInvitation instead.
	ErrAlreadyInvited = store.ErrAlreadyInvited
	// ErrAlreadyMember: the person is already an ACTIVE or INACTIVE member.
	ErrAlreadyMember = store.ErrAlreadyMember
	// ErrNotFound: the organization, user or membership does not exist (or
	// is not visible from the requested organization).
	ErrNotFound = store.ErrNotFound
	// ErrEmailMismatch: the signed-in email differs from the invited email.
	ErrEmailMismatch = store.ErrEmailMismatch
	// ErrEmailNotVerified: the identity provider did not assert email_verified.
	ErrEmailNotVerified = store.ErrEmailNotVerified
	// ErrNoMembership: the user has no ACTIVE membership anywhere; an
	// invitation is required.
	ErrNoMembership = store.ErrNoMembership
	// ErrIdentityBound: the user is already linked to another subject at
	// the identity's issuer (SignIn by email, AcceptInvitation).
	ErrIdentityBound = store.ErrIdentityBound
	// ErrEmailLinkUntrusted: SignIn met an unknown identity whose issuer the
	// caller does not trust to assert emails (AcceptIdentity.TrustEmail).
	ErrEmailLinkUntrusted = store.ErrEmailLinkUntrusted
	// ErrWrongStatus: the membership is not in the required status.
	ErrWrongStatus = store.ErrWrongStatus
	// ErrExternalIDTaken: the externalId belongs to another user, or the
	// invited email belongs to a user with a different externalId.
	ErrExternalIDTaken = store.ErrExternalIDTaken
	// ErrOrganizationExists: CreateOrganization with a taken id.
	ErrOrganizationExists = store.ErrOrganizationExists
	// ErrIdentityTaken: the provider identity (issuer+subject) is linked to
	// another user.
	ErrIdentityTaken = store.ErrIdentityTaken
	// ErrLastAdmin: the change would leave the organization without an
	// ACTIVE member holding Config.AdminRole (deactivating its last admin,
	// or taking the admin role from them). Nothing was changed.
	ErrLastAdmin = store.ErrLastRoleHolder
)

// FieldError codes.
const (
	CodeInvalidArgument  = store.CodeInvalidArgument
	CodeMalformedRequest = store.CodeMalformedRequest
)

// FieldError reports a bad input value: its Code, the full path of the
// Field at fault in the JSON API's spelling ("email", "roles[0]",
// "userProfile.firstName", "metadata.plan") and a Message safe to show.
type FieldError = store.FieldError

// PolicyError is a refusal by Config.BeforeInvite. Reason is shown to the
// caller (the JSON API returns it as the error message). A hook that
// returns any other error refuses too; the Service wraps that error in a
// PolicyError with a generic Reason and keeps it in Err (not shown).
type PolicyError = store.PolicyError

var (
	invalid   = store.Invalid
	malformed = store.Malformed
)
