package memstore

import (
	"testing"
	"time"

	"github.com/invitekit/invitekit/store"
)

// TestWebhookDropAfter: the deliveries of events a rolled-back
// multi-step write appended are dropped with the events
// (CreateOrganizationWithMember's rollback).
func TestWebhookDropAfter(t *testing.T) {
	s := New()
	ep := store.WebhookEndpoint{ID: "whep_1", EventTypes: []string{store.WebhookMembershipCreated}}
	if err := s.CreateWebhookEndpoint(t.Context(), ep); err != nil {
		t.Fatal(err)
	}
	s.st.appendEvent(store.Event{ID: "evt_1", OrganizationID: "org_1", Type: store.EventMembershipAdded, CreateTime: time.Now()})
	s.st.appendEvent(store.Event{ID: "evt_2", OrganizationID: "org_1", Type: store.EventMembershipAdded, CreateTime: time.Now()})
	if n := len(s.st.wh.deliveries); n != 2 {
		t.Fatalf("%d deliveries, want 2", n)
	}
	s.st.wh.dropAfter(1)
	if n := len(s.st.wh.deliveries); n != 1 || s.st.wh.deliveries[0].Event.ID != "evt_1" {
		t.Fatalf("after dropAfter(1): %+v", s.st.wh.deliveries)
	}
}
