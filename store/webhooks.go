package store

import (
	"context"
	"errors"
	"strings"
	"time"
)

// Webhook event types: the stable, documented names a webhook endpoint
// subscribes to and that a webhook payload's "type" carries. Their payloads
// are versioned (WebhookPayloadVersion); a name never changes meaning.
const (
	WebhookInvitationCreated  = "invitation.created"
	WebhookInvitationResent   = "invitation.resent"
	WebhookInvitationAccepted = "invitation.accepted"
	WebhookInvitationRevoked  = "invitation.revoked"
	WebhookInvitationExpired  = "invitation.expired"

	WebhookMembershipCreated      = "membership.created"
	WebhookMembershipActivated    = "membership.activated"
	WebhookMembershipDeactivated  = "membership.deactivated"
	WebhookMembershipRolesChanged = "membership.roles_changed"
	// WebhookMembershipUpdated is every change to a membership's roles,
	// metadata, external id or the organization's profile of the person
	// (an API or team-page edit, a SCIM PATCH, an SSO sign-in naming its
	// connection); details say what changed (e.g. "roles",
	// "profile": "updated", "primary_identity_provider").
	WebhookMembershipUpdated = "membership.updated"
	WebhookMembershipRemoved = "membership.removed"

	WebhookUserSignedIn     = "user.signed_in"
	WebhookIdentityLinked   = "identity.linked"
	WebhookEndpointDisabled = "webhook.endpoint_disabled"
)

// EventInvitationExpired is the store event the expiry sweeper appends,
// once per invitation (WebhookStore.NoticeExpiredInvitations).
const EventInvitationExpired = "invitation.expired"

// EventWebhookEndpointDisabled is appended when an endpoint that failed
// for too long is disabled.
const EventWebhookEndpointDisabled = "webhook.endpoint_disabled"

// WebhookPayloadVersion is the version of every webhook payload's shape.
const WebhookPayloadVersion = 1

// WebhookMapping maps one store event type to one webhook event type. When
// DataKey is not empty, only events whose Data has that key map.
type WebhookMapping struct {
	StoreType   string
	WebhookType string
	DataKey     string
}

// WebhookMappings is the one table from the store's event types to the
// webhook event types. A store event may map to several webhook types
// (an acceptance is invitation.accepted and membership.activated); store
// events not listed (organization.created, mail.dead_lettered, …) are not
// delivered. The SQL stores mirror this table in their migration
// (webhook_event_map); their tests check that the two agree.
var WebhookMappings = []WebhookMapping{
	{EventMembershipInvited, WebhookInvitationCreated, ""},
	{EventMembershipInvited, WebhookMembershipCreated, ""},
	{EventMembershipAdded, WebhookMembershipCreated, ""},
	{EventMembershipAdded, WebhookMembershipActivated, ""},
	{EventInvitationResent, WebhookInvitationResent, ""},
	{EventInvitationRenewed, WebhookInvitationResent, ""},
	{EventMembershipAccepted, WebhookInvitationAccepted, ""},
	{EventMembershipAccepted, WebhookMembershipActivated, ""},
	{EventMembershipRevoked, WebhookInvitationRevoked, ""},
	{EventMembershipRevoked, WebhookMembershipRemoved, ""},
	{EventInvitationExpired, WebhookInvitationExpired, ""},
	{EventMembershipDeactivated, WebhookMembershipDeactivated, ""},
	{EventMembershipReactivated, WebhookMembershipActivated, ""},
	{EventMembershipUpdated, WebhookMembershipRolesChanged, "roles"},
	{EventMembershipRemoved, WebhookMembershipRemoved, ""},
	{EventUserLoggedIn, WebhookUserSignedIn, ""},
	{"identity.linked", WebhookIdentityLinked, ""},
	{EventWebhookEndpointDisabled, WebhookEndpointDisabled, ""},
	// Approval before invitation (approvals.go; ord 60–65 in the SQL
	// stores' map, migration 0006): an approved hold is also the
	// invitation and the membership a plain invite creates.
	{EventMembershipHeld, WebhookInvitationHeld, ""},
	{EventHoldApproved, WebhookInvitationApproved, ""},
	{EventHoldApproved, WebhookInvitationCreated, ""},
	{EventHoldApproved, WebhookMembershipCreated, ""},
	{EventHoldRejected, WebhookInvitationRejected, ""},
	{EventHoldExpired, WebhookInvitationHoldExpired, ""},
	// 0007_join_domains (ord 70…, after 0006_approvals' 60…): requests
	// to join and email domains.
	{EventJoinRequested, WebhookJoinRequestCreated, ""},
	{EventJoinApproved, WebhookJoinRequestApproved, ""},
	{EventJoinApproved, WebhookMembershipCreated, ""},
	{EventJoinApproved, WebhookMembershipActivated, ""},
	{EventJoinDeclined, WebhookJoinRequestDeclined, ""},
	{EventMembershipDomainJoined, WebhookMembershipCreated, ""},
	{EventMembershipDomainJoined, WebhookMembershipActivated, ""},
	{EventDomainVerified, WebhookDomainVerified, ""},
	{EventDomainUnverified, WebhookDomainUnverified, ""},
	// 0019_sso_webhooks (ord 190…): SSO connection changes. SSO sign-ins
	// are EventUserLoggedIn (with connection_id), mapped above.
	{EventSSOConnectionSaved, WebhookSSOConnectionSaved, ""},
	{EventSSOConnectionDeleted, WebhookSSOConnectionDeleted, ""},
	{EventSSOTrustUpdated, WebhookSSOTrustUpdated, ""},
	// 0020_membership_updated (ord 200): every membership update, not
	// only one that carries roles.
	{EventMembershipUpdated, WebhookMembershipUpdated, ""},
}

