package store

import (
	"time"

	"github.com/invitekit/invitekit/mailer/outbox"
)

// MembershipStatus is the state of a person's membership in an organization.
//
// The stored status is one of PENDING_INVITE, ACTIVE or INACTIVE.
// INVITE_EXPIRED is never stored: it is derived on read from a pending
// membership whose invitation has expired (see Membership.EffectiveStatus).
type MembershipStatus string

// Membership statuses, as they appear in the JSON API.
const (
	StatusPendingInvite MembershipStatus = "PENDING_INVITE"
	StatusActive        MembershipStatus = "ACTIVE"
	StatusInactive      MembershipStatus = "INACTIVE"
	StatusInviteExpired MembershipStatus = "INVITE_EXPIRED"
)

// Valid reports whether s is one of the known statuses (the four above and
// StatusPendingApproval, approvals.go).
func (s MembershipStatus) Valid() bool {
	switch s {
	case StatusPendingInvite, StatusActive, StatusInactive, StatusInviteExpired, StatusPendingApproval:
		return true
	}
	return false
}

// Organization is a tenant. Every membership, invitation, event and outbox
// message belongs to exactly one organization.
type Organization struct {
	ID         string // "org_…"
	Name       string // display name, e.g. "Acme"
	Locale     string // default locale for mail to this org's invitees ("" = kit default)
	Metadata   map[string]string
	CreateTime time.Time
	UpdateTime time.Time
}

// Role is a named role. Its ID is "role_" + Name.
type Role struct {
	ID   string
	Name string
}

// RoleID returns the stable id of a role name ("admin" → "role_admin").
func RoleID(name string) string { return "role_" + name }

// UserProfile is the person's own profile, shared across organizations. It
// is app-scoped: organization-scoped surfaces show Membership.Profile.
type UserProfile struct {
	ID               string // "prof_…"
	FirstName        string
	LastName         string
	Name             string // display name; defaults to "First Last"
	Locale           string // BCP 47 tag such as "en" or "de"
	EmailVerified    bool
	PhoneNumber      string
	Metadata         map[string]string
	CustomAttributes map[string]string
}

// MemberProfile is the profile one organization holds for a member (see
// Membership.Profile).
type MemberProfile struct {
	FirstName        string
	LastName         string
	Name             string // display name; defaults to "First Last"
	Locale           string // BCP 47 tag such as "en" or "de"
	PhoneNumber      string
	Metadata         map[string]string
	CustomAttributes map[string]string
}

// User is a person. There is at most one user per normalized email.
type User struct {
	ID         string // "usr_…"
	Email      string // normalized (see invite.NormalizeEmail)
	ExternalID string // the app's own id for the person; unique when not empty
	Profile    UserProfile
	Metadata   map[string]string
	CreateTime time.Time
	UpdateTime time.Time
	LastLogin  *time.Time // nil until the first login
	// SessionGeneration counts "sign out everywhere" (SessionRevoker): a
	// session carries the generation it was made in and is refused once
	// the user's is higher. Zero until the first revocation.
	SessionGeneration int64
}

// Membership ties a user to an organization. There is at most one membership
// per (OrganizationID, UserID).
type Membership struct {
	OrganizationID string
	UserID         string
	Status         MembershipStatus // stored status: PENDING_INVITE, ACTIVE or INACTIVE
	Roles          []string         // role names, e.g. ["admin"]
	Metadata       map[string]string
	// PrimaryIdentityProvider names the identity provider the member signed
	// in with ("IDENTITY_PROVIDER_UNSPECIFIED" until the first login).
	PrimaryIdentityProvider string
	InvitedBy               string    // user id of the inviter ("" for system or self)
	InviteExpireTime        time.Time // zero unless the membership is pending
	JoinTime                time.Time // when the membership was created
	UpdateTime              time.Time

	// The organization's view of the person: what this organization wrote
	// about them (or the person shared with it). An organization-scoped
	// surface shows only these, never the User's own fields, so that no
	// organization sees what another wrote about a shared person.

	// ExternalID is the organization's own id for the person; unique
	// within the organization when not empty (ErrExternalIDTaken).
	ExternalID string
	// Profile is the name and profile the person is known by here.
	Profile MemberProfile
	// UserMetadata is the seed's top-level user "metadata", as this
	// organization wrote it (Metadata above is the membership's).
	UserMetadata map[string]string
	// LastLogin is the person's last sign-in since they joined this
	// organization (nil while pending, and until the first sign-in).
	LastLogin *time.Time
	// Seq orders memberships within the store (insertion order). It is
	// assigned by the store and used for cursor pagination.
	Seq int64
}

// EffectiveStatus returns the status a reader should see at time now:
// a pending membership whose invitation expired is INVITE_EXPIRED.
func (m Membership) EffectiveStatus(now time.Time) MembershipStatus {
	if m.Status == StatusPendingInvite && !m.InviteExpireTime.IsZero() && !now.Before(m.InviteExpireTime) {
		return StatusInviteExpired
	}
	return m.Status
}

