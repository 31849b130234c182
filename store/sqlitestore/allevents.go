package sqlitestore

import (
	"context"

	"github.com/invitekit/invitekit/store"
)

const qListAllEvents = `SELECT ` + eventColumns + ` FROM events WHERE seq > ? ORDER BY seq LIMIT ?`

// ListAllEvents implements store.AllEvents. SQLite has one writer at a
// time, so events commit in Seq order.
func (s *Store) ListAllEvents(ctx context.Context, afterSeq int64, limit int) ([]store.Event, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.readRows(ctx, qListAllEvents, afterSeq, limit)
	if err != nil {
		return nil, err
	}
	return scanEvents(rows)
}
