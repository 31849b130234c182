// Package store defines invitekit's domain types and the Store interface its
// persistence layer implements.
//
// Every method takes a context first. Methods that read a single entity
// return ErrNotFound (possibly wrapped) when it does not exist; callers test
// with errors.Is. Every method that touches organization data is scoped by
// organization id: an implementation must never return or change rows of
// another organization.
//
// Writes that must not be half-done are single methods that the store runs
// atomically (in one transaction): CreateMembership, AcceptInvitation,
// ReissueInvitation, RevokeInvitation, SetMembershipStatus, UpdateMembership
// and the outbox transitions. Each of them also appends the Event it is
// given, in the same transaction.
//
// Implementations: store/memstore (in memory, for tests), store/sqlitestore
// (the embedded default) and store/pgstore (PostgreSQL, for many replicas).
// Every implementation must pass store/storetest.Run and be safe for
// concurrent use.
package store

import (
	"context"
	"time"
)

// CreateMembershipParams is everything one invite or direct add writes.
type CreateMembershipParams struct {
	// User is the user to create when no user has User.Email yet. When one
	// exists, the existing user is reused unchanged (no second user) and
	// returned; User.ID is then ignored.
	User       User
	Membership Membership // UserID is filled in by the store
	// Invitation, when not nil, is inserted with UserID filled in by the store.
	Invitation *Invitation
	// Outbox, when not nil, is queued.
	Outbox *OutboxMessage
	// Event is appended; its UserID is filled in by the store.
	Event Event
}

// CreateMembershipResult is what CreateMembership wrote or reused.
type CreateMembershipResult struct {
	User        User
	Membership  Membership
	UserCreated bool // false when an existing user was reused
}

// AcceptParams spends an invitation.
type AcceptParams struct {
	InvitationID string
	Now          time.Time
	// Identity is linked to the invitation's user (insert, or no-op when the
	// same issuer+subject is already linked to that user).
	Identity Identity
	// EmailVerified, when true, sets the user's Profile.EmailVerified.
	EmailVerified bool
	// IdentityProvider is stored as the membership's PrimaryIdentityProvider.
	IdentityProvider string
	// ProfileName, when not empty, becomes the membership's Profile.Name
	// if that is empty (the name the connection asserted; what the
	// organization wrote is never overwritten).
	ProfileName string
	Event       Event
}

// ReissueParams rotates an invitation's verifier (a reminder keeps the
// expiry; a renewal extends it).
type ReissueParams struct {
	InvitationID    string
	Now             time.Time
	NewVerifierHash []byte
	NewExpireTime   time.Time
	Outbox          *OutboxMessage
	Event           Event
}

// MembershipUpdate changes roles, metadata and the organization's view of
// the person. A nil field is unchanged; a non-nil empty one clears it.
type MembershipUpdate struct {
	Roles    []string
	Metadata map[string]string
	// ExternalID, when not nil, replaces Membership.ExternalID
	// (ErrExternalIDTaken when another membership of the organization has
	// it; "" clears it).
	ExternalID *string
	// Profile, when not nil, replaces Membership.Profile as a whole.
	Profile *MemberProfile
	// UserMetadata, when not nil, replaces Membership.UserMetadata.
	UserMetadata map[string]string
	// KeepRole, when not empty, refuses with ErrLastRoleHolder (writing
	// nothing) an update whose Roles take KeepRole away from an ACTIVE
	// membership while no other ACTIVE membership of the organization
	// holds it. The check and the write are atomic: of two concurrent
	// updates taking the role from the last two holders, one fails.
	KeepRole string
}

// StatusChange is a SetMembershipStatus request.
type StatusChange struct {
	// From and To: the status changes to To only if it is From.
	From, To MembershipStatus
	Now      time.Time
	Event    Event
	// KeepRole, when not empty, refuses with ErrLastRoleHolder (writing
	// nothing) a change that takes an ACTIVE membership holding KeepRole
	// out of ACTIVE while no other ACTIVE membership of the organization
	// holds it; atomically, as in MembershipUpdate.
	KeepRole string
}

// ListOptions selects a page of an organization's members.
type ListOptions struct {
	// Status filters by effective status (zero = all). INVITE_EXPIRED and
	// PENDING_INVITE are told apart with Now.
	Status MembershipStatus
	Now    time.Time
	// Query, when not empty, keeps members whose email, or name in the
	// organization's view (Membership.Profile: Name, FirstName, LastName),
	// contains it (case-insensitive).
	Query string
	// After is the cursor from a previous page ("" = first page).
	After string
	Limit int // 1..1000; 0 means 50
}

