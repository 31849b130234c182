package store

import (
	"context"
	"errors"
	"slices"
	"time"
)

// Approval before invitation: an organization's rules (or the app's policy
// hook) can hold an invite. A held invite is a membership in
// StatusPendingApproval with no invitation and no mail, and an
// ApprovalRequest that an approver decides: approved, the membership
// becomes PENDING_INVITE with a fresh invitation and its mail; rejected or
// expired, the membership is removed and the request keeps the reason.
// ApprovalStore is the optional capability that keeps all this; a store
// without it still works everywhere else, and invite.Service then never
// holds an invite (a hold answer is refused with ErrApprovalsUnsupported).

// StatusPendingApproval is a held invite: stored, never computed. It has no
// invitation and no usable token until it is approved.
const StatusPendingApproval MembershipStatus = "PENDING_APPROVAL"

// Errors of approval before invitation.
var (
	// ErrApprovalsUnsupported: the store does not implement ApprovalStore.
	ErrApprovalsUnsupported = errors.New("invitekit: the store does not support approval before invitation")
	// ErrAlreadyDecided: the held invite was approved, rejected or expired
	// already (of two approvers acting at once, the second gets it).
	ErrAlreadyDecided = errors.New("invitekit: the held invitation has already been decided")
	// ErrApprovalExpired: the held invite expired before it was approved.
	ErrApprovalExpired = errors.New("invitekit: the held invitation expired before it was approved")
	// ErrNotApprover: the acting user does not hold the approver role
	// (invite.Config.ApproverRole) in the organization.
	ErrNotApprover = errors.New("invitekit: only an approver of this organization may do this")
	// ErrDecisionStale: the organization's approval rules or the
	// inviter's roles changed between the decision and the write
	// (DecisionGuard); nothing was written, and the caller decides again.
	ErrDecisionStale = errors.New("invitekit: the approval rules or the inviter's roles changed while the invitation was decided")
)

// Event types of approval before invitation (each step writes exactly one).
const (
	// EventMembershipHeld: a PENDING_APPROVAL membership was created.
	EventMembershipHeld = "membership.held"
	// EventHoldApproved: PENDING_APPROVAL → PENDING_INVITE, with the
	// invitation (Data "invitation_id", "expire_time").
	EventHoldApproved = "membership.approved"
	// EventHoldRejected: the held membership was removed (Data "reason").
	EventHoldRejected = "membership.rejected"
	// EventHoldExpired: the held membership expired and was removed.
	EventHoldExpired = "membership.hold_expired"
	// EventApprovalRulesUpdated: an organization's rules changed.
	EventApprovalRulesUpdated = "organization.approval_rules_updated"
)

// Webhook event types of approval before invitation (WebhookMappings).
const (
	WebhookInvitationHeld        = "invitation.held"
	WebhookInvitationApproved    = "invitation.approved"
	WebhookInvitationRejected    = "invitation.rejected"
	WebhookInvitationHoldExpired = "invitation.hold_expired"
)

// ApprovalRules say which of an organization's invites wait for approval.
// An invite is held when any rule that is set matches. The zero value holds
// nothing.
type ApprovalRules struct {
	// All holds every invite.
	All bool
	// Roles holds an invite that requests any of these roles.
	Roles []string
	// InviterRoles holds an invite whose inviter holds any of these roles
	// (in their ACTIVE membership of the organization).
	InviterRoles []string
	// OutsideDomains holds an invite whose email's domain is not one of
	// Domains (nor, with a store.DomainStore, a domain the organization
	// verified).
	OutsideDomains bool
	// Domains are the organization's own email domains (lowercase).
	Domains []string

	// Revision is set by the store: 0 until the rules are first set, one
	// more on every SetApprovalRules. A DecisionGuard names the revision a
	// decision read.
	Revision   int64
	UpdateTime time.Time
	UpdatedBy  string
}

// CopyApprovalRules returns r sharing no slice with it.
func CopyApprovalRules(r ApprovalRules) ApprovalRules {
	r.Roles = slices.Clone(r.Roles)
	r.InviterRoles = slices.Clone(r.InviterRoles)
	r.Domains = slices.Clone(r.Domains)
	return r
}

// ApprovalStatus is the state of an ApprovalRequest.
type ApprovalStatus string

// Approval request statuses.
const (
	ApprovalPending  ApprovalStatus = "PENDING"
	ApprovalApproved ApprovalStatus = "APPROVED"
	ApprovalRejected ApprovalStatus = "REJECTED"
	ApprovalExpired  ApprovalStatus = "EXPIRED"
)

