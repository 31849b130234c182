package invite

import (
	"context"
	"time"

	"github.com/invitekit/invitekit/store"
)

// Event types the invite package writes in addition to the store's
// (store.Event* constants).
const (
	// EventIdentityLinked: SignIn linked a provider identity to an existing
	// user by verified email.
	EventIdentityLinked = "identity.linked"
	// EventSessionsRevoked: SignOutEverywhere or SignOutMemberEverywhere
	// revoked every session of the user.
	EventSessionsRevoked = "user.sessions_revoked"
)

// MaxListLimit bounds the page size and limit of list calls.
const MaxListLimit = 1000

// event builds an Event. data must hold only non-secret details: never a
// token, verifier or link.
func (s *Service) event(orgID, typ, userID, actorID string, now time.Time, data map[string]string) store.Event {
	if data == nil {
		data = map[string]string{}
	}
	return store.Event{
		ID:             store.NewID("evt"),
		OrganizationID: orgID,
		Type:           typ,
		UserID:         userID,
		ActorID:        actorID,
		Data:           data,
		CreateTime:     now,
	}
}

// formatTime renders t as RFC 3339 in UTC (seconds precision), as the JSON
// API and mail data do.
func formatTime(t time.Time) string {
	return t.UTC().Format(time.RFC3339)
}

// Events returns orgID's change feed: events with Seq > after, in order, at
// most limit (0 means 100, at most 1000). It is the integration point for
// CRM/HR systems: remember the last Seq you processed and pass it as after.
func (s *Service) Events(ctx context.Context, orgID string, after int64, limit int) ([]store.Event, error) {
	if after < 0 {
		return nil, invalid("after", "after must not be negative")
	}
	if limit < 0 || limit > MaxListLimit {
		return nil, invalid("limit", "limit must be between 0 and %d", MaxListLimit)
	}
	if _, err := s.Organization(ctx, orgID); err != nil {
		return nil, err
	}
	evs, err := s.st.ListEvents(ctx, orgID, after, limit)
	if err != nil {
		return nil, err
	}
	return evs, nil
}

// DeadLetters returns orgID's mails that could not be delivered (oldest
// first, at most limit; 0 means 100, at most 1000). Their sealed links are
// already erased.
func (s *Service) DeadLetters(ctx context.Context, orgID string, limit int) ([]store.OutboxMessage, error) {
	if limit < 0 || limit > MaxListLimit {
		return nil, invalid("limit", "limit must be between 0 and %d", MaxListLimit)
	}
	if _, err := s.Organization(ctx, orgID); err != nil {
		return nil, err
	}
	msgs, err := s.st.ListOutbox(ctx, orgID, store.OutboxDead, limit)
	if err != nil {
		return nil, err
	}
	return msgs, nil
}