// WebhookTypesOf returns the webhook event types ev maps to (WebhookMappings).
func WebhookTypesOf(ev Event) []string {
	var out []string
	for _, m := range WebhookMappings {
		if m.StoreType != ev.Type {
			continue
		}
		if m.DataKey != "" {
			if _, ok := ev.Data[m.DataKey]; !ok {
				continue
			}
		}
		out = append(out, m.WebhookType)
	}
	return out
}

// KnownWebhookType reports whether typ is a webhook event type of
// WebhookMappings.
func KnownWebhookType(typ string) bool {
	for _, m := range WebhookMappings {
		if m.WebhookType == typ {
			return true
		}
	}
	return false
}

// WebhookMessageID returns the stable webhook-id of the message of
// webhook type typ made from the event eventID: "msg_" + the event id's
// suffix + "_" + typ with dots as underscores. Every endpoint and every
// attempt gets the same id, so a receiver deduplicates on it. The SQL
// stores compute the same string in SQL.
func WebhookMessageID(eventID, typ string) string {
	_, suffix, ok := strings.Cut(eventID, "_")
	if !ok {
		suffix = eventID
	}
	return "msg_" + suffix + "_" + strings.ReplaceAll(typ, ".", "_")
}

// WebhookEndpoint is a registered webhook receiver.
type WebhookEndpoint struct {
	ID  string // "whep_…"
	URL string
	// EventTypes are the webhook event types it receives (Webhook…).
	EventTypes []string
	// OrganizationID, when not empty, limits the endpoint to that
	// organization's events (an org-scoped endpoint); "" is app-wide.
	OrganizationID string
	Description    string
	// SealedSecret is the "whsec_…" signing secret sealed with the kit's
	// key (outbox.Sealer, message id = the endpoint id). Never plain.
	SealedSecret []byte
	// SealedPreviousSecret, until PreviousSecretUntil, also signs: a
	// rotation sends both signatures during the overlap.
	SealedPreviousSecret []byte
	PreviousSecretUntil  time.Time
	CreatedBy            string
	CreateTime           time.Time
	UpdateTime           time.Time
	DisabledTime         *time.Time // nil while enabled
	DisabledReason       string
	// FailingSince is the time of the first failed attempt since the
	// last success, nil while the endpoint is healthy (read-only here:
	// WebhookEndpointHealth keeps it).
	FailingSince *time.Time
	// Revision is set by the store: 0 when created, one more on every
	// write of UpdateWebhookEndpoint or DisableFailingWebhookEndpoint.
	// UpdateWebhookEndpoint writes only if it is still the stored one.
	Revision int64
}

// ErrWebhookEndpointStale: UpdateWebhookEndpoint was given an endpoint
// whose Revision is no longer the stored one (another write came in
// between); nothing was written. Read it again and redo the change.
var ErrWebhookEndpointStale = errors.New("invitekit: the webhook endpoint changed since it was read")

// Subscribes reports whether the endpoint receives webhook type typ of
// organization orgID: it is enabled, subscribed to typ, and app-wide or of
// orgID.
func (e WebhookEndpoint) Subscribes(orgID, typ string) bool {
	if e.DisabledTime != nil || (e.OrganizationID != "" && e.OrganizationID != orgID) {
		return false
	}
	for _, t := range e.EventTypes {
		if t == typ {
			return true
		}
	}
	return false
}

// WebhookDeliveryStatus is the state of a webhook delivery.
type WebhookDeliveryStatus string

// Webhook delivery statuses.
const (
	WebhookPending   WebhookDeliveryStatus = "PENDING"
	WebhookDelivered WebhookDeliveryStatus = "DELIVERED"
	WebhookDead      WebhookDeliveryStatus = "DEAD"
)

