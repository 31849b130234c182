package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/invitekit/invitekit/store"
)

const (
	outboxColumns = `id, org_id, kind, to_addr, message_id, data, sealed, status, attempts, next_attempt_time,
lease_until, last_error, create_time, sent_time`

	insertOutboxHead = `INSERT INTO outbox (` + outboxColumns + `) VALUES `
	outboxInsertCols = 14
	qClaimable       = `SELECT seq, ` + outboxColumns + ` FROM outbox
WHERE status = 'QUEUED' AND next_attempt_time <= ? AND lease_until <= ? ORDER BY seq LIMIT ?`
	qLease          = `UPDATE outbox SET lease_until = ? WHERE seq = ?`
	qOutboxState    = `SELECT org_id, status FROM outbox WHERE id = ?`
	qOutboxSent     = `UPDATE outbox SET status = 'SENT', sent_time = ?, sealed = NULL, lease_until = 0 WHERE id = ?`
	qOutboxRetry    = `UPDATE outbox SET attempts = ?, next_attempt_time = ?, last_error = ?, lease_until = 0 WHERE id = ?`
	qOutboxDead     = `UPDATE outbox SET status = 'DEAD', attempts = ?, last_error = ?, sealed = NULL, lease_until = 0 WHERE id = ?`
	qListOutbox     = `SELECT seq, ` + outboxColumns + ` FROM outbox WHERE org_id = ? AND status = ? ORDER BY seq LIMIT ?`
	qListOutboxAll  = `SELECT seq, ` + outboxColumns + ` FROM outbox WHERE org_id = ? ORDER BY seq LIMIT ?`
	qCountOutbox    = `SELECT count(*) FROM outbox WHERE status = ?`
	qCountOutboxAll = `SELECT count(*) FROM outbox`
)

// insertOutbox queues msg (see outboxArgs).
func (t *wtx) insertOutbox(msg store.OutboxMessage, orgID string) error {
	args, err := outboxArgs(nil, prepareOutbox(msg, orgID))
	if err != nil {
		return err
	}
	return t.insertRows(insertOutboxHead, outboxInsertCols, args)
}

// prepareOutbox fills in an empty ID, organization or status with a new
// "msg_" id, orgID and QUEUED.
func prepareOutbox(msg store.OutboxMessage, orgID string) store.OutboxMessage {
	if msg.ID == "" {
		msg.ID = store.NewID("msg")
	}
	if msg.OrganizationID == "" {
		msg.OrganizationID = orgID
	}
	if msg.Status == "" {
		msg.Status = store.OutboxQueued
	}
	return msg
}

// outboxArgs appends msg's insert arguments (outboxColumns order).
func outboxArgs(args []any, msg store.OutboxMessage) ([]any, error) {
	data, err := jsonMap(msg.Data)
	if err != nil {
		return nil, err
	}
	return append(args, msg.ID, msg.OrganizationID, string(msg.Kind), msg.To, msg.MessageID, textArg(data),
		blobArg(msg.Sealed), string(msg.Status), int64(msg.Attempts), tsOf(msg.NextAttemptTime), tsOf(msg.LeaseUntil),
		msg.LastError, tsOf(msg.CreateTime), nullTsArg(msg.SentTime)), nil
}

// scanOutbox scans "seq, " + outboxColumns.
func scanOutbox(sc scanner, msg *store.OutboxMessage) (seq int64, err error) {
	var data sql.NullString
	var sealed []byte
	var status string
	var nat, lu, ct int64
	var st sql.NullInt64
	if err := sc.Scan(&seq, &msg.ID, &msg.OrganizationID, &msg.Kind, &msg.To, &msg.MessageID, &data, &sealed,
		&status, &msg.Attempts, &nat, &lu, &msg.LastError, &ct, &st); err != nil {
		return 0, fmt.Errorf("sqlitestore: %w", err)
	}
	if msg.Data, err = mapOf(data); err != nil {
		return 0, err
	}
	msg.Sealed = bytesOf(sealed)
	msg.Status = store.OutboxStatus(status)
	msg.NextAttemptTime, msg.LeaseUntil, msg.CreateTime = timeOf(nat), timeOf(lu), timeOf(ct)
	msg.SentTime = timePtrOf(st)
	return seq, nil
}

