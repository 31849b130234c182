package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/invitekit/invitekit/store"
)

// GetUser implements store.Users.
func (s *Store) GetUser(ctx context.Context, userID string) (store.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, s.sql(`SELECT `+userCols+` FROM {s}.users WHERE id = $1`), userID))
	if err != nil {
		return store.User{}, notFound(err, "user %q", userID)
	}
	return u, nil
}

// GetUserByEmail implements store.Users.
func (s *Store) GetUserByEmail(ctx context.Context, email string) (store.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, s.sql(`SELECT `+userCols+` FROM {s}.users WHERE email = $1`), email))
	if err != nil {
		return store.User{}, notFound(err, "user by email")
	}
	return u, nil
}

// The external id queries repeat the partial index's predicate
// (a non-empty external_id) so the planner can use users_external_id_key; without
// it a prepared statement's generic plan scans the whole users table.
const (
	qUserByExternalID = `SELECT ` + userCols + ` FROM {s}.users WHERE external_id = $1 AND external_id <> ''`
	qExternalIDsTaken = `SELECT external_id FROM {s}.users WHERE external_id = ANY($1::text[]) AND external_id <> ''`
)

// GetUserByExternalID implements store.Users. An empty external id is never
// found.
func (s *Store) GetUserByExternalID(ctx context.Context, externalID string) (store.User, error) {
	if externalID == "" {
		return store.User{}, fmt.Errorf("pgstore: user by external id: %w", store.ErrNotFound)
	}
	u, err := scanUser(s.pool.QueryRow(ctx, s.sql(qUserByExternalID), externalID))
	if err != nil {
		return store.User{}, notFound(err, "user by external id")
	}
	return u, nil
}

// GetIdentity implements store.Users.
func (s *Store) GetIdentity(ctx context.Context, issuer, subject string) (store.Identity, error) {
	id, err := scanIdentity(s.pool.QueryRow(ctx, s.sql(`SELECT `+identityCols+` FROM {s}.identities
		WHERE issuer = $1 AND subject = $2`), issuer, subject))
	if err != nil {
		return store.Identity{}, notFound(err, "identity")
	}
	return id, nil
}

// LinkIdentity implements store.Users. It returns ErrNotFound when
// id.UserID is not a user.
func (s *Store) LinkIdentity(ctx context.Context, id store.Identity, ev store.Event) error {
	ev = store.FillEvent(ev, "", id.UserID)
	return s.inTx(ctx, func(tx pgx.Tx) error {
		var exists bool
		if err := tx.QueryRow(ctx, s.sql(`SELECT EXISTS (SELECT 1 FROM {s}.users WHERE id = $1)`), id.UserID).Scan(&exists); err != nil {
			return fmt.Errorf("pgstore: link identity: %w", err)
		}
		if !exists {
			return fmt.Errorf("pgstore: link identity: user %q: %w", id.UserID, store.ErrNotFound)
		}
		linked, err := s.linkIdentity(ctx, tx, id)
		if err != nil || !linked {
			return err
		}
		if err := s.appendEvent(ctx, tx, ev); err != nil {
			return fmt.Errorf("pgstore: link identity: %w", err)
		}
		return nil
	})
}

const qInsertIdentity = `INSERT INTO {s}.identities (issuer, subject, user_id, email, create_time)
	VALUES ($1, $2, $3, $4, $5) ON CONFLICT (issuer, subject) DO NOTHING`

const qIdentityOwner = `SELECT user_id FROM {s}.identities WHERE issuer = $1 AND subject = $2`

// linkIdentity inserts id in tx, reporting false when the same link exists
// already and ErrIdentityTaken when issuer+subject belong to another user.
// ON CONFLICT DO NOTHING waits for a concurrent insert of the same key, so
// the owner read afterwards is the committed one.
func (s *Store) linkIdentity(ctx context.Context, tx pgx.Tx, id store.Identity) (bool, error) {
	tag, err := tx.Exec(ctx, s.sql(qInsertIdentity), id.Issuer, id.Subject, id.UserID, id.Email, id.CreateTime)
	if err != nil {
		return false, fmt.Errorf("pgstore: link identity: %w", err)
	}
	if tag.RowsAffected() == 1 {
		return true, nil
	}
	return false, s.checkIdentityOwner(ctx, tx, id)
}

// checkIdentityOwner returns ErrIdentityTaken unless issuer+subject is
// linked to id.UserID.
func (s *Store) checkIdentityOwner(ctx context.Context, tx pgx.Tx, id store.Identity) error {
	var owner string
	if err := tx.QueryRow(ctx, s.sql(qIdentityOwner), id.Issuer, id.Subject).Scan(&owner); err != nil {
		return fmt.Errorf("pgstore: link identity: %w", err)
	}
	if owner != id.UserID {
		return fmt.Errorf("pgstore: identity: %w", store.ErrIdentityTaken)
	}
	return nil
}

// RecordLogin implements store.Users: the user's last login and that of
// each of the user's ACTIVE memberships (found by memberships_user_seq),
// and the event, in one pipelined round trip. It leaves UpdateTime
// unchanged. The memberships are written before the user row, the order
// AcceptInvitation locks them in.
func (s *Store) RecordLogin(ctx context.Context, userID string, at time.Time, ev store.Event) error {
	ev = store.FillEvent(ev, "", userID)
	return s.inTx(ctx, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		b.Queue(s.sql(`UPDATE {s}.memberships SET last_login = $2 WHERE user_id = $1 AND status = 'ACTIVE'`), userID, at)
		b.Queue(s.sql(`UPDATE {s}.users SET last_login = $2 WHERE id = $1`), userID, at)
		s.queueEvent(b, ev)
		br := tx.SendBatch(ctx, b)
		_, err := br.Exec()
		var tag pgconn.CommandTag
		if err == nil {
			tag, err = br.Exec()
		}
		if err == nil {
			_, err = br.Exec()
		}
		if cerr := br.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("pgstore: record login: %w", err)
		}
		if tag.RowsAffected() == 0 {
			// The event was appended: the rollback takes it back.
			return fmt.Errorf("pgstore: record login: user %q: %w", userID, store.ErrNotFound)
		}
		return nil
	})
}
