package webhooks

import (
	"context"
	"time"

	"github.com/invitekit/invitekit/store"
)

// EndpointUpdate changes an endpoint; a nil field stays as it is.
type EndpointUpdate struct {
	URL         *string   `json:"url,omitempty"`
	EventTypes  *[]string `json:"eventTypes,omitempty"`
	Description *string   `json:"description,omitempty"`
	// Enabled false disables the endpoint (no deliveries are written for
	// it); true enables it again, also after the dispatcher disabled it.
	Enabled *bool `json:"enabled,omitempty"`
	// IfRevision, when set, makes the update conditional (an HTTP
	// If-Match): it is applied only while IfRevision accepts the
	// endpoint's Revision, else UpdateEndpoint returns
	// ErrRevisionMismatch and writes nothing. The check is part of the
	// store's compare-and-swap: a change that comes in between is checked
	// again, never overwritten.
	IfRevision func(revision int64) bool `json:"-"`
}

// UpdateEndpoint applies u to endpoint id; orgID, when not empty, scopes
// the lookup (another organization's endpoint is ErrNotFound). The result
// meets the same rules as CreateEndpoint (a refusal names the field and
// changes nothing). The secret stays; RotateSecret changes it. Only the
// fields of u change: an update at the same moment as a rotation or a
// dispatcher's disable keeps theirs (modify).
func (s *Service) UpdateEndpoint(ctx context.Context, orgID, id string, u EndpointUpdate) (Endpoint, error) {
	ep, err := s.modify(ctx, orgID, id, func(ep *store.WebhookEndpoint, now time.Time) error {
		if u.IfRevision != nil && !u.IfRevision(ep.Revision) {
			return revisionMismatch(id, ep.Revision)
		}
		req := EndpointRequest{URL: ep.URL, EventTypes: ep.EventTypes, OrganizationID: ep.OrganizationID, Description: ep.Description}
		if u.URL != nil {
			req.URL = *u.URL
		}
		if u.EventTypes != nil {
			req.EventTypes = *u.EventTypes
		}
		if u.Description != nil {
			req.Description = *u.Description
		}
		if err := s.check(req); err != nil {
			return err
		}
		ep.URL, ep.EventTypes, ep.Description = req.URL, dedupe(req.EventTypes), req.Description
		if u.Enabled != nil {
			setEnabled(ep, *u.Enabled, now)
		}
		return nil
	})
	if err != nil {
		return Endpoint{}, err
	}
	return endpointOf(ep), nil
}