// Page is one page of members, in membership insertion order.
type Page struct {
	Members []Member
	// Next is the cursor for the following page, "" when this is the last.
	Next string
}

// Organizations reads and writes tenants.
type Organizations interface {
	// CreateOrganization inserts org and appends ev. It returns
	// ErrOrganizationExists when org.ID is taken.
	CreateOrganization(ctx context.Context, org Organization, ev Event) error
	// GetOrganization returns ErrNotFound when no such organization exists.
	GetOrganization(ctx context.Context, orgID string) (Organization, error)
}

// Users reads users and their identities.
type Users interface {
	GetUser(ctx context.Context, userID string) (User, error)
	// GetUserByEmail looks up a normalized email.
	GetUserByEmail(ctx context.Context, email string) (User, error)
	GetUserByExternalID(ctx context.Context, externalID string) (User, error)
	// GetIdentity returns the identity linked to issuer+subject, or ErrNotFound.
	GetIdentity(ctx context.Context, issuer, subject string) (Identity, error)
	// LinkIdentity links issuer+subject to id.UserID and appends ev. It is a
	// no-op (nil) when the identity is already linked to the same user, and
	// returns ErrIdentityTaken when it is linked to another user.
	LinkIdentity(ctx context.Context, id Identity, ev Event) error
	// RecordLogin sets the user's LastLogin, and the LastLogin of each of
	// the user's ACTIVE memberships, and appends ev (EventUserLoggedIn).
	RecordLogin(ctx context.Context, userID string, at time.Time, ev Event) error
}

// Memberships reads and changes memberships and invitations.
type Memberships interface {
	// CreateMembership atomically creates (or reuses, by email) the user,
	// inserts the membership, the optional invitation and outbox message,
	// and appends the event. It returns ErrNotFound if the organization does
	// not exist, ErrAlreadyMember if the user already has a membership in
	// the organization, and ErrExternalIDTaken if p.Membership.ExternalID
	// belongs to another membership of the organization (or a new user's
	// app-scoped User.ExternalID to another user). On error nothing is
	// written.
	CreateMembership(ctx context.Context, p CreateMembershipParams) (CreateMembershipResult, error)

	// GetMembership returns ErrNotFound when the user has no membership in orgID.
	GetMembership(ctx context.Context, orgID, userID string) (Membership, error)
	// GetMembershipByExternalID returns orgID's membership whose
	// ExternalID is externalID, or ErrNotFound. Other organizations'
	// external ids are never consulted.
	GetMembershipByExternalID(ctx context.Context, orgID, externalID string) (Membership, error)
	// ListUserMemberships returns all of a user's memberships (any org), in
	// insertion order. Used at login; never exposed across tenants.
	ListUserMemberships(ctx context.Context, userID string) ([]Membership, error)
	// ListMembers returns a page of orgID's members, or ErrInvalidCursor
	// for an opts.After it did not hand out.
	ListMembers(ctx context.Context, orgID string, opts ListOptions) (Page, error)

	// UpdateMembership changes roles and/or metadata and appends ev.
	UpdateMembership(ctx context.Context, orgID, userID string, u MembershipUpdate, now time.Time, ev Event) (Membership, error)
	// SetMembershipStatus changes the status from c.From to c.To only if
	// the stored status is c.From (else ErrWrongStatus), and appends
	// c.Event. See StatusChange.KeepRole for ErrLastRoleHolder.
	SetMembershipStatus(ctx context.Context, orgID, userID string, c StatusChange) (Membership, error)

	// GetInvitation returns an invitation by id (the token's selector).
	GetInvitation(ctx context.Context, invitationID string) (Invitation, error)
	// GetMembershipInvitation returns the newest invitation of a membership.
	GetMembershipInvitation(ctx context.Context, orgID, userID string) (Invitation, error)
	// AcceptInvitation atomically: spends the invitation (only if not spent,
	// not revoked and not expired at p.Now), links the identity, optionally
	// marks the email verified, flips the PENDING_INVITE membership to ACTIVE
	// (its LastLogin becomes p.Now) and appends the event. It returns ErrNotFound, ErrInviteUsed,
	// ErrInviteRevoked, ErrInviteExpired, ErrWrongStatus (membership not
	// pending) or ErrIdentityTaken (issuer+subject linked to another user).
	// Of many concurrent calls for one invitation exactly one succeeds.
	AcceptInvitation(ctx context.Context, p AcceptParams) (Membership, error)
	// ReissueInvitation replaces the verifier hash and expiry of an unspent,
	// unrevoked invitation, sets the membership's InviteExpireTime, queues
	// the outbox message and appends the event.
	ReissueInvitation(ctx context.Context, p ReissueParams) (Invitation, error)
	// RevokeInvitation deletes orgID's PENDING_INVITE membership of userID,
	// marks its invitations revoked and appends ev. It returns ErrNotFound or
	// ErrWrongStatus (membership not pending).
	RevokeInvitation(ctx context.Context, orgID, userID string, now time.Time, ev Event) error
}

