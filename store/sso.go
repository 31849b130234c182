package store

import (
	"context"
	"errors"
	"slices"
	"time"
)

// Enterprise SSO: an organization may bring its own OpenID Connect
// provider (its Okta or Entra ID tenant). SSOConnectionStore is the
// optional capability that keeps each organization's connection and the
// connections other organizations trust; a store without it still works
// everywhere else, and invite.Service's SSO methods then return
// ErrSSOUnsupported.

// Errors of enterprise SSO.
var (
	// ErrSSOUnsupported: the store does not implement SSOConnectionStore.
	ErrSSOUnsupported = errors.New("invitekit: the store does not support SSO connections")
	// ErrSSOWrongOrganization: an organization's connection was used for
	// another organization (its sign-ins reach its own organization only,
	// and organizations that trust it).
	ErrSSOWrongOrganization = errors.New("invitekit: this sign-in belongs to another organization's single sign-on")
	// ErrSSORequired: the organization requires its own connection and the
	// session did not sign in through it.
	ErrSSORequired = errors.New("invitekit: this organization requires signing in through its single sign-on")
)

// CodeSSOTestFailed is the FieldError code of a connection whose
// discovery document or signing keys could not be fetched and checked.
const CodeSSOTestFailed = "sso_test_failed"

// Event types of SSO connections (each change writes exactly one).
const (
	EventSSOConnectionSaved   = "sso.connection_saved"   // created or changed; Data "action" is "created" or "updated"
	EventSSOConnectionDeleted = "sso.connection_deleted" // removed
	EventSSOTrustUpdated      = "sso.trust_updated"      // the connections an organization trusts changed
)

// Webhook event types of SSO connections, named as their store events
// (WebhookMappings). Their details are the events' data: connection_id,
// issuer, enforce and action; connection_ids, the organization's own
// trusted list. Never the client secret.
const (
	WebhookSSOConnectionSaved   = EventSSOConnectionSaved
	WebhookSSOConnectionDeleted = EventSSOConnectionDeleted
	WebhookSSOTrustUpdated      = EventSSOTrustUpdated
)

// SSOConnection is an organization's own OpenID Connect connection. An
// organization has at most one.
type SSOConnection struct {
	ID             string // "ssc_…"; a new ID for every created connection
	OrganizationID string
	// Name is shown on sign-in pages and recorded as the
	// primaryIdentityProvider of memberships that sign in through it.
	Name     string
	Issuer   string // the provider's issuer URL
	ClientID string
	// SealedSecret is the client secret sealed with the kit's key
	// (outbox.Sealer, bound to ID); nil for a public client.
	SealedSecret []byte
	Scopes       []string // requested scopes ("openid" always added by the flow)
	// EmailClaim and NameClaim name the ID token (or UserInfo) claims
	// that carry the person's email and name ("" = "email", "name").
	EmailClaim, NameClaim string
	// Enforce: members of the organization reach it only through this
	// connection (middleware.RequireMember refuses other sessions).
	Enforce    bool
	CreatedBy  string
	CreateTime time.Time
	UpdateTime time.Time
}

// IdentityIssuer is the issuer under which identities asserted through c
// are linked (store.Identity.Issuer): the issuer URL with the
// connection's id as fragment. A real issuer has no fragment (OpenID
// Connect Discovery 1.0, 2), so a connection is an identity namespace of
// its own: nothing it asserts is ever read as an identity of the app's
// default provider or of another organization's connection, even one
// that names the same issuer.
func (c SSOConnection) IdentityIssuer() string { return c.Issuer + "#" + c.ID }

// Clone returns c sharing no slice with it.
func (c SSOConnection) Clone() SSOConnection {
	c.SealedSecret = slices.Clone(c.SealedSecret)
	c.Scopes = slices.Clone(c.Scopes)
	return c
}

// SSOConnectionStore is the optional SSO capability. Every write appends
// its event in the same transaction; every read and write is scoped by
// organization.
type SSOConnectionStore interface {
	// PutSSOConnection creates c.OrganizationID's connection or replaces
	// it (the one with c.ID; a connection with another ID is replaced
	// too: an organization has one) and appends ev. ErrNotFound: no such
	// organization.
	PutSSOConnection(ctx context.Context, c SSOConnection, ev Event) error
	// GetSSOConnection returns orgID's connection, or an error wrapping
	// ErrNotFound when it has none.
	GetSSOConnection(ctx context.Context, orgID string) (SSOConnection, error)
	// DeleteSSOConnection deletes orgID's connection and appends ev.
	// Other organizations' trusted lists are left as they set them (the
	// deleted id matches nothing, and ids are never reused), so that no
	// organization sees another's deletion. ErrNotFound when it has none.
	DeleteSSOConnection(ctx context.Context, orgID string, ev Event) error
	// SetSSOTrust replaces the ids of the other organizations' connections
	// orgID trusts (sorted, distinct; unknown ids are kept, they match
	// nothing) and appends ev. ErrNotFound: no such organization.
	SetSSOTrust(ctx context.Context, orgID string, connectionIDs []string, ev Event) error
	// ListSSOTrust returns the connection ids orgID trusts, sorted (none:
	// an empty slice and no error).
	ListSSOTrust(ctx context.Context, orgID string) ([]string, error)
}

// NormalizeIDs returns ids sorted and without duplicates or empty strings.
func NormalizeIDs(ids []string) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if id != "" {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