// ApprovalRequest is one held invite, and later its decision.
type ApprovalRequest struct {
	ID             string // "apr_…"
	OrganizationID string
	UserID         string // filled by the store from the held membership
	Email          string
	// Roles are the roles the invite asked for (after the policy hook).
	Roles     []string
	InvitedBy string
	// Surface is where the invite came from ("go", "api", "team_page",
	// "bulk", "scim").
	Surface string
	// HoldReason says why it was held (a rule, or the policy hook's
	// reason); approvers see it.
	HoldReason string
	Status     ApprovalStatus
	CreateTime time.Time
	// ExpireTime: a request still PENDING then can no longer be approved.
	ExpireTime time.Time
	// DecidedBy is the approver's user id ("" for an expiry); Reason the
	// rejection's reason.
	DecidedBy  string
	Reason     string
	DecideTime *time.Time
}

// CopyApprovalRequest returns r sharing no slice or pointer with it.
func CopyApprovalRequest(r ApprovalRequest) ApprovalRequest {
	r.Roles = slices.Clone(r.Roles)
	if r.DecideTime != nil {
		t := *r.DecideTime
		r.DecideTime = &t
	}
	return r
}

// DecisionGuard is what a decision to invite, hold or add read, checked by
// the store in the write's transaction: the write happens only if the
// organization's rules are still at RulesRevision and the inviter's ACTIVE
// roles are still InviterRoles. So the decision and the write cannot race
// a change of the rules or of the inviter's roles.
type DecisionGuard struct {
	RulesRevision int64
	// InviterID, when not empty, is checked: InviterRoles are the roles of
	// their ACTIVE membership in the organization the decision saw (nil
	// when they had none).
	InviterID    string
	InviterRoles []string
}

// Check returns ErrDecisionStale unless the rules' current revision and the
// inviter's current membership (found false: none) are what g read.
func (g DecisionGuard) Check(revision int64, inviter Membership, found bool) error {
	if revision != g.RulesRevision {
		return ErrDecisionStale
	}
	if g.InviterID == "" {
		return nil
	}
	var roles []string
	if found && inviter.Status == StatusActive {
		roles = append([]string{}, inviter.Roles...) // an ACTIVE member with no roles is not "none"
	}
	if (roles == nil) != (g.InviterRoles == nil) || !SameRoles(roles, g.InviterRoles) {
		return ErrDecisionStale
	}
	return nil
}

// SameRoles reports whether a and b hold the same role names, in any order.
func SameRoles(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}

// HoldDecision decides a PENDING ApprovalRequest.
type HoldDecision struct {
	// Status is ApprovalApproved, ApprovalRejected or ApprovalExpired.
	Status ApprovalStatus
	By     string    // the approver's user id ("" for an expiry)
	Reason string    // a rejection's reason
	At     time.Time // the decision's time
	// Approved only: Roles, when not nil, replace the held membership's
	// roles; Invitation (required) is inserted with UserID filled in and
	// the membership becomes PENDING_INVITE expiring with it.
	Roles      []string
	Invitation *Invitation
	// Outbox, when not nil, is queued (the invitation mail; for a
	// rejection, the notice to the inviter).
	Outbox *OutboxMessage
	// Event is appended (its UserID filled in).
	Event Event
}

// OrganizationRulesGetter is an optional capability of an ApprovalStore:
// GetOrganizationRules returns what GetOrganization and GetApprovalRules
// return, read together (pgstore: in one round trip). The invite service
// uses it to read both at once.
type OrganizationRulesGetter interface {
	GetOrganizationRules(ctx context.Context, orgID string) (Organization, ApprovalRules, error)
}