// Events is the append-only change feed.
type Events interface {
	// AppendEvent appends a standalone event (one not tied to another write).
	AppendEvent(ctx context.Context, ev Event) error
	// ListEvents returns orgID's events with Seq > afterSeq in Seq order,
	// at most limit (0 means 100).
	ListEvents(ctx context.Context, orgID string, afterSeq int64, limit int) ([]Event, error)
}

// Outbox is the queue of mails the dispatcher delivers. Claiming is safe
// across processes: a claimed message is not returned to another claimer
// until its lease ends.
type Outbox interface {
	// ClaimOutbox leases up to limit QUEUED messages whose NextAttemptTime
	// and LeaseUntil are not after now, setting LeaseUntil = leaseUntil, and
	// returns them (oldest first).
	ClaimOutbox(ctx context.Context, now, leaseUntil time.Time, limit int) ([]OutboxMessage, error)
	// MarkOutboxSent marks a message sent and erases its Sealed data.
	MarkOutboxSent(ctx context.Context, id string, at time.Time) error
	// MarkOutboxRetry records a failed attempt: Attempts is set to attempts,
	// LastError to lastErr, NextAttemptTime to next, and the lease released.
	MarkOutboxRetry(ctx context.Context, id string, attempts int, next time.Time, lastErr string) error
	// MarkOutboxDead dead-letters a message, erases its Sealed data and
	// appends ev (EventMailDeadLettered).
	MarkOutboxDead(ctx context.Context, id string, attempts int, lastErr string, at time.Time, ev Event) error
	// ListOutbox returns orgID's messages with the given status, oldest
	// first, at most limit (0 means 100).
	ListOutbox(ctx context.Context, orgID string, status OutboxStatus, limit int) ([]OutboxMessage, error)
	// CountOutbox counts messages (all organizations) with the given status.
	CountOutbox(ctx context.Context, status OutboxStatus) (int, error)
}

// Store is the full persistence interface the kit needs.
type Store interface {
	Organizations
	Users
	Memberships
	Events
	Outbox
}

// BatchCreator is an optional capability for bulk import: a store that
// implements it writes many memberships in one transaction. Each params
// element behaves as CreateMembership would; a per-item failure
// (ErrAlreadyMember, ErrExternalIDTaken, ErrNotFound) is reported in that
// item's result and does not stop or roll back the others. A non-nil
// returned error means nothing in the batch was written.
type BatchCreator interface {
	CreateMemberships(ctx context.Context, ps []CreateMembershipParams) ([]BatchResult, error)
}

// OrganizationMemberCreator is an optional capability: a store that
// implements it (all built-in stores do) creates an organization and its
// first member in one transaction. invite.Service.CreateOrganization uses it
// when the request names an admin; without it the organization and the
// admin's membership are two writes, and a failure of the second leaves the
// organization without its admin.
type OrganizationMemberCreator interface {
	// CreateOrganizationWithMember does CreateOrganization(org, ev) and then
	// CreateMembership(p) (p's organization is org) atomically: on any
	// error nothing is written. Its errors are those of the two methods.
	CreateOrganizationWithMember(ctx context.Context, org Organization, ev Event, p CreateMembershipParams) (CreateMembershipResult, error)
}

// BatchResult is one item's outcome in CreateMemberships.
type BatchResult struct {
	CreateMembershipResult
	Err error
}

// Closer is implemented by stores that hold resources.
type Closer interface {
	Close() error
}
