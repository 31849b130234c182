package storetest

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/store"
)

// allEventsTests check store.AllEvents (skipped by a store without it).
var allEventsTests = []struct {
	name string
	fn   func(t *testing.T, f *fixture)
}{
	{"AllEvents/Order", testAllEventsOrder},
	{"AllEvents/ConcurrentWritersNeverSkipped", testAllEventsConcurrent},
}

func allEvents(t *testing.T, f *fixture) store.AllEvents {
	t.Helper()
	a, ok := f.st.(store.AllEvents)
	if !ok {
		t.Skipf("%T does not implement store.AllEvents", f.st)
	}
	return a
}

func testAllEventsOrder(t *testing.T, f *fixture) {
	all := allEvents(t, f)
	a, b := f.org(), f.org()
	for range 3 {
		require.NoError(t, f.st.AppendEvent(f.ctx, f.ev(a.ID, "", "test.event")))
		require.NoError(t, f.st.AppendEvent(f.ctx, f.ev(b.ID, "", "test.event")))
	}
	evs, err := all.ListAllEvents(f.ctx, 0, 1000)
	require.NoError(t, err)
	require.Len(t, evs, 8, "two organization.created + 6")
	for i := range evs {
		if i > 0 {
			assert.Greater(t, evs[i].Seq, evs[i-1].Seq, "in Seq order")
		}
	}
	// Both organizations' own feeds, merged by Seq, are the whole feed.
	merged := append(f.events(a.ID), f.events(b.ID)...)
	require.ElementsMatch(t, merged, evs)
	assert.Equal(t, b.ID, evs[len(evs)-1].OrganizationID)

	page, err := all.ListAllEvents(f.ctx, evs[2].Seq, 3)
	require.NoError(t, err)
	assert.Equal(t, evs[3:6], page, "after a cursor, at most limit")
	none, err := all.ListAllEvents(f.ctx, evs[7].Seq, 0)
	require.NoError(t, err)
	assert.Empty(t, none)

	for range 105 {
		require.NoError(t, f.st.AppendEvent(f.ctx, f.ev(a.ID, "", "test.event")))
	}
	def, err := all.ListAllEvents(f.ctx, evs[7].Seq, 0)
	require.NoError(t, err)
	assert.Len(t, def, 100, "limit 0 means 100")
}

// testAllEventsConcurrent: a reader that pages with the cursor while many
// organizations write gets every event exactly once, in Seq order (on
// PostgreSQL, organizations' events commit out of Seq order).
func testAllEventsConcurrent(t *testing.T, f *fixture) {
	all := allEvents(t, f)
	start, err := all.ListAllEvents(f.ctx, 0, 1000)
	require.NoError(t, err)
	var cursor int64
	if len(start) > 0 {
		cursor = start[len(start)-1].Seq
	}
	const writers, each = 8, 60
	orgs := make([]store.Organization, writers)
	for i := range orgs {
		orgs[i] = f.org()
	}
	cursor = lastSeq(t, f, all, cursor)
	want := map[string]bool{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	done := make(chan struct{})
	for i := range writers {
		wg.Go(func() {
			for range each {
				ev := f.ev(orgs[i].ID, "", "test.event")
				if err := f.st.AppendEvent(f.ctx, ev); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				want[ev.ID] = true
				mu.Unlock()
			}
		})
	}
	go func() { wg.Wait(); close(done) }()
	got := map[string]int{}
	read := func() int {
		evs, err := all.ListAllEvents(f.ctx, cursor, 50)
		require.NoError(t, err)
		for _, ev := range evs {
			require.Greater(t, ev.Seq, cursor, "in Seq order")
			cursor = ev.Seq
			got[ev.ID]++
		}
		return len(evs)
	}
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
			read()
		}
	}
	for read() > 0 {
	}
	require.Len(t, want, writers*each)
	for id := range want {
		require.Equal(t, 1, got[id], "event %s read once", id)
	}
	require.Len(t, got, writers*each)
}

// lastSeq pages from cursor to the end of the feed and returns the last Seq.
func lastSeq(t *testing.T, f *fixture, all store.AllEvents, cursor int64) int64 {
	for {
		evs, err := all.ListAllEvents(f.ctx, cursor, 1000)
		require.NoError(t, err)
		if len(evs) == 0 {
			return cursor
		}
		cursor = evs[len(evs)-1].Seq
	}
}
