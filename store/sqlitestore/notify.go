package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/invitekit/invitekit/store"
)

var (
	_ store.MemberGetter   = (*Store)(nil)
	_ store.SessionRevoker = (*Store)(nil)
	_ store.ChangeNotifier = (*Store)(nil)
)

// qGetMember reads a membership and its user in one statement (the two
// primary keys).
var qGetMember = `SELECT ` + memberColumns + ` FROM memberships m JOIN users u ON u.id = m.user_id
WHERE m.org_id = ? AND m.user_id = ?`

const qRevokeSessions = `UPDATE users SET session_generation = session_generation + 1 WHERE id = ?
RETURNING session_generation`

// notifyWriteQueries are the write statements of this file (see
// writeQueries).
var notifyWriteQueries = []string{qRevokeSessions}

// GetMember implements store.MemberGetter: the membership and its user in
// one read, or ErrNotFound.
func (s *Store) GetMember(ctx context.Context, orgID, userID string) (store.Member, error) {
	var mem store.Member
	err := s.readRow(ctx, func(sc scanner) error { return scanMember(sc, &mem) }, qGetMember, orgID, userID)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Member{}, notMember(orgID, userID)
	}
	if err != nil {
		return store.Member{}, err
	}
	return mem, nil
}

// RevokeSessions implements store.SessionRevoker: in one transaction it
// increments the user's session generation and appends ev (its CreateTime
// is at when zero); after the commit it publishes Change{UserID: userID}.
// UpdateTime is unchanged.
func (s *Store) RevokeSessions(ctx context.Context, userID string, at time.Time, ev store.Event) (int64, error) {
	if ev.CreateTime.IsZero() {
		ev.CreateTime = at
	}
	var gen int64
	err := s.write(ctx, func(t *wtx) error {
		err := t.row(func(sc scanner) error { return sc.Scan(&gen) }, qRevokeSessions, userID)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("sqlitestore: revoke sessions: user %q: %w", userID, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if err := t.appendEvent(store.FillEvent(ev, "", userID)); err != nil {
			return err
		}
		t.changed("", userID)
		return nil
	})
	if err != nil {
		return 0, err
	}
	return gen, nil
}

// Subscribe implements store.ChangeNotifier within this process: every
// change a method of this Store commits is published, right after the
// commit, to every subscription of this Store, synchronously (when the
// method returns, each changed callback has run), one call at a time per
// subscription. A subscription is never lost, so lost is never called.
// changed must not write to the Store.
//
// Other processes (or other Stores) on the same database file are not
// told: SQLite has no way to push a change to them. Several processes
// sharing one file must rely on their caches' TTL (the middleware's
// fallback) instead.
func (s *Store) Subscribe(ctx context.Context, changed func(store.Change), lost func(error)) error {
	return s.notify.Subscribe(ctx, changed)
}

// changed records a change that write publishes once t commits (see
// store.Change for empty ids).
func (t *wtx) changed(orgID, userID string) {
	t.changes = append(t.changes, store.Change{OrganizationID: orgID, UserID: userID})
}

// changedCreated records the memberships a chunk created (the items
// without an error).
func (t *wtx) changedCreated(out []store.BatchResult) {
	for _, r := range out {
		if r.Err == nil {
			t.changed(r.Membership.OrganizationID, r.User.ID)
		}
	}
}

// notifier is the in-process store.ChangeNotifier core (shared with
// the other single-process store).
type notifier = store.LocalNotifier
