package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/invitekit/invitekit/store"
)

// allEventsWait bounds how long ListAllEvents waits for the writers that
// hold events below its horizon before it answers store.ErrUnavailable.
const allEventsWait = 5 * time.Second

// The writers of events (every INSERT or COPY into {s}.events holds
// RowExclusiveLock on it from before it takes a seq until its
// transaction ends), other than this session, by virtual transaction id.
const qEventWriters = `SELECT coalesce(array_agg(DISTINCT virtualtransaction), '{}') FROM pg_locks
	WHERE locktype = 'relation' AND relation = '{s}.events'::regclass AND mode = 'RowExclusiveLock'
	AND granted AND pid IS DISTINCT FROM pg_backend_pid()
	AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`

// ListAllEvents implements store.AllEvents.
//
// Two organizations' events can commit out of Seq order (each
// organization's feed is ordered by its own advisory lock), so a cursor
// over all of them could skip an event that commits after a higher one
// was read. ListAllEvents therefore reads the sequence's last value H,
// then the transactions that are writing events at that moment (any that
// took a seq ≤ H and has not ended is one of them), waits until those
// have ended, and only then reads the events with afterSeq < Seq ≤ H.
// Transactions that start later take seqs above H and are left for the
// next page. Waiting longer than 5 s answers store.ErrUnavailable.
func (s *Store) ListAllEvents(ctx context.Context, afterSeq int64, limit int) ([]store.Event, error) {
	if limit <= 0 {
		limit = 100
	}
	var horizon int64
	if err := s.pool.QueryRow(ctx, s.sql(`SELECT last_value FROM {s}.events_seq_seq`)).Scan(&horizon); err != nil {
		return nil, fmt.Errorf("pgstore: list all events: %w", unavailable(err))
	}
	if horizon <= afterSeq {
		return nil, nil
	}
	var writers []string
	if err := s.pool.QueryRow(ctx, s.sql(qEventWriters)).Scan(&writers); err != nil {
		return nil, fmt.Errorf("pgstore: list all events: writers: %w", unavailable(err))
	}
	if err := s.awaitTransactions(ctx, writers); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, s.sql(`SELECT `+eventCols+` FROM {s}.events
		WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT $3`), afterSeq, horizon, limit)
	if err != nil {
		return nil, fmt.Errorf("pgstore: list all events: %w", unavailable(err))
	}
	return collectEvents(rows)
}

// awaitTransactions waits until none of the virtual transactions vxids
// runs any more (each holds the lock on its own virtualxid until it ends).
func (s *Store) awaitTransactions(ctx context.Context, vxids []string) error {
	deadline := time.Now().Add(allEventsWait)
	for pause := time.Millisecond; len(vxids) > 0; pause = min(2*pause, 50*time.Millisecond) {
		if err := s.pool.QueryRow(ctx, `SELECT coalesce(array_agg(virtualxid), '{}') FROM pg_locks
			WHERE locktype = 'virtualxid' AND virtualxid = ANY($1::text[])`, vxids).Scan(&vxids); err != nil {
			return fmt.Errorf("pgstore: list all events: wait for writers: %w", unavailable(err))
		}
		if len(vxids) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pgstore: list all events: %d transactions still writing events: %w", len(vxids), store.ErrUnavailable)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pause):
		}
	}
	return nil
}

// collectEvents reads and closes rows of eventCols.
func collectEvents(rows pgx.Rows) ([]store.Event, error) {
	defer rows.Close()
	var out []store.Event
	for rows.Next() {
		ev, err := scanEvent(rows)
		if err != nil {
			return nil, fmt.Errorf("pgstore: list events: %w", err)
		}
		out = append(out, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pgstore: list events: %w", err)
	}
	return out, nil
}
