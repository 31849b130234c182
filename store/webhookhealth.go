package store

import (
	"context"
	"time"
)

// WebhookEndpointHealth is an optional capability of a WebhookStore (all
// built-in stores have it): it records since when an endpoint's attempts
// have failed without a success in between (WebhookEndpoint.FailingSince),
// so that a dispatcher can disable an endpoint that has failed for too long.
// Re-enabling an endpoint through UpdateWebhookEndpoint (DisabledTime nil
// where it was set) clears FailingSince.
type WebhookEndpointHealth interface {
	// NoteWebhookFailure sets the endpoint's FailingSince to at unless it
	// is set already; a missing endpoint is a no-op.
	NoteWebhookFailure(ctx context.Context, endpointID string, at time.Time) error
	// NoteWebhookSuccess clears the endpoint's FailingSince; a missing
	// endpoint is a no-op.
	NoteWebhookSuccess(ctx context.Context, endpointID string) error
	// DisableFailingWebhookEndpoint disables the endpoint (DisabledTime at,
	// DisabledReason reason) and appends ev in the same transaction, only
	// if it is enabled and its FailingSince is set and not after
	// failingSince; it reports whether it did. Of many dispatchers that
	// ask at once, one disables it and one event is written. A disable
	// counts the endpoint's Revision up, so an UpdateWebhookEndpoint of
	// the endpoint as read before it is refused (ErrWebhookEndpointStale).
	DisableFailingWebhookEndpoint(ctx context.Context, endpointID string, failingSince, at time.Time, reason string, ev Event) (bool, error)
}
