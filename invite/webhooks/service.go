package webhooks

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/invitekit/invitekit/mailer/outbox"
	"github.com/invitekit/invitekit/store"
)

// ErrUnsupported: the store does not implement store.WebhookStore.
var ErrUnsupported = errors.New("webhooks: the store has no webhook support (store.WebhookStore)")

func invalid(field, format string, args ...any) error { return store.Invalid(field, format, args...) }

// Config configures a Service and its Dispatcher.
type Config struct {
	// Sealer seals the endpoints' secrets (the kit's: invite.Service.Sealer()).
	Sealer *outbox.Sealer
	// InsecureAllowPrivate allows destinations on loopback, private and
	// link-local addresses (tests, local development). Off, they are
	// refused at registration and at every dial, against the resolved IP.
	InsecureAllowPrivate bool
	// InsecureAllowHTTP allows http:// endpoint URLs.
	InsecureAllowHTTP bool
	// RotationOverlap is how long a rotated-out secret still signs
	// (default 24 h).
	RotationOverlap time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

func (c Config) withDefaults() (Config, error) {
	if c.Sealer == nil {
		return c, errors.New("webhooks: Config.Sealer is required (invite.Service.Sealer())")
	}
	if c.RotationOverlap <= 0 {
		c.RotationOverlap = 24 * time.Hour
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c, nil
}

// Service manages endpoints and reads deliveries and the events feed.
type Service struct {
	st  store.Store
	wh  store.WebhookStore
	cfg Config
}

// New returns a Service on st (which must implement store.WebhookStore).
func New(st store.Store, cfg Config) (*Service, error) {
	wh, ok := st.(store.WebhookStore)
	if !ok {
		return nil, ErrUnsupported
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Service{st: st, wh: wh, cfg: cfg}, nil
}

// Endpoint is a registered endpoint as the API shows it (no secret).
type Endpoint struct {
	ID             string     `json:"id"`
	URL            string     `json:"url"`
	EventTypes     []string   `json:"eventTypes"`
	OrganizationID string     `json:"organizationId,omitempty"`
	Description    string     `json:"description,omitempty"`
	CreateTime     time.Time  `json:"createTime"`
	UpdateTime     time.Time  `json:"updateTime"`
	DisabledTime   *time.Time `json:"disabledTime,omitempty"`
	DisabledReason string     `json:"disabledReason,omitempty"`
	// Revision is the store's revision of the endpoint
	// (store.WebhookEndpoint.Revision): every change of what is shown
	// here counts it up. The HTTP API shows it as the ETag.
	Revision int64 `json:"-"`
}

func endpointOf(e store.WebhookEndpoint) Endpoint {
	return Endpoint{ID: e.ID, URL: e.URL, EventTypes: e.EventTypes, OrganizationID: e.OrganizationID, Description: e.Description,
		CreateTime: e.CreateTime, UpdateTime: e.UpdateTime, DisabledTime: e.DisabledTime, DisabledReason: e.DisabledReason,
		Revision: e.Revision}
}

// EndpointRequest registers an endpoint.
type EndpointRequest struct {
	URL        string   `json:"url"`
	EventTypes []string `json:"eventTypes"`
	// OrganizationID limits the endpoint to one organization ("" =
	// app-wide; org-scoped API callers always get theirs).
	OrganizationID string `json:"organizationId,omitempty"`
	Description    string `json:"description,omitempty"`
}

// check validates req; a refusal names the field by its full path
// ("eventTypes[2]").
func (s *Service) check(req EndpointRequest) error {
	for _, f := range []struct{ name, v string }{{"url", req.URL}, {"description", req.Description}, {"organizationId", req.OrganizationID}} {
		if err := store.CheckText(f.name, f.v, 2048, store.TextLine); err != nil {
			return err
		}
	}
	if err := checkURL(req.URL, s.cfg.InsecureAllowHTTP, s.cfg.InsecureAllowPrivate); err != nil {
		return err
	}
	if len(req.EventTypes) == 0 {
		return invalid("eventTypes", "eventTypes must name at least one event type")
	}
	for i, t := range req.EventTypes {
		if !store.KnownWebhookType(t) {
			return invalid(fmt.Sprintf("eventTypes[%d]", i), "unknown event type %q", t)
		}
	}
	if len(req.Description) > 500 {
		return invalid("description", "description must be at most 500 bytes")
	}
	return nil
}

// CreateEndpoint registers an endpoint and returns it with its new signing
// secret (shown only now; the store keeps it sealed).
func (s *Service) CreateEndpoint(ctx context.Context, req EndpointRequest, actorID string) (Endpoint, string, error) {
	if err := s.check(req); err != nil {
		return Endpoint{}, "", err
	}
	if req.OrganizationID != "" {
		if _, err := s.st.GetOrganization(ctx, req.OrganizationID); err != nil {
			return Endpoint{}, "", err
		}
	}
	now := s.cfg.Now().UTC()
	secret := NewSecret()
	ep := store.WebhookEndpoint{ID: store.NewID("whep"), URL: req.URL, EventTypes: dedupe(req.EventTypes),
		OrganizationID: req.OrganizationID, Description: req.Description, CreatedBy: actorID, CreateTime: now, UpdateTime: now}
	sealed, err := s.cfg.Sealer.Seal(ep.ID, map[string]string{"secret": secret})
	if err != nil {
		return Endpoint{}, "", err
	}
	ep.SealedSecret = sealed
	if err := s.wh.CreateWebhookEndpoint(ctx, ep); err != nil {
		return Endpoint{}, "", err
	}
	return endpointOf(ep), secret, nil
}

func dedupe(l []string) []string {
	out := slices.Clone(l)
	slices.Sort(out)
	return slices.Compact(out)
}

// scoped returns endpoint id, ErrNotFound when orgID is not empty and the
// endpoint is not orgID's (an organization never sees another's).
func (s *Service) scoped(ctx context.Context, orgID, id string) (store.WebhookEndpoint, error) {
	ep, err := s.wh.GetWebhookEndpoint(ctx, id)
	if err != nil {
		return ep, err
	}
	if orgID != "" && ep.OrganizationID != orgID {
		return store.WebhookEndpoint{}, fmt.Errorf("webhooks: endpoint %q: %w", id, store.ErrNotFound)
	}
	return ep, nil
}

// Endpoint returns one endpoint; orgID, when not empty, scopes the lookup.
func (s *Service) Endpoint(ctx context.Context, orgID, id string) (Endpoint, error) {
	ep, err := s.scoped(ctx, orgID, id)
	return endpointOf(ep), err
}

// Endpoints lists orgID's endpoints ("" and all: every endpoint).
func (s *Service) Endpoints(ctx context.Context, orgID string, all bool) ([]Endpoint, error) {
	eps, err := s.wh.ListWebhookEndpoints(ctx, orgID, all)
	if err != nil {
		return nil, err
	}
	out := make([]Endpoint, 0, len(eps))
	for _, e := range eps {
		out = append(out, endpointOf(e))
	}
	return out, nil
}

// DeleteEndpoint deletes an endpoint and its deliveries.
func (s *Service) DeleteEndpoint(ctx context.Context, orgID, id string) error {
	if _, err := s.scoped(ctx, orgID, id); err != nil {
		return err
	}
	return s.wh.DeleteWebhookEndpoint(ctx, id)
}

// ErrRevisionMismatch: a change conditional on the endpoint's revision
// (EndpointUpdate.IfRevision, DeleteEndpointIf) found the endpoint at a
// revision it does not accept; nothing was written. The HTTP API answers
// 412 precondition_failed (If-Match).
var ErrRevisionMismatch = errors.New("webhooks: the endpoint is not at the revision the change is conditional on")

func revisionMismatch(id string, rev int64) error {
	return fmt.Errorf("webhooks: endpoint %q at revision %d: %w", id, rev, ErrRevisionMismatch)
}

// DeleteEndpointIf is DeleteEndpoint only while ifRevision accepts the
// endpoint's Revision (an HTTP If-Match): else it deletes nothing and
// returns ErrRevisionMismatch. The check and the delete are one
// compare-and-swap of the store (DeleteWebhookEndpointAt): a change that
// comes in between is checked again.
func (s *Service) DeleteEndpointIf(ctx context.Context, orgID, id string, ifRevision func(revision int64) bool) error {
	var err error
	for range maxModifyAttempts {
		var ep store.WebhookEndpoint
		if ep, err = s.scoped(ctx, orgID, id); err != nil {
			return err
		}
		if !ifRevision(ep.Revision) {
			return revisionMismatch(id, ep.Revision)
		}
		if err = s.wh.DeleteWebhookEndpointAt(ctx, id, ep.Revision); !errors.Is(err, store.ErrWebhookEndpointStale) {
			return err
		}
	}
	return fmt.Errorf("webhooks: endpoint %q changed %d times while it was deleted: %w", id, maxModifyAttempts, err)
}

// ErrEndpointConflict: an endpoint kept changing under a change to it (the
// store refused it as stale, store.ErrWebhookEndpointStale, on every one of
// maxModifyAttempts tries); nothing of the change was written. The HTTP API
// answers 409 webhook_endpoint_conflict.
var ErrEndpointConflict = store.ErrWebhookEndpointStale

// maxModifyAttempts is how often modify reads, changes and writes an
// endpoint before it gives up: each refusal means another write succeeded
// in between, so a few are plenty.
const maxModifyAttempts = 8

// modify reads endpoint id (scoped to orgID), applies change to it and
// writes it back with the store's compare-and-swap on its Revision. When
// another write came in between (a rotation, an update, a dispatcher's
// disable), it reads again and applies change to what is there now, so
// no write undoes another. change sees the endpoint as stored and must not
// keep anything of an earlier attempt's copy.
func (s *Service) modify(ctx context.Context, orgID, id string, change func(ep *store.WebhookEndpoint, now time.Time) error) (store.WebhookEndpoint, error) {
	var err error
	for range maxModifyAttempts {
		var ep store.WebhookEndpoint
		if ep, err = s.scoped(ctx, orgID, id); err != nil {
			return store.WebhookEndpoint{}, err
		}
		now := s.cfg.Now().UTC()
		if err = change(&ep, now); err != nil {
			return store.WebhookEndpoint{}, err
		}
		ep.UpdateTime = now
		if err = s.wh.UpdateWebhookEndpoint(ctx, ep, nil); err == nil {
			ep.Revision++
			return ep, nil
		}
		if !errors.Is(err, store.ErrWebhookEndpointStale) {
			return store.WebhookEndpoint{}, err
		}
	}
	return store.WebhookEndpoint{}, fmt.Errorf("webhooks: endpoint %q changed %d times while it was changed: %w", id, maxModifyAttempts, err)
}

// SetEnabled enables or disables an endpoint.
func (s *Service) SetEnabled(ctx context.Context, orgID, id string, enabled bool) (Endpoint, error) {
	ep, err := s.modify(ctx, orgID, id, func(ep *store.WebhookEndpoint, now time.Time) error {
		setEnabled(ep, enabled, now)
		return nil
	})
	if err != nil {
		return Endpoint{}, err
	}
	return endpointOf(ep), nil
}

// setEnabled enables ep, or disables it by hand unless it is disabled
// already (then its DisabledTime and DisabledReason stay).
func setEnabled(ep *store.WebhookEndpoint, enabled bool, now time.Time) {
	switch {
	case enabled:
		ep.DisabledTime, ep.DisabledReason = nil, ""
	case ep.DisabledTime == nil:
		ep.DisabledTime, ep.DisabledReason = &now, "disabled by hand"
	}
}

// RotateSecret gives an endpoint a new secret and returns it; the old one
// still signs (a second signature) for Config.RotationOverlap. A change of
// the endpoint at the same moment never loses the new secret: the rotation
// is redone on the endpoint as it is then (modify).
func (s *Service) RotateSecret(ctx context.Context, orgID, id string) (string, error) {
	secret := NewSecret()
	_, err := s.modify(ctx, orgID, id, func(ep *store.WebhookEndpoint, now time.Time) error {
		sealed, err := s.cfg.Sealer.Seal(ep.ID, map[string]string{"secret": secret})
		if err != nil {
			return err
		}
		ep.SealedPreviousSecret, ep.PreviousSecretUntil = ep.SealedSecret, now.Add(s.cfg.RotationOverlap)
		ep.SealedSecret = sealed
		return nil
	})
	if err != nil {
		return "", err
	}
	return secret, nil
}

// secrets opens the endpoint's signing secrets at now (the current one,
// and the previous one during its overlap).
func (s *Service) secrets(ep store.WebhookEndpoint, now time.Time) ([]string, error) {
	cur, err := s.cfg.Sealer.Open(ep.ID, ep.SealedSecret)
	if err != nil {
		return nil, fmt.Errorf("webhooks: endpoint %s: open secret: %w", ep.ID, err)
	}
	out := []string{cur["secret"]}
	if ep.SealedPreviousSecret != nil && now.Before(ep.PreviousSecretUntil) {
		if prev, err := s.cfg.Sealer.Open(ep.ID, ep.SealedPreviousSecret); err == nil {
			out = append(out, prev["secret"])
		}
	}
	return out, nil
}

// Delivery is a delivery as the API shows it.
type Delivery struct {
	MessageID      string     `json:"messageId"` // the webhook-id
	EndpointID     string     `json:"endpointId"`
	Type           string     `json:"type"`
	OrganizationID string     `json:"organizationId"`
	EventID        string     `json:"eventId"`
	Status         string     `json:"status"` // PENDING, DELIVERED, DEAD
	Attempts       int        `json:"attempts"`
	NextAttempt    time.Time  `json:"nextAttemptTime"`
	LastError      string     `json:"lastError,omitempty"`
	CreateTime     time.Time  `json:"createTime"`
	DeliveredTime  *time.Time `json:"deliveredTime,omitempty"`
}

func deliveryOf(d store.WebhookDelivery) Delivery {
	return Delivery{MessageID: d.MessageID, EndpointID: d.EndpointID, Type: d.Type, OrganizationID: d.OrganizationID,
		EventID: d.Event.ID, Status: string(d.Status), Attempts: d.Attempts, NextAttempt: d.NextAttemptTime,
		LastError: d.LastError, CreateTime: d.CreateTime, DeliveredTime: d.DeliveredTime}
}

// Deliveries lists the first limit of an endpoint's deliveries with status
// ("" = any); DeliveryPage pages through all of them.
func (s *Service) Deliveries(ctx context.Context, orgID, endpointID string, status store.WebhookDeliveryStatus, limit int) ([]Delivery, error) {
	if _, err := s.scoped(ctx, orgID, endpointID); err != nil {
		return nil, err
	}
	if limit < 0 || limit > 1000 {
		return nil, invalid("limit", "limit must be between 0 and 1000")
	}
	ds, err := s.wh.ListWebhookDeliveries(ctx, endpointID, status, 0, limit)
	if err != nil {
		return nil, err
	}
	out := make([]Delivery, 0, len(ds))
	for _, d := range ds {
		out = append(out, deliveryOf(d))
	}
	return out, nil
}

// Replay sends a dead (or delivered) delivery again, with a fresh attempt
// count, as soon as a dispatcher runs.
func (s *Service) Replay(ctx context.Context, orgID, endpointID, messageID string) error {
	if _, err := s.scoped(ctx, orgID, endpointID); err != nil {
		return err
	}
	return s.wh.ReplayWebhookDelivery(ctx, endpointID, messageID, s.cfg.Now())
}

// FeedEntry is one entry of the events feed: the webhook payload, with the
// webhook-id a webhook of it carries.
type FeedEntry struct {
	MessageID string `json:"messageId"`
	Payload
}

// FeedPage is a page of the events feed.
type FeedPage struct {
	Events []FeedEntry `json:"events"`
	// Next is the after= cursor of the next page (the last event's seq);
	// the same cursor when there is nothing new yet.
	Next int64 `json:"next"`
}

// Events returns orgID's feed after seq after (at most limit store events,
// 0 means 100, at most 1000): the payloads webhooks carry, in order.
func (s *Service) Events(ctx context.Context, orgID string, after int64, limit int) (FeedPage, error) {
	if err := checkCursor(after, limit); err != nil {
		return FeedPage{}, err
	}
	if _, err := s.st.GetOrganization(ctx, orgID); err != nil {
		return FeedPage{}, err
	}
	evs, err := s.st.ListEvents(ctx, orgID, after, limit)
	if err != nil {
		return FeedPage{}, err
	}
	return s.feedPage(ctx, evs, after)
}
