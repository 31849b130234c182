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
	seen := map[string]bool{}
	for {
		ds, err := s.wh.ListWebhookDeliveries(ctx, endpointID, store.WebhookDead, 1000)
		if err != nil {
			return len(seen), err
		}
		fresh := 0
		for _, d := range ds {
			if seen[d.MessageID] {
				continue
			}
			if err := s.wh.ReplayWebhookDelivery(ctx, endpointID, d.MessageID, s.cfg.Now()); err != nil {
				return len(seen), err
			}
			seen[d.MessageID] = true
			fresh++
		}
		if fresh == 0 {
			return len(seen), nil
		}
	}
}
