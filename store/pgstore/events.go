package pgstore

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/invitekit/invitekit/store"
)

// AppendEvent implements store.Events.
func (s *Store) AppendEvent(ctx context.Context, ev store.Event) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if err := s.appendEvent(ctx, tx, ev); err != nil {
			return fmt.Errorf("pgstore: append event: %w", err)
		}
		return nil
	})
}

// ListEvents implements store.Events. Events of one organization commit in
// Seq order (see qInsertEvent), so a reader that pages with afterSeq never
// misses one.
func (s *Store) ListEvents(ctx context.Context, orgID string, afterSeq int64, limit int) ([]store.Event, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.pool.Query(ctx, s.sql(`SELECT `+eventCols+` FROM {s}.events
		WHERE org_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`), orgID, afterSeq, limit)
	if err != nil {
		return nil, fmt.Errorf("pgstore: list events: %w", err)
	}
	return collectEvents(rows)
}
