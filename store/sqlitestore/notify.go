package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
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
	return s.notify.subscribe(ctx, changed)
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

// notifier is an in-process store.ChangeNotifier. The zero value has no
// subscriptions.
type notifier struct {
	mu   sync.Mutex
	subs map[*subscription]struct{}
}

type subscription struct {
	mu      sync.Mutex // held while changed runs: one call at a time
	ended   bool
	ctx     context.Context
	changed func(store.Change)
}

func (n *notifier) subscribe(ctx context.Context, changed func(store.Change)) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sqlitestore: subscribe: %w", err)
	}
	sub := &subscription{ctx: ctx, changed: changed}
	n.mu.Lock()
	if n.subs == nil {
		n.subs = map[*subscription]struct{}{}
	}
	n.subs[sub] = struct{}{}
	n.mu.Unlock()
	context.AfterFunc(ctx, func() {
		n.mu.Lock()
		delete(n.subs, sub)
		n.mu.Unlock()
		sub.mu.Lock() // waits for a call in progress
		sub.ended = true
		sub.mu.Unlock()
	})
	return nil
}

// publish calls every subscription's changed with each of cs, in order.
func (n *notifier) publish(cs []store.Change) {
	if len(cs) == 0 {
		return
	}
	n.mu.Lock()
	subs := make([]*subscription, 0, len(n.subs))
	for sub := range n.subs {
		subs = append(subs, sub)
	}
	n.mu.Unlock()
	for _, sub := range subs {
		sub.mu.Lock()
		if !sub.ended && sub.ctx.Err() == nil { // nothing after ctx ends
			for _, c := range cs {
				sub.changed(c)
			}
		}
		sub.mu.Unlock()
	}
}