// ClaimOutbox implements store.Outbox. The select and the lease happen in
// one write transaction, which holds SQLite's write lock (BEGIN IMMEDIATE),
// so no other claimer, in this process or another, can see the same
// messages as claimable.
func (s *Store) ClaimOutbox(ctx context.Context, now, leaseUntil time.Time, limit int) ([]store.OutboxMessage, error) {
	if limit <= 0 {
		limit = 100
	}
	var msgs []store.OutboxMessage
	err := s.write(ctx, func(t *wtx) error {
		msgs = nil
		rows, err := t.query(qClaimable, tsOf(now), tsOf(now), limit)
		if err != nil {
			return err
		}
		var seqs []int64
		for rows.Next() {
			var msg store.OutboxMessage
			seq, err := scanOutbox(rows, &msg)
			if err != nil {
				rows.Close()
				return err
			}
			msg.LeaseUntil = timeOf(tsOf(leaseUntil))
			msgs = append(msgs, msg)
			seqs = append(seqs, seq)
		}
		if err := rows.Err(); err != nil {
			rows.Close()
			return fmt.Errorf("sqlitestore: %w", err)
		}
		rows.Close()
		for _, seq := range seqs {
			if _, err := t.exec(qLease, tsOf(leaseUntil), seq); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return msgs, nil
}

// updateOutbox runs one outbox transition on message id, and appends ev
// (when not nil). The transition applies only to a QUEUED message: for a
// SENT or DEAD one it is a no-op (nil, no event).
func (s *Store) updateOutbox(ctx context.Context, id string, query string, args []any, ev *store.Event) error {
	return s.write(ctx, func(t *wtx) error {
		var orgID, status string
		err := t.row(func(sc scanner) error { return sc.Scan(&orgID, &status) }, qOutboxState, id)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("sqlitestore: outbox message %q: %w", id, store.ErrNotFound)
		}
		if err != nil || status != string(store.OutboxQueued) {
			return err
		}
		if _, err := t.exec(query, args...); err != nil {
			return err
		}
		if ev != nil {
			err = t.appendEvent(store.FillEvent(*ev, orgID, ""))
		}
		return err
	})
}

// MarkOutboxSent implements store.Outbox. It is a no-op for a message that
// is already SENT or DEAD.
func (s *Store) MarkOutboxSent(ctx context.Context, id string, at time.Time) error {
	return s.updateOutbox(ctx, id, qOutboxSent, []any{tsOf(at), id}, nil)
}

// MarkOutboxRetry implements store.Outbox. It is a no-op for a message
// that is already SENT or DEAD.
func (s *Store) MarkOutboxRetry(ctx context.Context, id string, attempts int, next time.Time, lastErr string) error {
	return s.updateOutbox(ctx, id, qOutboxRetry, []any{attempts, tsOf(next), lastErr, id}, nil)
}

// MarkOutboxDead implements store.Outbox. It is a no-op (no event) for a
// message that is already SENT or DEAD.
func (s *Store) MarkOutboxDead(ctx context.Context, id string, attempts int, lastErr string, at time.Time, ev store.Event) error {
	return s.updateOutbox(ctx, id, qOutboxDead, []any{attempts, lastErr, id}, &ev)
}

// ListOutbox implements store.Outbox. An empty status means any status.
func (s *Store) ListOutbox(ctx context.Context, orgID string, status store.OutboxStatus, limit int) ([]store.OutboxMessage, error) {
	if limit <= 0 {
		limit = 100
	}
	query, args := qListOutbox, []any{orgID, string(status), limit}
	if status == "" {
		query, args = qListOutboxAll, []any{orgID, limit}
	}
	rows, err := s.readRows(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var msgs []store.OutboxMessage
	for rows.Next() {
		var msg store.OutboxMessage
		if _, err := scanOutbox(rows, &msg); err != nil {
			return nil, err
		}
		msgs = append(msgs, msg)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	return msgs, nil
}

// CountOutbox implements store.Outbox. An empty status means any status.
func (s *Store) CountOutbox(ctx context.Context, status store.OutboxStatus) (int, error) {
	query, args := qCountOutbox, []any{string(status)}
	if status == "" {
		query, args = qCountOutboxAll, nil
	}
	var n int
	if err := s.readRow(ctx, func(sc scanner) error { return sc.Scan(&n) }, query, args...); err != nil {
		return 0, err
	}
	return n, nil
}
