package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/invitekit/invitekit/store"
)

// Push invalidation (store.ChangeNotifier) with LISTEN/NOTIFY.
//
// Every write that changes a membership (CreateMembership, CreateMemberships,
// CreateOrganizationWithMember, AcceptInvitation, ReissueInvitation,
// RevokeInvitation, SetMembershipStatus, UpdateMembership), a user's
// session generation (RevokeSessions) or an organization's SSO policy
// (PutSSOConnection, DeleteSSOConnection, SetSSOTrust: [org, ""]) calls
// pg_notify(channel, payload) in
// its own transaction: PostgreSQL delivers a notification at commit and
// drops it on rollback, so a change is published if, and only if, it
// commits. The call is part of the statement that appends the change's
// event (or, for a batch, one more statement), so it costs no round trip.
//
// The channel is the store's schema's (channelName), so stores on two
// schemas of one database never see each other's changes. The payload is
// the JSON array [organization id, user id] of the Change ("" for an
// empty field; see encodeChange). A payload that would not fit PostgreSQL's
// 8,000-byte limit becomes [] (everything), and so does a batch of more
// than maxBatchNotifications created memberships: one notification that
// drops every cached entry instead of thousands.

// maxBatchNotifications bounds the notifications of one CreateMemberships
// call: up to this many created memberships publish one Change each, a
// larger batch publishes one Change{} (everything).
const maxBatchNotifications = 1000

// maxPayload is the longest payload sent; PostgreSQL's limit is 8,000 bytes.
const maxPayload = 7999

// Subscription timing (see Subscribe).
const (
	// listenPing is how long the listener waits for a notification
	// before it checks its connection with a ping: a connection that
	// died without closing (a network partition) is found within
	// listenPing + listenPingTimeout.
	listenPing        = 10 * time.Second
	listenPingTimeout = 5 * time.Second
	// reconnectMin and reconnectMax bound the backoff between reconnect
	// attempts (doubling, with jitter).
	reconnectMin = 50 * time.Millisecond
	reconnectMax = 5 * time.Second
)

var (
	_ store.ChangeNotifier = (*Store)(nil)
	_ store.MemberGetter   = (*Store)(nil)
	_ store.SessionRevoker = (*Store)(nil)
)

// channelName is the NOTIFY channel of schema's changes: "invitekit:" and
// the schema, or, when that exceeds PostgreSQL's 63-byte identifiers,
// "invitekit:#" and a hash of the schema.
func channelName(schema string) string {
	if c := "invitekit:" + schema; len(c) <= 63 {
		return c
	}
	return "invitekit:#" + strconv.FormatUint(uint64(lockKey("invitekit.channel", schema)), 16)
}

// Channel returns the NOTIFY channel the store publishes its changes on.
func (s *Store) Channel() string { return channelName(s.schema) }

// ListenerApplicationName is the application_name of Subscribe's listening
// connection (truncated by PostgreSQL to 63 bytes), so that it can be told
// apart in pg_stat_activity.
func (s *Store) ListenerApplicationName() string {
	name := "invitekit listener " + s.schema
	if len(name) > 63 {
		name = name[:63]
	}
	return name
}

// encodeChange returns the payload of c: the JSON array [org, user], or []
// for everything.
func encodeChange(c store.Change) string {
	if c == (store.Change{}) {
		return "[]"
	}
	b, err := json.Marshal([2]string{c.OrganizationID, c.UserID})
	if err != nil || len(b) > maxPayload {
		return "[]" // unreachable for strings; too long: everything
	}
	return string(b)
}

// decodeChange reads a payload of encodeChange. Anything else (a payload
// this release does not know) is read as everything, the safe reading.
func decodeChange(payload string) store.Change {
	var v []string
	if err := json.Unmarshal([]byte(payload), &v); err != nil || len(v) != 2 {
		return store.Change{}
	}
	return store.Change{OrganizationID: v[0], UserID: v[1]}
}

// qInsertEventNotify is qInsertEvent that also publishes the change
// ($9 channel, $10 payload) with the transaction.
const qInsertEventNotify = `WITH l AS MATERIALIZED (SELECT pg_advisory_xact_lock($1)),
n AS MATERIALIZED (SELECT pg_notify($9, $10))
INSERT INTO {s}.events (id, org_id, type, user_id, actor_id, data, create_time)
SELECT $2::text, $3::text, $4::text, $5::text, $6::text, $7::jsonb, $8::timestamptz FROM l, n`

func (s *Store) eventNotifyArgs(ev store.Event, c store.Change) []any {
	return append(s.eventArgs(ev), s.Channel(), encodeChange(c))
}

