package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/store"
)

// claim claims at now with a lease until leaseUntil and returns the ids.
func (f *fixture) claim(now, leaseUntil time.Time, limit int) []store.OutboxMessage {
	f.t.Helper()
	msgs, err := f.st.ClaimOutbox(f.ctx, now, leaseUntil, limit)
	require.NoError(f.t, err)
	return msgs
}

func testOutboxClaimLease(t *testing.T, f *fixture) {
	org := f.org()
	m1 := f.invite(org.ID, f.email("one")).Outbox
	m2 := f.invite(org.ID, f.email("two")).Outbox
	m3 := f.invite(org.ID, f.email("three")).Outbox
	later := f.invite(org.ID, f.email("later"), func(p *store.CreateMembershipParams) {
		p.Outbox.NextAttemptTime = f.now.Add(time.Hour)
	}).Outbox
	lease := f.now.Add(5 * time.Minute)

	got := f.claim(f.now, lease, 2)
	assert.Equal(t, []string{m1.ID, m2.ID}, outboxIDs(got), "oldest first, at most limit")
	want := m1
	want.LeaseUntil = lease
	require.NotEmpty(t, got)
	assert.Equal(t, normOutbox(want), normOutbox(got[0]), "a claimed message is returned whole, QUEUED, leased")

	assert.Equal(t, []string{m3.ID}, outboxIDs(f.claim(f.now, lease, 10)), "the lease hides claimed messages; a future NextAttemptTime hides the last")
	assert.Empty(t, f.claim(f.now.Add(time.Minute), lease.Add(time.Minute), 10), "no double claim while leased")
	assert.Equal(t, []string{m1.ID, m2.ID, m3.ID}, outboxIDs(f.claim(lease, lease.Add(5*time.Minute), 10)), "claimable again when the lease ends")
	assert.Equal(t, []string{m1.ID, m2.ID, m3.ID, later.ID}, outboxIDs(f.claim(f.now.Add(time.Hour), f.now.Add(2*time.Hour), 10)), "due at its NextAttemptTime")
	for _, m := range f.outbox(org.ID, store.OutboxQueued) {
		assert.Equal(t, store.OutboxQueued, m.Status, "claiming keeps the status")
		assert.Zero(t, m.Attempts, "claiming does not count an attempt")
	}
}

func testOutboxRetry(t *testing.T, f *fixture) {
	org := f.org()
	msg := f.invite(org.ID, f.email("retry")).Outbox
	require.Len(t, f.claim(f.now, f.now.Add(5*time.Minute), 10), 1)

	next := f.now.Add(time.Minute)
	require.NoError(t, f.st.MarkOutboxRetry(f.ctx, msg.ID, 1, next, "smtp: 451 try later"))
	msgs := f.outbox(org.ID, store.OutboxQueued)
	require.Len(t, msgs, 1)
	got := msgs[0]
	assert.Equal(t, 1, got.Attempts)
	assert.Equal(t, "smtp: 451 try later", got.LastError)
	assert.True(t, next.Equal(got.NextAttemptTime))
	assert.Equal(t, msg.Sealed, got.Sealed, "a retried message keeps its sealed data")
	assert.Equal(t, store.OutboxQueued, got.Status)

	assert.Empty(t, f.claim(f.now.Add(30*time.Second), f.now.Add(10*time.Minute), 10), "not due before NextAttemptTime")
	assert.Equal(t, []string{msg.ID}, outboxIDs(f.claim(next, next.Add(5*time.Minute), 10)), "retry releases the lease")
	require.NoError(t, f.st.MarkOutboxRetry(f.ctx, msg.ID, 2, next.Add(time.Minute), "second"))
	got = f.outbox(org.ID, store.OutboxQueued)[0]
	assert.Equal(t, 2, got.Attempts)
	assert.Equal(t, "second", got.LastError)
}

