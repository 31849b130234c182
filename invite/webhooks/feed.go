package webhooks

import (
	"context"
	"errors"

	"github.com/invitekit/invitekit/store"
)

// ErrNoAllEvents: the store does not implement store.AllEvents, so there
// is no feed across organizations (Service.AllEvents).
var ErrNoAllEvents = errors.New("webhooks: the store has no feed across organizations (store.AllEvents)")

// MaxFeedLimit is the largest page of the events feeds (store events).
const MaxFeedLimit = 1000

// checkCursor checks a feed request's after and limit.
func checkCursor(after int64, limit int) error {
	if after < 0 {
		return invalid("after", "after must not be negative")
	}
	if limit < 0 || limit > MaxFeedLimit {
		return invalid("limit", "limit must be between 0 and %d", MaxFeedLimit)
	}
	return nil
}

// HasAllEvents reports whether the store serves the feed across
// organizations (store.AllEvents; every built-in store does).
func (s *Service) HasAllEvents() bool {
	_, ok := s.st.(store.AllEvents)
	return ok
}

// AllEvents is the app's feed: every organization's events after seq
// after, in seq order (at most limit store events, 0 means 100, at most
// MaxFeedLimit), as the payloads of app-wide webhooks, with the same
// webhook-ids. A reader that pages with FeedPage.Next never misses an
// event (store.AllEvents). It is ErrNoAllEvents when the store lacks it.
// App scope only: each payload is its organization's view, but the feed
// holds every organization's.
func (s *Service) AllEvents(ctx context.Context, after int64, limit int) (FeedPage, error) {
	if err := checkCursor(after, limit); err != nil {
		return FeedPage{}, err
	}
	all, ok := s.st.(store.AllEvents)
	if !ok {
		return FeedPage{}, ErrNoAllEvents
	}
	evs, err := all.ListAllEvents(ctx, after, limit)
	if err != nil {
		return FeedPage{}, err
	}
	return s.feedPage(ctx, evs, after)
}

// feedPage renders evs (read after after) as a page of the feed: every
// webhook type each maps to, with its payload; Next is the last event's
// seq, also when it maps to none.
func (s *Service) feedPage(ctx context.Context, evs []store.Event, after int64) (FeedPage, error) {
	page := FeedPage{Events: []FeedEntry{}, Next: after}
	now := s.cfg.Now()
	for _, ev := range evs {
		page.Next = ev.Seq
		for _, typ := range store.WebhookTypesOf(ev) {
			p, err := BuildPayload(ctx, s.st, typ, ev, now)
			if err != nil {
				return FeedPage{}, err
			}
			page.Events = append(page.Events, FeedEntry{MessageID: store.WebhookMessageID(ev.ID, typ), Payload: p})
		}
	}
	return page, nil
}
