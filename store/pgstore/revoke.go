package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/invitekit/invitekit/store"
)

const qRevokeSessions = `UPDATE {s}.users SET session_generation = session_generation + 1
	WHERE id = $1 RETURNING session_generation`

// RevokeSessions implements store.SessionRevoker: in one transaction (one
// pipelined round trip) it increments the user's session generation,
// appends ev (its CreateTime is at when zero) and publishes
// Change{UserID: userID}. The user's UpdateTime is left unchanged. It
// returns the new generation, or ErrNotFound for an unknown user.
func (s *Store) RevokeSessions(ctx context.Context, userID string, at time.Time, ev store.Event) (int64, error) {
	ev = store.FillEvent(ev, "", userID)
	if ev.CreateTime.IsZero() {
		ev.CreateTime = at
	}
	var gen int64
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		b.Queue(s.sql(qRevokeSessions), userID)
		s.queueEventNotify(b, ev, store.Change{UserID: userID})
		br := tx.SendBatch(ctx, b)
		err := br.QueryRow().Scan(&gen)
		if errors.Is(err, pgx.ErrNoRows) {
			br.Close() // the event was appended: the rollback takes it back
			return fmt.Errorf("pgstore: revoke sessions: user %q: %w", userID, store.ErrNotFound)
		}
		if err == nil {
			_, err = br.Exec()
		}
		if cerr := br.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("pgstore: revoke sessions: %w", err)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return gen, nil
}
