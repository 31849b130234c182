package memstore

import (
	"context"
	"sort"

	"github.com/invitekit/invitekit/store"
)

// ListAllEvents implements store.AllEvents: writes are serialized, so
// events become visible in Seq order.
func (s *Store) ListAllEvents(ctx context.Context, afterSeq int64, limit int) ([]store.Event, error) {
	return s.listEvents(ctx, afterSeq, limit, func(store.Event) bool { return true })
}

// listEvents returns the events with Seq > afterSeq that keep accepts, in
// Seq order, at most limit (0 means 100).
func (s *Store) listEvents(ctx context.Context, afterSeq int64, limit int, keep func(store.Event) bool) ([]store.Event, error) {
	if limit <= 0 {
		limit = 100
	}
	return locked(ctx, s, func(st *state) ([]store.Event, error) {
		i := sort.Search(len(st.events), func(i int) bool { return st.events[i].Seq > afterSeq })
		var out []store.Event
		for ; i < len(st.events) && len(out) < limit; i++ {
			if keep(st.events[i]) {
				out = append(out, copyEvent(st.events[i]))
			}
		}
		return out, nil
	})
}
