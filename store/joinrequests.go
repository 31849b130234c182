package store

import (
	"context"
	"errors"
	"slices"
	"time"
)

// Requests to join: a signed-in person without a membership asks to join
// an organization; its admins approve (the person becomes ACTIVE) or
// decline. JoinRequestStore is the optional capability that keeps the
// requests; a store without it still works everywhere else, and
// invite.Service's join request methods then return
// ErrJoinRequestsUnsupported.

// Errors of join requests.
var (
	// ErrJoinRequestsUnsupported: the store does not implement
	// JoinRequestStore.
	ErrJoinRequestsUnsupported = errors.New("invitekit: the store does not support join requests")
	// ErrJoinRequestPending: the person already has a pending request to
	// the organization.
	ErrJoinRequestPending = errors.New("invitekit: a request to join this organization is already pending")
	// ErrJoinCooldown: the organization declined the person's last request
	// recently (the Service's cool-down; stores never return it).
	ErrJoinCooldown = errors.New("invitekit: the last request to join was declined recently; try again later")
)

// JoinRequestStatus is the state of a request to join.
type JoinRequestStatus string

// Join request statuses.
const (
	JoinRequestPending  JoinRequestStatus = "PENDING"
	JoinRequestApproved JoinRequestStatus = "APPROVED"
	JoinRequestDeclined JoinRequestStatus = "DECLINED"
)

// Event types of join requests (each step writes exactly one).
const (
	EventJoinRequested = "join_request.created"
	// EventJoinApproved is written with the ACTIVE membership the
	// approval creates.
	EventJoinApproved = "join_request.approved"
	EventJoinDeclined = "join_request.declined"
)

// Webhook event types of join requests (see WebhookMappings; an approval
// is also membership.created and membership.activated).
const (
	WebhookJoinRequestCreated  = "join_request.created"
	WebhookJoinRequestApproved = "join_request.approved"
	WebhookJoinRequestDeclined = "join_request.declined"
)

// JoinRequest is one person's request to join one organization.
type JoinRequest struct {
	ID             string // "jrq_…"
	OrganizationID string
	// Email is the person's normalized email, verified by the identity
	// provider when they asked. The approval creates (or reuses) the user
	// with this email.
	Email string
	// Name is the name the identity provider gave, or the person typed.
	Name string
	// Message is the person's note to the admins (may be empty).
	Message string
	Status  JoinRequestStatus
	// Roles are the roles the approval gave (empty until approved).
	Roles []string
	// UserID is the user the approval made a member ("" until approved).
	UserID string
	// DecidedBy is the admin's user id; Reason the decline's reason,
	// which the person is told.
	DecidedBy  string
	Reason     string
	CreateTime time.Time
	DecideTime *time.Time // nil while pending
}

// CopyJoinRequest returns r sharing no slice or pointer with it.
func CopyJoinRequest(r JoinRequest) JoinRequest {
	r.Roles = slices.Clone(r.Roles)
	if r.DecideTime != nil {
		t := *r.DecideTime
		r.DecideTime = &t
	}
	return r
}

// JoinDecision decides a pending request.
type JoinDecision struct {
	By     string    // the deciding admin's user id
	Reason string    // a decline's reason
	At     time.Time // the decision's time
	// Outbox, when not nil, is queued (the mail telling the person).
	Outbox *OutboxMessage
	// Event is appended (ApproveJoinRequest: the membership's event).
	Event Event
}

// JoinRequestStore is the optional capability join requests need. Every
// method is scoped by organization; LatestJoinRequest is how the person's
// own page finds their request.
type JoinRequestStore interface {
	// CreateJoinRequest inserts r (PENDING) and appends ev: ErrNotFound
	// for an unknown organization, ErrJoinRequestPending when the
	// organization has a PENDING request with r.Email (of many concurrent
	// calls for one email and organization, exactly one succeeds).
	CreateJoinRequest(ctx context.Context, r JoinRequest, ev Event) error
	// GetJoinRequest returns orgID's request id, or ErrNotFound.
	GetJoinRequest(ctx context.Context, orgID, id string) (JoinRequest, error)
	// LatestJoinRequest returns the newest request of email to orgID, in
	// any status, or ErrNotFound.
	LatestJoinRequest(ctx context.Context, orgID, email string) (JoinRequest, error)
	// ListJoinRequests returns orgID's requests with status ("" = any),
	// oldest first, at most limit (0 means 100).
	ListJoinRequests(ctx context.Context, orgID string, status JoinRequestStatus, limit int) ([]JoinRequest, error)
	// ApproveJoinRequest atomically marks orgID's PENDING request id
	// APPROVED (By and At from d, Roles from p.Membership.Roles, UserID
	// the member's) and does CreateMembership(p): p's outbox message and
	// event are written, d's are ignored. It returns ErrNotFound, ErrWrongStatus (not
	// pending: of two concurrent decisions exactly one succeeds) or
	// CreateMembership's errors; on error nothing is written.
	ApproveJoinRequest(ctx context.Context, orgID, id string, d JoinDecision, p CreateMembershipParams) (CreateMembershipResult, JoinRequest, error)
	// DeclineJoinRequest atomically marks orgID's PENDING request id
	// DECLINED, queues d.Outbox and appends d.Event: ErrNotFound,
	// ErrWrongStatus.
	DeclineJoinRequest(ctx context.Context, orgID, id string, d JoinDecision) (JoinRequest, error)
}
