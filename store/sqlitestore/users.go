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
	// userInsertColumns are the columns a new user is inserted with;
	// session_generation starts at its default, 0.
	userInsertColumns = `id, email, external_id, profile_id, first_name, last_name, name, locale,
email_verified, phone_number, profile_metadata, custom_attributes, metadata,
create_time, update_time, last_login`
	// userColumns are a user's columns in scan order (0003_sessions
	// added session_generation).
	userColumns = userInsertColumns + `, session_generation`

	insertUserHead     = `INSERT INTO users (` + userInsertColumns + `) VALUES `
	userInsertCols     = 16
	qGetUser           = `SELECT ` + userColumns + ` FROM users WHERE id = ?`
	qGetUserByEmail    = `SELECT ` + userColumns + ` FROM users WHERE email = ?`
	qGetUserByExternal = `SELECT ` + userColumns + ` FROM users WHERE external_id = ? AND external_id <> ''`
	qUserExists        = `SELECT 1 FROM users WHERE id = ?`
	qRecordLogin       = `UPDATE users SET last_login = ? WHERE id = ?`
	qSetEmailVerified  = `UPDATE users SET email_verified = 1, update_time = ? WHERE id = ? AND email_verified = 0`

	identityColumns = `issuer, subject, user_id, email, create_time`
	qGetIdentity    = `SELECT ` + identityColumns + ` FROM identities WHERE issuer = ? AND subject = ?`
	qInsertIdentity = `INSERT INTO identities (` + identityColumns + `) VALUES (?, ?, ?, ?, ?)`
)

func (s *Store) getUser(ctx context.Context, what, query, arg string) (store.User, error) {
	var u store.User
	err := s.readRow(ctx, scanUser(&u), query, arg)
	if errors.Is(err, sql.ErrNoRows) {
		return store.User{}, fmt.Errorf("sqlitestore: user with %s %q: %w", what, arg, store.ErrNotFound)
	}
	if err != nil {
		return store.User{}, err
	}
	return u, nil
}

// GetUser implements store.Users.
func (s *Store) GetUser(ctx context.Context, userID string) (store.User, error) {
	return s.getUser(ctx, "id", qGetUser, userID)
}

// GetUserByEmail implements store.Users.
func (s *Store) GetUserByEmail(ctx context.Context, email string) (store.User, error) {
	return s.getUser(ctx, "email", qGetUserByEmail, email)
}

// GetUserByExternalID implements store.Users.
func (s *Store) GetUserByExternalID(ctx context.Context, externalID string) (store.User, error) {
	return s.getUser(ctx, "external id", qGetUserByExternal, externalID)
}

// userArgs appends u's insert arguments (userInsertColumns order).
func userArgs(args []any, u store.User) ([]any, error) {
	p := u.Profile
	pmd, err := jsonMap(p.Metadata)
	if err != nil {
		return nil, err
	}
	ca, err := jsonMap(p.CustomAttributes)
	if err != nil {
		return nil, err
	}
	md, err := jsonMap(u.Metadata)
	if err != nil {
		return nil, err
	}
	return append(args, u.ID, u.Email, u.ExternalID, p.ID, p.FirstName, p.LastName, p.Name, p.Locale,
		p.EmailVerified, p.PhoneNumber, textArg(pmd), textArg(ca), textArg(md), tsOf(u.CreateTime), tsOf(u.UpdateTime), nullTsArg(u.LastLogin)), nil
}

// userByEmail reads a user inside t; found is false when there is none.
func (t *wtx) userByEmail(email string) (u store.User, found bool, err error) {
	err = t.row(scanUser(&u), qGetUserByEmail, email)
	if errors.Is(err, sql.ErrNoRows) {
		return store.User{}, false, nil
	}
	return u, err == nil, err
}

func (t *wtx) exists(query string, args ...any) (bool, error) {
	var one int
	err := t.row(func(sc scanner) error { return sc.Scan(&one) }, query, args...)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// GetIdentity implements store.Users.
func (s *Store) GetIdentity(ctx context.Context, issuer, subject string) (store.Identity, error) {
	var id store.Identity
	err := s.readRow(ctx, scanIdentity(&id), qGetIdentity, issuer, subject)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Identity{}, fmt.Errorf("sqlitestore: identity: %w", store.ErrNotFound)
	}
	if err != nil {
		return store.Identity{}, err
	}
	return id, nil
}

func scanIdentity(id *store.Identity) func(scanner) error {
	return func(sc scanner) error {
		var ct int64
		if err := sc.Scan(&id.Issuer, &id.Subject, &id.UserID, &id.Email, &ct); err != nil {
			return err
		}
		id.CreateTime = timeOf(ct)
		return nil
	}
}

// linkIdentity links id to id.UserID inside t. linked is false when the
// identity was already linked to that user (a no-op); it returns
// ErrIdentityTaken when it is linked to another user.
func (t *wtx) linkIdentity(id store.Identity) (linked bool, err error) {
	var cur store.Identity
	err = t.row(scanIdentity(&cur), qGetIdentity, id.Issuer, id.Subject)
	switch {
	case err == nil:
		if cur.UserID == id.UserID {
			return false, nil
		}
		return false, fmt.Errorf("sqlitestore: identity: %w", store.ErrIdentityTaken)
	case !errors.Is(err, sql.ErrNoRows):
		return false, err
	}
	if _, err := t.exec(qInsertIdentity, id.Issuer, id.Subject, id.UserID, id.Email, tsOf(id.CreateTime)); err != nil {
		return false, err
	}
	return true, nil
}

// LinkIdentity implements store.Users.
func (s *Store) LinkIdentity(ctx context.Context, id store.Identity, ev store.Event) error {
	return s.write(ctx, func(t *wtx) error {
		ok, err := t.exists(qUserExists, id.UserID)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("sqlitestore: user %q: %w", id.UserID, store.ErrNotFound)
		}
		linked, err := t.linkIdentity(id)
		if err != nil || !linked {
			return err
		}
		err = t.appendEvent(store.FillEvent(ev, "", id.UserID))
		return err
	})
}

// RecordLogin implements store.Users. It also sets the LastLogin of the
// user's ACTIVE memberships.
func (s *Store) RecordLogin(ctx context.Context, userID string, at time.Time, ev store.Event) error {
	return s.write(ctx, func(t *wtx) error { return t.recordLogin(userID, at, store.FillEvent(ev, "", userID)) })
}

// recordLogin is RecordLogin in t.
func (t *wtx) recordLogin(userID string, at time.Time, ev store.Event) error {
	n, err := t.execN(qRecordLogin, tsOf(at), userID)
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("sqlitestore: user %q: %w", userID, store.ErrNotFound)
	}
	if _, err := t.exec(qRecordMemberLogin, tsOf(at), userID); err != nil {
		return err
	}
	return t.appendEvent(ev)
}
