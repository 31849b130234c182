package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/store"
)

func testEventOrder(t *testing.T, f *fixture) {
	a, b := f.org(), f.org()
	var appendedA, appendedB []store.Event
	for i := range 5 {
		ea := f.ev(a.ID, "usr_x", "test.event")
		ea.Data = map[string]string{"i": string(rune('0' + i))}
		ea.CreateTime = f.now.Add(time.Duration(i) * time.Second)
		require.NoError(t, f.st.AppendEvent(f.ctx, ea))
		eb := f.ev(b.ID, "", "test.event")
		require.NoError(t, f.st.AppendEvent(f.ctx, eb))
		appendedA, appendedB = append(appendedA, ea), append(appendedB, eb)
	}

	evsA, evsB := f.events(a.ID), f.events(b.ID)
	require.Len(t, evsA, 6, "organization.created + 5")
	require.Len(t, evsB, 6)
	for i, ev := range appendedA {
		got := evsA[i+1]
		assert.Positive(t, got.Seq)
		ev.Seq = got.Seq
		assert.Equal(t, normEvent(ev), normEvent(got), "event %d round-trips", i)
		assert.Greater(t, evsB[i+1].Seq, got.Seq, "Seq orders events across the store")
	}
	seen := map[int64]bool{}
	for _, evs := range [][]store.Event{evsA, evsB} {
		for i, ev := range evs {
			if i > 0 {
				assert.Greater(t, ev.Seq, evs[i-1].Seq, "Seq strictly increasing")
			}
			assert.False(t, seen[ev.Seq], "Seq %d used twice", ev.Seq)
			seen[ev.Seq] = true
		}
	}
	assert.Equal(t, appendedB[4].ID, evsB[5].ID)

	after, err := f.st.ListEvents(f.ctx, a.ID, evsA[2].Seq, 0)
	require.NoError(t, err)
	assert.Equal(t, evsA[3:], after, "events after a cursor")
	limited, err := f.st.ListEvents(f.ctx, a.ID, evsA[0].Seq, 2)
	require.NoError(t, err)
	assert.Equal(t, evsA[1:3], limited)
	none, err := f.st.ListEvents(f.ctx, a.ID, evsA[5].Seq, 0)
	require.NoError(t, err)
	assert.Empty(t, none)

	// Events of another organization appended after the cursor stay out.
	require.NoError(t, f.st.AppendEvent(f.ctx, f.ev(b.ID, "", "test.event")))
	none, err = f.st.ListEvents(f.ctx, a.ID, evsA[5].Seq, 0)
	require.NoError(t, err)
	assert.Empty(t, none)

	// Writes append in the same order.
	r := f.add(a.ID, f.email("ev"))
	_, err = f.st.SetMembershipStatus(f.ctx, a.ID, r.User.ID, store.StatusChange{From: store.StatusActive, To: store.StatusInactive, Now: f.now, Event: f.ev(a.ID, r.User.ID, store.EventMembershipDeactivated)})
	require.NoError(t, err)
	tail, err := f.st.ListEvents(f.ctx, a.ID, evsA[5].Seq, 0)
	require.NoError(t, err)
	require.Len(t, tail, 2)
	assert.Equal(t, []string{store.EventMembershipAdded, store.EventMembershipDeactivated}, []string{tail[0].Type, tail[1].Type})
	assert.Less(t, tail[0].Seq, tail[1].Seq)
}

func testEventDefaultLimit(t *testing.T, f *fixture) {
	org := f.org()
	for range 105 {
		require.NoError(t, f.st.AppendEvent(f.ctx, f.ev(org.ID, "", "test.event")))
	}
	evs, err := f.st.ListEvents(f.ctx, org.ID, 0, 0)
	require.NoError(t, err)
	require.Len(t, evs, 100, "limit 0 means 100")
	rest, err := f.st.ListEvents(f.ctx, org.ID, evs[99].Seq, 0)
	require.NoError(t, err)
	assert.Len(t, rest, 6)
}
