package store

import (
	"context"
	"time"
)

// WebhookMark is one delivery a receiver accepted.
type WebhookMark struct {
	EndpointID, MessageID string
	Attempts              int
	At                    time.Time
}

// WebhookDeliveredMarker is an optional capability of a WebhookStore (all
// built-in stores have it): many deliveries marked delivered in one write,
// so a dispatcher does not pay a transaction per delivery.
type WebhookDeliveredMarker interface {
	// MarkWebhooksDelivered is MarkWebhookDelivered of each of marks, in
	// one transaction; a mark of a missing delivery, or of one no longer
	// PENDING, is skipped.
	MarkWebhooksDelivered(ctx context.Context, marks []WebhookMark) error
}
