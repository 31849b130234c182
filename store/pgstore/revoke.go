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

// qRevokeOneTrip is RevokeInvitation as one statement (autocommit, one
// round trip), in the transaction path's lock order: the unspent,
// unrevoked invitations locked first, then the pending membership
// deleted, then (only when it was) the invitations revoked and the event
// and notification appended (qInsertEventNotify's $1–$10), the event
// lock last. The event's data is extended (store.RevokeData) from the
// deleted membership's roles ($14 the key, "" for none) and its user's
// email ($15). It returns how many memberships it deleted: 0 wrote
// nothing.
const qRevokeOneTrip = `WITH li AS MATERIALIZED (SELECT id FROM {s}.invitations
		WHERE org_id = $11 AND user_id = $12 AND spend_time IS NULL AND revoke_time IS NULL FOR UPDATE),
d AS (DELETE FROM {s}.memberships WHERE org_id = $11 AND user_id = $12 AND status = 'PENDING_INVITE'
		AND (SELECT count(*) FROM li) >= 0 RETURNING roles),
i AS (UPDATE {s}.invitations SET revoke_time = $13 WHERE id IN (SELECT id FROM li) AND EXISTS (SELECT 1 FROM d)),
l AS MATERIALIZED (SELECT pg_advisory_xact_lock($1) FROM d),
n AS MATERIALIZED (SELECT pg_notify($9, $10) FROM l),
e AS (INSERT INTO {s}.events (id, org_id, type, user_id, actor_id, data, create_time)
	SELECT $2::text, $3::text, $4::text, $5::text, $6::text, CASE WHEN $14::text = '' AND $15::text = '' THEN $7::jsonb ELSE
		coalesce($7::jsonb, '{}') || CASE WHEN $14::text = '' THEN '{}' ELSE jsonb_build_object($14::text,
			coalesce((SELECT string_agg(r, ',' ORDER BY o) FROM jsonb_array_elements_text(
				CASE WHEN jsonb_typeof(d.roles) = 'array' THEN d.roles END) WITH ORDINALITY AS t(r, o)), '')) END
		|| coalesce((SELECT jsonb_build_object($15::text, email) FROM {s}.users WHERE id = $12 AND $15::text <> ''), '{}') END,
		$8::timestamptz FROM l, n, d)
SELECT count(*) FROM d`

// revokeOneTrip runs qRevokeOneTrip; false: nothing was written (a
// refusal, or a serialization failure) and the transaction path must
// decide (and explain the refusal).
func (s *Store) revokeOneTrip(ctx context.Context, orgID, userID string, now time.Time, ev store.Event, keys store.RevokeData) (bool, error) {
	var n int64
	args := append(s.eventNotifyArgs(ev, store.Change{OrganizationID: orgID, UserID: userID}), orgID, userID, now, keys.RolesKey, keys.EmailKey)
	err := s.pool.QueryRow(ctx, s.sql(qRevokeOneTrip), args...).Scan(&n)
	switch {
	case retryable(err):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("pgstore: revoke: %w", err)
	}
	return n > 0, nil
}

// RevokeInvitationGuarded implements store.GuardedRevoker: qRevokeOneTrip,
// one statement in one round trip. A refusal writes nothing and is
// store.ErrRevokeRefused.
func (s *Store) RevokeInvitationGuarded(ctx context.Context, orgID, userID string, now time.Time, ev store.Event, keys store.RevokeData) error {
	done, err := s.revokeOneTrip(ctx, orgID, userID, now, store.FillEvent(ev, orgID, userID), keys)
	if err == nil && !done {
		err = fmt.Errorf("pgstore: revoke: membership %q in %q: %w", userID, orgID, store.ErrRevokeRefused)
	}
	return err
}