func testOutboxSent(t *testing.T, f *fixture) {
	org := f.org()
	msg := f.invite(org.ID, f.email("sent")).Outbox
	queued, sent := f.count(store.OutboxQueued), f.count(store.OutboxSent)
	require.Len(t, f.claim(f.now, f.now.Add(time.Minute), 10), 1)

	at := f.now.Add(10 * time.Second)
	require.NoError(t, f.st.MarkOutboxSent(f.ctx, msg.ID, at))
	assert.Empty(t, f.outbox(org.ID, store.OutboxQueued))
	msgs := f.outbox(org.ID, store.OutboxSent)
	require.Len(t, msgs, 1)
	got := msgs[0]
	assert.Equal(t, store.OutboxSent, got.Status)
	assert.Nil(t, got.Sealed, "sent: sealed data erased")
	require.NotNil(t, got.SentTime)
	assert.True(t, at.Equal(*got.SentTime))
	assert.Equal(t, msg.MessageID, got.MessageID)
	assert.Equal(t, msg.Data, got.Data, "non-secret data is kept")
	assert.Equal(t, queued-1, f.count(store.OutboxQueued))
	assert.Equal(t, sent+1, f.count(store.OutboxSent))
	assert.Empty(t, f.claim(f.now.Add(24*time.Hour), f.now.Add(25*time.Hour), 10), "a sent message is never claimed")

	// A late retry or dead-letter (say from a dispatcher whose lease ran
	// out) does not undo the delivery.
	before := f.snapshot(org.ID)
	_ = f.st.MarkOutboxRetry(f.ctx, msg.ID, 3, f.now, "late")
	_ = f.st.MarkOutboxDead(f.ctx, msg.ID, 3, "late", f.now, f.ev(org.ID, "", store.EventMailDeadLettered))
	assert.Equal(t, before, f.snapshot(org.ID), "no change and no event")
	assert.Equal(t, []string{msg.ID}, outboxIDs(f.outbox(org.ID, store.OutboxSent)))
}

func testOutboxDead(t *testing.T, f *fixture) {
	org := f.org()
	msg := f.invite(org.ID, f.email("dead")).Outbox
	dead := f.count(store.OutboxDead)
	require.Len(t, f.claim(f.now, f.now.Add(time.Minute), 10), 1)

	ev := f.ev(org.ID, "", store.EventMailDeadLettered)
	require.NoError(t, f.st.MarkOutboxDead(f.ctx, msg.ID, 5, "smtp: 550 no such user", f.now.Add(time.Hour), ev))
	msgs := f.outbox(org.ID, store.OutboxDead)
	require.Len(t, msgs, 1)
	got := msgs[0]
	assert.Equal(t, store.OutboxDead, got.Status)
	assert.Nil(t, got.Sealed, "dead: sealed data erased")
	assert.Equal(t, 5, got.Attempts)
	assert.Equal(t, "smtp: 550 no such user", got.LastError)
	assert.Equal(t, dead+1, f.count(store.OutboxDead))
	assert.Empty(t, f.outbox(org.ID, store.OutboxQueued))
	assert.Empty(t, f.claim(f.now.Add(24*time.Hour), f.now.Add(25*time.Hour), 10), "a dead message is never claimed")
	last := f.lastEvent(org.ID)
	assert.Equal(t, ev.ID, last.ID)
	assert.Equal(t, store.EventMailDeadLettered, last.Type)
}

func testOutboxListCount(t *testing.T, f *fixture) {
	a, b := f.org(), f.org()
	queued := f.count(store.OutboxQueued)
	a1 := f.invite(a.ID, f.email("a1")).Outbox
	a2 := f.invite(a.ID, f.email("a2")).Outbox
	b1 := f.invite(b.ID, f.email("b1")).Outbox
	f.add(a.ID, f.email("direct")) // queues nothing
	assert.Equal(t, queued+3, f.count(store.OutboxQueued), "CountOutbox counts every organization")

	assert.Equal(t, []string{a1.ID, a2.ID}, outboxIDs(f.outbox(a.ID, store.OutboxQueued)), "oldest first")
	assert.Equal(t, []string{b1.ID}, outboxIDs(f.outbox(b.ID, store.OutboxQueued)))
	one, err := f.st.ListOutbox(f.ctx, a.ID, store.OutboxQueued, 1)
	require.NoError(t, err)
	assert.Equal(t, []string{a1.ID}, outboxIDs(one))
	def, err := f.st.ListOutbox(f.ctx, a.ID, store.OutboxQueued, 0)
	require.NoError(t, err)
	assert.Len(t, def, 2, "limit 0 means 100")
	assert.Empty(t, f.outbox(a.ID, store.OutboxSent))

	require.NoError(t, f.st.MarkOutboxSent(f.ctx, b1.ID, f.now))
	assert.Equal(t, queued+2, f.count(store.OutboxQueued))
	assert.Equal(t, []string{a1.ID, a2.ID}, outboxIDs(f.outbox(a.ID, store.OutboxQueued)))
}
