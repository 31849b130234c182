package webhooks

import (
	"context"

	"github.com/invitekit/invitekit/store"
)

// ReplayDead sends every dead letter of an endpoint again, with a fresh
// attempt count (after the receiver was fixed, or the endpoint enabled
// again), and returns how many it replayed; orgID, when not empty, scopes
// the lookup as in Replay. A replayed delivery keeps its place: it goes out
// before the later deliveries of its organization to that endpoint. One
// that dies again while ReplayDead runs is not replayed twice.
func (s *Service) ReplayDead(ctx context.Context, orgID, endpointID string) (int, error) {
	if _, err := s.scoped(ctx, orgID, endpointID); err != nil {
		return 0, err
	}
	// The dead letters are walked once, in Seq order: a replayed one
	// keeps its Seq, so one that dies again is behind the cursor.
	n := 0
	var after int64
	for {
		ds, err := s.wh.ListWebhookDeliveries(ctx, endpointID, store.WebhookDead, after, 1000)
		if err != nil {
			return n, err
		}
		for _, d := range ds {
			if err := s.wh.ReplayWebhookDelivery(ctx, endpointID, d.MessageID, s.cfg.Now()); err != nil {
				return n, err
			}
			n++
			after = d.Seq
		}
		if len(ds) < 1000 {
			return n, nil
		}
	}
}
