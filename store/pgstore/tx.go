package pgstore

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/invitekit/invitekit/store"
)

// maxAttempts bounds how often a transaction that failed with a deadlock or
// serialization failure is run again.
const maxAttempts = 4

// inTx runs fn in one READ COMMITTED transaction, committing when fn returns
// nil and rolling back otherwise. A deadlock or serialization failure runs
// fn again (fn must reset anything it captured). Any other error, including
// a lost connection, is returned as is: the server rolls the transaction
// back, so nothing of it was written.
func (s *Store) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := pgx.BeginFunc(ctx, s.pool, fn)
		if err == nil || attempt == maxAttempts || !retryable(err) || ctx.Err() != nil {
			return err
		}
	}
}

// qInsertEvent appends an event. It first takes the organization's
// transaction-level advisory lock ($1), held until commit, so that events of
// one organization are assigned Seq in commit order: a reader paging with
// ListEvents' cursor can never miss an event that commits later with a
// smaller Seq. The lock is always the last one a transaction takes (events
// are written last), so it cannot be part of a deadlock.
const qInsertEvent = `WITH l AS MATERIALIZED (SELECT pg_advisory_xact_lock($1))
INSERT INTO {s}.events (id, org_id, type, user_id, actor_id, data, create_time)
SELECT $2::text, $3::text, $4::text, $5::text, $6::text, $7::jsonb, $8::timestamptz FROM l`

// eventLock returns the advisory lock key of orgID's event feed.
func (s *Store) eventLock(orgID string) int64 {
	return lockKey("invitekit.events", s.schema, orgID)
}

// eventArgs returns qInsertEvent's arguments for ev (id filled in if empty).
func (s *Store) eventArgs(ev store.Event) []any {
	if ev.ID == "" {
		ev.ID = store.NewID("evt")
	}
	return []any{s.eventLock(ev.OrganizationID), ev.ID, ev.OrganizationID, ev.Type, ev.UserID, ev.ActorID, jsonMap(ev.Data), ev.CreateTime}
}

// appendEvent inserts ev in tx.
func (s *Store) appendEvent(ctx context.Context, tx pgx.Tx, ev store.Event) error {
	_, err := tx.Exec(ctx, s.sql(qInsertEvent), s.eventArgs(ev)...)
	return err
}

// queueEvent adds ev's insert to a batch.
func (s *Store) queueEvent(b *pgx.Batch, ev store.Event) {
	b.Queue(s.sql(qInsertEvent), s.eventArgs(ev)...)
}