// appendEventNotify appends ev and publishes c in tx.
func (s *Store) appendEventNotify(ctx context.Context, tx pgx.Tx, ev store.Event, c store.Change) error {
	_, err := tx.Exec(ctx, s.sql(qInsertEventNotify), s.eventNotifyArgs(ev, c)...)
	return err
}

// queueEventNotify adds ev's insert and c's notification to a batch (one
// statement).
func (s *Store) queueEventNotify(b *pgx.Batch, ev store.Event, c store.Change) {
	b.Queue(s.sql(qInsertEventNotify), s.eventNotifyArgs(ev, c)...)
}

// batchPayloads are the notifications of the memberships a
// CreateMemberships call created (published by sendRest, in its
// transaction): one Change each, or one Change{} for more than
// maxBatchNotifications.
func batchPayloads(out []store.BatchResult) []string {
	payloads := make([]string, 0, min(len(out), maxBatchNotifications))
	for _, r := range out {
		if r.Err != nil {
			continue
		}
		if len(payloads) == maxBatchNotifications {
			payloads = append(payloads[:0], encodeChange(store.Change{}))
			break
		}
		payloads = append(payloads, encodeChange(store.Change{OrganizationID: r.Membership.OrganizationID, UserID: r.User.ID}))
	}
	return payloads
}

// qNotifyBatch publishes $2's payloads on channel $1.
const qNotifyBatch = `SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p`

// Subscribe implements store.ChangeNotifier with LISTEN on a connection of
// its own (made with the pool's connection settings, but not taken from
// the pool, and named ListenerApplicationName in pg_stat_activity). It
// returns once that connection listens, or with the error of that first
// attempt. Then, until ctx ends, a goroutine calls changed for each
// notification, in commit order.
//
// When the connection fails (or does not answer a ping after listenPing
// of silence) the goroutine calls lost(err) at once, reconnects with
// exponential backoff (50 ms doubling up to 5 s, jittered), listens again
// and calls changed(store.Change{}) — resync — before any further change.
// A notification committed while no connection listened is never
// delivered: the resync covers it.
func (s *Store) Subscribe(ctx context.Context, changed func(store.Change), lost func(error)) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("pgstore: subscribe: %w", err)
	}
	conn, err := s.listen(ctx)
	if err != nil {
		return fmt.Errorf("pgstore: subscribe: %w", err)
	}
	go s.listenLoop(ctx, conn, changed, lost)
	return nil
}

// listen opens the listening connection.
func (s *Store) listen(ctx context.Context) (*pgx.Conn, error) {
	cfg := s.pool.Config().ConnConfig.Copy()
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	cfg.RuntimeParams["application_name"] = s.ListenerApplicationName()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{s.Channel()}.Sanitize()); err != nil {
		closeConn(conn)
		return nil, err
	}
	return conn, nil
}

func closeConn(conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = conn.Close(ctx)
}

func (s *Store) listenLoop(ctx context.Context, conn *pgx.Conn, changed func(store.Change), lost func(error)) {
	for {
		err := receive(ctx, conn, changed)
		closeConn(conn)
		if ctx.Err() != nil {
			return
		}
		lost(fmt.Errorf("pgstore: change subscription: %w", err))
		if conn = s.reconnect(ctx); conn == nil || ctx.Err() != nil {
			if conn != nil {
				closeConn(conn)
			}
			return // ctx ended
		}
		changed(store.Change{})
	}
}

// receive calls changed for each notification on conn until conn fails
// or ctx ends, and returns why.
func receive(ctx context.Context, conn *pgx.Conn, changed func(store.Change)) error {
	for {
		wctx, cancel := context.WithTimeout(ctx, listenPing)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		if err == nil {
			if ctx.Err() != nil {
				return ctx.Err() // nothing after ctx ends
			}
			changed(decodeChange(n.Payload))
			continue
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !errors.Is(err, context.DeadlineExceeded) || conn.IsClosed() {
			return err
		}
		// Silence: check that the connection still answers.
		pctx, cancel := context.WithTimeout(ctx, listenPingTimeout)
		err = conn.Ping(pctx)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("ping: %w", err)
		}
	}
}

// reconnect listens again, with backoff, until it succeeds (the new
// connection) or ctx ends (nil).
func (s *Store) reconnect(ctx context.Context) *pgx.Conn {
	delay := time.Duration(0) // the first attempt at once
	for {
		if delay > 0 {
			jittered := delay/2 + rand.N(delay/2+1)
			t := time.NewTimer(jittered)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil
			case <-t.C:
			}
		}
		conn, err := s.listen(ctx)
		if err == nil {
			return conn
		}
		if ctx.Err() != nil {
			return nil
		}
		s.log.Warn("pgstore: change subscription: reconnect failed", "schema", s.schema, "err", err)
		delay = min(max(2*delay, reconnectMin), reconnectMax)
	}
}
