package pgstore

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/invitekit/invitekit/store"
)

// qClaimOutbox leases due messages in one statement. FOR UPDATE SKIP LOCKED
// makes concurrent claimers (in any number of processes) pass over rows
// another claimer is leasing right now, and READ COMMITTED re-checks a row
// that was leased and committed meanwhile against the newest version (its
// lease_until is then in the future, so it is not taken twice).
const qClaimOutbox = `WITH c AS (
	SELECT id FROM {s}.outbox
	WHERE status = 'QUEUED' AND next_attempt_time <= $1 AND lease_until <= $1
	ORDER BY seq LIMIT $3
	FOR UPDATE SKIP LOCKED)
UPDATE {s}.outbox o SET lease_until = $2 FROM c WHERE o.id = c.id
RETURNING o.seq, o.id, o.org_id, o.kind, o.to_addr, o.message_id, o.data, o.sealed, o.status, o.attempts,
	o.next_attempt_time, o.lease_until, o.last_error, o.create_time, o.sent_time`

// ClaimOutbox implements store.Outbox. A limit of 0 or less means 100.
func (s *Store) ClaimOutbox(ctx context.Context, now, leaseUntil time.Time, limit int) ([]store.OutboxMessage, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.pool.Query(ctx, s.sql(qClaimOutbox), now, leaseUntil, limit)
	if err != nil {
		return nil, fmt.Errorf("pgstore: claim outbox: %w", err)
	}
	defer rows.Close()
	type claimed struct {
		seq int64
		msg store.OutboxMessage
	}
	var cs []claimed
	for rows.Next() {
		var c claimed
		c.msg, err = scanOutbox(seqRow{row: rows, seq: &c.seq})
		if err != nil {
			return nil, fmt.Errorf("pgstore: claim outbox: %w", err)
		}
		cs = append(cs, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pgstore: claim outbox: %w", err)
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].seq < cs[j].seq })
	out := make([]store.OutboxMessage, len(cs))
	for i, c := range cs {
		out[i] = c.msg
	}
	return out, nil
}

// seqRow reads a leading seq column before the columns a scanner expects.
type seqRow struct {
	row pgx.Row
	seq *int64
}

func (r seqRow) Scan(dest ...any) error { return r.row.Scan(append([]any{r.seq}, dest...)...) }

// outboxMissing explains a conditional update of a QUEUED message that
// touched no row: q (qOutboxExists) tells whether the message exists. If it
// does not, the error is ErrNotFound; if it does, it is no longer QUEUED
// and the transition is a no-op (nil).
func outboxMissing(q pgx.Row, id string) error {
	var exists bool
	if err := q.Scan(&exists); err != nil {
		return fmt.Errorf("pgstore: outbox message %q: %w", id, err)
	}
	if !exists {
		return fmt.Errorf("pgstore: outbox message %q: %w", id, store.ErrNotFound)
	}
	return nil
}

const qOutboxExists = `SELECT EXISTS (SELECT 1 FROM {s}.outbox WHERE id = $1)`

// MarkOutboxSent implements store.Outbox. It is a no-op for a message that
// is already SENT or DEAD.
func (s *Store) MarkOutboxSent(ctx context.Context, id string, at time.Time) error {
	tag, err := s.pool.Exec(ctx, s.sql(`UPDATE {s}.outbox SET status = 'SENT', sent_time = $2, sealed = NULL,
		lease_until = `+zeroTime+` WHERE id = $1 AND status = 'QUEUED'`), id, at)
	if err != nil {
		return fmt.Errorf("pgstore: mark outbox sent: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return outboxMissing(s.pool.QueryRow(ctx, s.sql(qOutboxExists), id), id)
	}
	return nil
}

// MarkOutboxRetry implements store.Outbox. It is a no-op for a message that
// is already SENT or DEAD.
func (s *Store) MarkOutboxRetry(ctx context.Context, id string, attempts int, next time.Time, lastErr string) error {
	tag, err := s.pool.Exec(ctx, s.sql(`UPDATE {s}.outbox SET attempts = $2, next_attempt_time = $3, last_error = $4,
		lease_until = `+zeroTime+` WHERE id = $1 AND status = 'QUEUED'`), id, attempts, next, lastErr)
	if err != nil {
		return fmt.Errorf("pgstore: mark outbox retry: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return outboxMissing(s.pool.QueryRow(ctx, s.sql(qOutboxExists), id), id)
	}
	return nil
}

// MarkOutboxDead implements store.Outbox. It is a no-op (no event) for a
// message that is already SENT or DEAD.
func (s *Store) MarkOutboxDead(ctx context.Context, id string, attempts int, lastErr string, at time.Time, ev store.Event) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		var orgID string
		err := tx.QueryRow(ctx, s.sql(`UPDATE {s}.outbox SET status = 'DEAD', attempts = $2, last_error = $3,
			sealed = NULL, lease_until = `+zeroTime+` WHERE id = $1 AND status = 'QUEUED' RETURNING org_id`),
			id, attempts, lastErr).Scan(&orgID)
		if errors.Is(err, pgx.ErrNoRows) {
			return outboxMissing(tx.QueryRow(ctx, s.sql(qOutboxExists), id), id)
		}
		if err != nil {
			return fmt.Errorf("pgstore: mark outbox dead: %w", err)
		}
		if err := s.appendEvent(ctx, tx, store.FillEvent(ev, orgID, "")); err != nil {
			return fmt.Errorf("pgstore: mark outbox dead: %w", err)
		}
		return nil
	})
}

// ListOutbox implements store.Outbox. An empty status means any status.
func (s *Store) ListOutbox(ctx context.Context, orgID string, status store.OutboxStatus, limit int) ([]store.OutboxMessage, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.pool.Query(ctx, s.sql(`SELECT `+outboxCols+` FROM {s}.outbox
		WHERE org_id = $1 AND ($2 = '' OR status = $2) ORDER BY seq LIMIT $3`), orgID, string(status), limit)
	if err != nil {
		return nil, fmt.Errorf("pgstore: list outbox: %w", err)
	}
	defer rows.Close()
	var out []store.OutboxMessage
	for rows.Next() {
		m, err := scanOutbox(rows)
		if err != nil {
			return nil, fmt.Errorf("pgstore: list outbox: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pgstore: list outbox: %w", err)
	}
	return out, nil
}

// CountOutbox implements store.Outbox. An empty status means any status.
func (s *Store) CountOutbox(ctx context.Context, status store.OutboxStatus) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, s.sql(`SELECT count(*) FROM {s}.outbox WHERE $1 = '' OR status = $1`), string(status)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("pgstore: count outbox: %w", err)
	}
	return n, nil
}
