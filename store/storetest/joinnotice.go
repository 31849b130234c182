package storetest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/store"
)

// testJoinCreateWithOutbox: a request and the notices to the admins are
// one write; a refused request (pending already, unknown organization)
// queues nothing and appends nothing.
func testJoinCreateWithOutbox(t *testing.T, f *fixture, j store.JoinRequestStore, _ store.DomainStore) {
	n, ok := j.(store.JoinRequestNotifier)
	if !ok {
		t.Fatalf("%T does not implement store.JoinRequestNotifier", j)
	}
	org, other := f.org(), f.org()
	email := f.email("ann")
	notices := func(orgID string) []store.OutboxMessage {
		return []store.OutboxMessage{*f.reminder(orgID, f.email("admin1"), "join_requested"), *f.reminder(orgID, f.email("admin2"), "join_requested")}
	}
	events := len(f.events(org.ID))

	r := f.joinRequest(org.ID, email)
	require.NoError(t, n.CreateJoinRequestWithOutbox(f.ctx, r, f.ev(org.ID, "", store.EventJoinRequested), notices(org.ID)))
	queued := f.outbox(org.ID, store.OutboxQueued)
	require.Len(t, queued, 2)
	assert.Equal(t, "join_requested", queued[0].Kind)
	assert.Equal(t, org.ID, queued[1].OrganizationID)
	assert.Len(t, f.events(org.ID), events+1)
	got, err := j.GetJoinRequest(f.ctx, org.ID, r.ID)
	require.NoError(t, err)
	assert.Equal(t, store.JoinRequestPending, got.Status)

	require.ErrorIs(t, n.CreateJoinRequestWithOutbox(f.ctx, f.joinRequest(org.ID, email), f.ev(org.ID, "", store.EventJoinRequested), notices(org.ID)),
		store.ErrJoinRequestPending)
	require.ErrorIs(t, n.CreateJoinRequestWithOutbox(f.ctx, f.joinRequest("org_missing", email), f.ev("org_missing", "", store.EventJoinRequested), notices("org_missing")),
		store.ErrNotFound)
	assert.Len(t, f.outbox(org.ID, store.OutboxQueued), 2, "a refused request queues no notice")
	assert.Len(t, f.outbox("org_missing", store.OutboxQueued), 0)
	assert.Len(t, f.events(org.ID), events+1, "a refused request appends no event")
	assert.Len(t, f.outbox(other.ID, store.OutboxQueued), 0)
}