// HasRole reports whether the membership has the named role.
func (m Membership) HasRole(name string) bool {
	for _, r := range m.Roles {
		if r == name {
			return true
		}
	}
	return false
}

// LosesRole reports whether changing m to status and roles (nil roles:
// unchanged) takes role away from an ACTIVE holder of it — the change a
// KeepRole guard refuses when m is the organization's last such holder.
// An empty role is never lost.
func (m Membership) LosesRole(role string, status MembershipStatus, roles []string) bool {
	if role == "" || m.Status != StatusActive || !m.HasRole(role) {
		return false
	}
	if status != StatusActive {
		return true
	}
	if roles == nil {
		return false
	}
	for _, r := range roles {
		if r == role {
			return false
		}
	}
	return true
}

// Member is a user together with one of their memberships, as listed for an
// organization.
type Member struct {
	User       User
	Membership Membership
}

// Invitation is a single-use invitation into one organization.
//
// The token a person receives is "<ID>.<verifier>"; only a SHA-256 hash of
// the verifier is stored (VerifierHash), so a dump of the store never yields
// a working link. The ID alone (the selector) grants nothing.
type Invitation struct {
	ID             string // "inv_…", the token's selector
	OrganizationID string
	UserID         string
	Email          string // normalized invited email
	VerifierHash   []byte // SHA-256 of the token's verifier
	InvitedBy      string
	CreateTime     time.Time
	ExpireTime     time.Time
	SpendTime      *time.Time // set once, when the invitation is accepted
	RevokeTime     *time.Time // set when the invitation is revoked
}

// Identity links an identity at an OpenID provider (Issuer + Subject) to a user.
type Identity struct {
	Issuer     string
	Subject    string
	UserID     string
	Email      string // email the provider asserted at link time
	CreateTime time.Time
}

// Event types written by the kit. Every state change writes exactly one event.
const (
	EventOrganizationCreated    = "organization.created"
	EventMembershipInvited      = "membership.invited"         // PENDING_INVITE created, mail queued
	EventMembershipAdded        = "membership.added"           // ACTIVE created directly, no invitation mail
	EventMembershipAccepted     = "membership.accepted"        // PENDING_INVITE → ACTIVE
	EventMembershipRevoked      = "membership.revoked"         // pending membership deleted
	EventMembershipDeactivated  = "membership.deactivated"     // ACTIVE → INACTIVE
	EventMembershipReactivated  = "membership.reactivated"     // INACTIVE → ACTIVE
	EventMembershipUpdated      = "membership.updated"         // roles or metadata changed
	EventInvitationResent       = "invitation.resent"          // reminder while valid
	EventInvitationRenewed      = "invitation.renewed"         // fresh token and expiry
	EventInvitationRenewRequest = "invitation.renew_requested" // invitee asked for a new link
	EventMailDeadLettered       = "mail.dead_lettered"
	EventUserLoggedIn           = "user.logged_in"
)

// Event is an entry in an organization's change feed, the integration point
// for CRM and HR systems. Events of one organization are totally ordered by Seq.
type Event struct {
	ID             string // "evt_…"
	Seq            int64  // assigned by the store, strictly increasing per store
	OrganizationID string
	Type           string
	UserID         string            // the user the event is about ("" if none)
	ActorID        string            // who caused it ("" for system)
	Data           map[string]string // small, non-secret details
	CreateTime     time.Time
}

// OutboxStatus is the state of a queued mail.
type OutboxStatus string

// Outbox statuses.
const (
	OutboxQueued OutboxStatus = "QUEUED"
	OutboxSent   OutboxStatus = "SENT"
	OutboxDead   OutboxStatus = "DEAD"
)

// Mail kinds queued by the kit (OutboxMessage.Kind). They are the kinds of
// the outbox contract, package mailer/outbox (a standard-library-only leaf),
// under the names store users have always used.
const (
	MailInvitation = outbox.KindInvitation // first invitation
	MailReminder   = outbox.KindReminder   // resend while the invitation is valid
	MailRenewed    = outbox.KindRenewed    // fresh token and expiry after expiry
	MailAdded      = outbox.KindAdded      // "you were added" notice for a direct add
)

// OutboxMessage is a mail waiting to be delivered. It is written in the same
// transaction as the change that causes it, so a mail is never lost and never
// sent for a change that did not happen.
//
// Sealed holds the secret part of the mail (the accept link), encrypted with
// the kit's secret key; the store erases it (sets it to nil) once the mail is
// sent or dead-lettered.
type OutboxMessage struct {
	ID              string // "msg_…"
	OrganizationID  string
	Kind            string // outbox.KindInvitation, KindReminder, … (MailInvitation, …)
	To              string
	MessageID       string            // stable RFC 5322 Message-ID, the same on every attempt
	Data            map[string]string // non-secret template data (names, org name, locale, …); keys outbox.Data…
	Sealed          []byte            // secret template data sealed by an outbox.Sealer; nil once delivered
	Status          OutboxStatus
	Attempts        int
	NextAttemptTime time.Time
	LeaseUntil      time.Time // a claimed message is invisible to other claimers until then
	LastError       string
	CreateTime      time.Time
	SentTime        *time.Time
}