// ApprovalStore is the optional capability approval before invitation
// needs. Every method but DueApprovalRequests is scoped by organization.
type ApprovalStore interface {
	// GetApprovalRules returns orgID's rules (the zero rules, Revision 0,
	// when never set), or ErrNotFound for an unknown organization.
	GetApprovalRules(ctx context.Context, orgID string) (ApprovalRules, error)
	// SetApprovalRules replaces orgID's rules (Revision is the stored one
	// plus one; r.Revision is ignored), appends ev and returns the stored
	// rules: ErrNotFound for an unknown organization. It waits for, or
	// makes stale (ErrDecisionStale), a concurrent guarded create.
	SetApprovalRules(ctx context.Context, orgID string, r ApprovalRules, ev Event) (ApprovalRules, error)
	// CreateMembershipGuarded is CreateMembership(p), written only if g
	// still holds (else ErrDecisionStale, nothing written), checked and
	// written in one transaction. With hold not nil the membership must be
	// StatusPendingApproval with no invitation and no outbox message, and
	// hold (PENDING, UserID filled in) is inserted with it.
	CreateMembershipGuarded(ctx context.Context, p CreateMembershipParams, hold *ApprovalRequest, g DecisionGuard) (CreateMembershipResult, error)
	// GetApprovalRequest returns orgID's request id, or ErrNotFound.
	GetApprovalRequest(ctx context.Context, orgID, id string) (ApprovalRequest, error)
	// ListApprovalRequests returns orgID's requests with status ("" =
	// any), oldest first, at most limit (0 means 100).
	ListApprovalRequests(ctx context.Context, orgID string, status ApprovalStatus, limit int) ([]ApprovalRequest, error)
	// DueApprovalRequests returns PENDING requests of every organization
	// whose ExpireTime is not after now, oldest first, at most limit (0
	// means 100): the expiry sweep's work.
	DueApprovalRequests(ctx context.Context, now time.Time, limit int) ([]ApprovalRequest, error)
	// DecideHeld atomically decides orgID's PENDING request id (d.Status,
	// d.By, d.Reason, d.At), and: approved, turns the PENDING_APPROVAL
	// membership into PENDING_INVITE (roles d.Roles when not nil,
	// InviteExpireTime the invitation's) with d.Invitation; rejected or
	// expired, deletes the PENDING_APPROVAL membership; then queues
	// d.Outbox and appends d.Event. It returns ErrNotFound,
	// ErrAlreadyDecided (not PENDING: of concurrent decisions exactly one
	// succeeds), ErrApprovalExpired (approving at or after ExpireTime),
	// ErrWrongStatus (expiring before ExpireTime, or approving while the
	// membership is no longer PENDING_APPROVAL); on error nothing is
	// written. The membership is the approved one (zero otherwise).
	DecideHeld(ctx context.Context, orgID, id string, d HoldDecision) (ApprovalRequest, Membership, error)
}

// CheckHold refuses a held create whose params are not a hold: the
// membership must be StatusPendingApproval of hold's organization, with no
// invitation and no outbox message, and hold must have an id and be
// PENDING (or not yet set). Stores call it before writing.
func CheckHold(p CreateMembershipParams, hold ApprovalRequest) error {
	switch {
	case p.Membership.Status != StatusPendingApproval:
		return errors.New("held invite: the membership must be PENDING_APPROVAL")
	case p.Invitation != nil || p.Outbox != nil:
		return errors.New("held invite: a held membership has no invitation and no mail")
	case hold.ID == "":
		return errors.New("held invite: the approval request has no id")
	case hold.OrganizationID != "" && hold.OrganizationID != p.Membership.OrganizationID:
		return errors.New("held invite: the approval request is for another organization")
	}
	return nil
}

// CheckHoldDecision returns the error DecideHeld returns for deciding r
// with d; held tells whether r's membership is still PENDING_APPROVAL.
// Stores call it before writing.
func CheckHoldDecision(r ApprovalRequest, d HoldDecision, held bool) error {
	if r.Status != ApprovalPending {
		return ErrAlreadyDecided
	}
	switch d.Status {
	case ApprovalApproved:
		if d.Invitation == nil || d.Invitation.ID == "" {
			return errors.New("approving needs an invitation")
		}
		if !d.At.Before(r.ExpireTime) {
			return ErrApprovalExpired
		}
		if !held {
			return ErrWrongStatus
		}
	case ApprovalRejected:
	case ApprovalExpired:
		if d.At.Before(r.ExpireTime) {
			return ErrWrongStatus
		}
	default:
		return errors.New("a decision is APPROVED, REJECTED or EXPIRED")
	}
	return nil
}

// DecidedRequest is r as d decides it: its status, decider, reason and
// time (and, approved with d.Roles, those roles).
func DecidedRequest(r ApprovalRequest, d HoldDecision) ApprovalRequest {
	r = CopyApprovalRequest(r)
	at := d.At
	r.Status, r.DecidedBy, r.Reason, r.DecideTime = d.Status, d.By, d.Reason, &at
	if d.Status == ApprovalApproved && d.Roles != nil {
		r.Roles = slices.Clone(d.Roles)
	}
	return r
}