// WebhookDelivery is one message to one endpoint. It is written in the
// same transaction as the event it is made of, for every enabled endpoint
// subscribed to one of the event's webhook types then.
type WebhookDelivery struct {
	Seq             int64  // assigned by the store; insertion order
	EndpointID      string // with MessageID, the delivery's key
	MessageID       string // the webhook-id (WebhookMessageID)
	OrganizationID  string
	Type            string // the webhook event type
	Event           Event  // the event it is made of (filled in on read)
	Status          WebhookDeliveryStatus
	Attempts        int
	NextAttemptTime time.Time
	LeaseUntil      time.Time
	LastError       string
	CreateTime      time.Time
	DeliveredTime   *time.Time
}

// WebhookStore is an optional capability: webhook endpoints and their
// deliveries. A store that implements it (all built-in stores do) writes
// the deliveries of every event it appends in the event's own transaction,
// so a rolled-back change delivers nothing and a committed one is never
// lost. Claiming is safe across processes, as with Outbox.
type WebhookStore interface {
	CreateWebhookEndpoint(ctx context.Context, ep WebhookEndpoint) error
	// GetWebhookEndpoint returns ErrNotFound when there is no such endpoint.
	GetWebhookEndpoint(ctx context.Context, id string) (WebhookEndpoint, error)
	// ListWebhookEndpoints returns the endpoints of orgID ("" = the
	// app-wide ones; all = every endpoint), oldest first.
	ListWebhookEndpoints(ctx context.Context, orgID string, all bool) ([]WebhookEndpoint, error)
	// UpdateWebhookEndpoint replaces the endpoint's URL, EventTypes,
	// Description, secrets, DisabledTime, DisabledReason and UpdateTime,
	// and counts its Revision up by one, only if ep.Revision is the
	// stored Revision (a compare-and-swap in one statement): else it
	// writes nothing and returns ErrWebhookEndpointStale (ErrNotFound
	// when it does not exist). When ev is not nil it is appended in the
	// same transaction.
	UpdateWebhookEndpoint(ctx context.Context, ep WebhookEndpoint, ev *Event) error
	// DeleteWebhookEndpoint deletes the endpoint and its deliveries.
	DeleteWebhookEndpoint(ctx context.Context, id string) error
	// DeleteWebhookEndpointAt is DeleteWebhookEndpoint only while the
	// endpoint is at revision (a compare-and-swap, as
	// UpdateWebhookEndpoint's): else it deletes nothing and returns
	// ErrWebhookEndpointStale (ErrNotFound when it does not exist).
	DeleteWebhookEndpointAt(ctx context.Context, id string, revision int64) error

	// ClaimWebhookDeliveries leases up to limit PENDING deliveries whose
	// NextAttemptTime and LeaseUntil are not after now, oldest first, with
	// their Event. Deliveries of one endpoint and one organization are
	// claimed in order: one is claimable only while no earlier PENDING
	// delivery of the same endpoint and organization is waiting for its
	// next attempt or leased, so a later one never overtakes an earlier
	// one in backoff, and two claimers never hold deliveries of one
	// endpoint and organization at once.
	ClaimWebhookDeliveries(ctx context.Context, now, leaseUntil time.Time, limit int) ([]WebhookDelivery, error)
	// MarkWebhookDelivered, MarkWebhookRetry and MarkWebhookDead apply
	// only to a PENDING delivery (else a no-op); ErrNotFound when there is
	// none.
	MarkWebhookDelivered(ctx context.Context, endpointID, messageID string, attempts int, at time.Time) error
	MarkWebhookRetry(ctx context.Context, endpointID, messageID string, attempts int, next time.Time, lastErr string) error
	MarkWebhookDead(ctx context.Context, endpointID, messageID string, attempts int, lastErr string) error
	// ReplayWebhookDelivery makes a DEAD or DELIVERED delivery PENDING
	// again, due at now, with Attempts 0 (ErrNotFound when there is none).
	ReplayWebhookDelivery(ctx context.Context, endpointID, messageID string, now time.Time) error
	// GetWebhookDelivery returns one delivery with its Event.
	GetWebhookDelivery(ctx context.Context, endpointID, messageID string) (WebhookDelivery, error)
	// ListWebhookDeliveries returns the endpoint's deliveries with status
	// ("" = any) and a Seq after afterSeq (0: from the first), oldest
	// (lowest Seq) first, at most limit (0 means 100), with their Event:
	// the last one's Seq is the afterSeq of the next page.
	ListWebhookDeliveries(ctx context.Context, endpointID string, status WebhookDeliveryStatus, afterSeq int64, limit int) ([]WebhookDelivery, error)
	// NoticeExpiredInvitations appends, once per invitation, an
	// EventInvitationExpired event for up to limit pending invitations
	// (unspent, unrevoked) whose ExpireTime is not after now, and returns
	// how many it appended.
	NoticeExpiredInvitations(ctx context.Context, now time.Time, limit int) (int, error)
}
