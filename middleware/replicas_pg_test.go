package middleware_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/scs/pgxstore"
	"github.com/alexedwards/scs/v2"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/middleware"
	"github.com/invitekit/invitekit/store/pgstore"
)

// Replica tests on PostgreSQL: each replica has its own pool, pgstore,
// invite.Service, scs.SessionManager (sessions in the shared database,
// scs/pgxstore) and Middleware with push invalidation started, as N app
// processes on one database would. The middleware's clock is frozen, so a
// cached entry never expires in these tests: whatever a replica stops
// serving, it stops because of a pushed change (or the resync after a lost
// subscription), never because of a TTL.

// syncLog collects a replica's log lines.
type syncLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *syncLog) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.buf.String(), s)
}

type replica struct {
	name string
	st   *pgstore.Store
	svc  *invite.Service
	sm   *scs.SessionManager
	mw   *middleware.Middleware
	app  http.Handler
	log  *syncLog
	stop context.CancelFunc // ends the push subscription
}

type replicaSet struct {
	dsn, schema string
	r           []*replica
	clock       sync.Mutex // guards frozen
	frozen      time.Time
}

// advance moves the frozen clock of every replica forward by d.
func (rs *replicaSet) advance(d time.Duration) {
	rs.clock.Lock()
	defer rs.clock.Unlock()
	rs.frozen = rs.frozen.Add(d)
}

// newReplicas starts n replicas on a fresh schema, with the middleware's
// clock frozen. The first one creates the schema (migrations) and the
// sessions table.
func newReplicas(t testing.TB, n int) *replicaSet {
	return newReplicasClock(t, n, true)
}

// newReplicasClock is newReplicas, with the real clock unless frozen.
func newReplicasClock(t testing.TB, n int, frozen bool) *replicaSet {
	t.Helper()
	dsn, schema, drop := pgSchema(t)
	t.Cleanup(drop)
	ctx := context.Background()
	rs := &replicaSet{dsn: dsn, schema: schema, frozen: time.Now()}
	now := time.Now
	if frozen {
		now = func() time.Time {
			rs.clock.Lock()
			defer rs.clock.Unlock()
			return rs.frozen
		}
	}
	for i := range n {
		pcfg, err := pgxpool.ParseConfig(dsn)
		if err != nil {
			t.Fatal(err)
		}
		pcfg.ConnConfig.RuntimeParams["search_path"] = schema // pgxstore's unqualified "sessions"
		pool, err := pgxpool.NewWithConfig(ctx, pcfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pool.Close)
		st, err := pgstore.New(ctx, pool, pgstore.Config{Schema: schema})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			if err := pgstore.CreateSessionsTable(ctx, pool, schema); err != nil {
				t.Fatal(err)
			}
		}
		r := &replica{name: string(rune('A' + i)), st: st, sm: scs.New(), log: &syncLog{}}
		r.sm.Store = pgxstore.NewWithCleanupInterval(pool, 0)
		logger := slog.New(slog.NewTextHandler(r.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
		r.mw, err = middleware.New(st, r.sm, middleware.Config{
			CacheTTL: middleware.MaxCacheTTL,
			Now:      now,
			Logger:   logger,
		})
		if err != nil {
			t.Fatal(err)
		}
		sctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		r.stop = cancel
		if err := r.mw.Start(sctx); err != nil {
			t.Fatal(err)
		}
		r.svc, err = invite.New(st, invite.Config{SecretKey: make([]byte, 32), AcceptURL: "https://app.example/accept", OnMembershipChange: r.mw.Invalidate, Logger: logger})
		if err != nil {
			t.Fatal(err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /orgs/{orgID}/dash", r.mw.RequireMember(whoami))
		r.app = r.sm.LoadAndSave(mux)
		rs.r = append(rs.r, r)
	}
	return rs
}

// signIn makes a session for userID as a login on replica r would (the
// session is in the shared database) and returns its cookie.
func (r *replica) signIn(t testing.TB, userID string) *http.Cookie {
	t.Helper()
	return sessionCookieGen(t, r.sm, userID, r.svc.LoginSessionGeneration(context.Background(), userID))
}

// status is the status of a request as cookie's user (safe in any goroutine).
func (r *replica) status(cookie *http.Cookie, orgID string) int {
	req := httptest.NewRequest("GET", "/orgs/"+orgID+"/dash", nil)
	req.Header.Set("Accept", "application/json")
	req.AddCookie(cookie)
	rec := httptest.NewRecorder()
	r.app.ServeHTTP(rec, req)
	return rec.Code
}

func (r *replica) get(t testing.TB, cookie *http.Cookie, orgID string) (int, string) {
	t.Helper()
	return getAs(t, r.app, cookie, "/orgs/"+orgID+"/dash")
}

// eventually polls r until the request answers want (at most 10 s; with
// the frozen clock no TTL can make it happen, only push).
func (r *replica) eventually(t testing.TB, cookie *http.Cookie, orgID string, want int) {
	t.Helper()
	var got int
	if !waitUntil(func() bool { got = r.status(cookie, orgID); return got == want }) {
		t.Fatalf("replica %s: %d, want %d", r.name, got, want)
	}
}

func (rs *replicaSet) addMember(t testing.TB, orgID, email string) string {
	t.Helper()
	no := false
	res, err := rs.r[0].svc.CreateUserAndMembership(context.Background(), orgID, invite.InviteRequest{Email: email, SendInvitationEmail: &no})
	if err != nil {
		t.Fatal(err)
	}
	return res.User.ID
}

func (rs *replicaSet) org(t testing.TB, name string) string {
	t.Helper()
	org, _, err := rs.r[0].svc.CreateOrganization(context.Background(), invite.CreateOrganizationRequest{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	return org.ID
}

// TestReplicasDeactivationReachesEveryReplica: a deactivation on A is
// refused on B and C on their next requests, without waiting for any TTL;
// a reactivation lets the member back in everywhere.
func TestReplicasDeactivationReachesEveryReplica(t *testing.T) {
	rs := newReplicas(t, 3)
	ctx := context.Background()
	org := rs.org(t, "Acme")
	ann := rs.addMember(t, org, "ann@example.com")
	bob := rs.addMember(t, org, "bob@example.com")
	annC, bobC := rs.r[1].signIn(t, ann), rs.r[2].signIn(t, bob)
	for _, r := range rs.r {
		for _, c := range []*http.Cookie{annC, bobC} {
			if code, _ := r.get(t, c, org); code != 200 {
				t.Fatalf("replica %s before: %d", r.name, code)
			}
		}
		if st := r.mw.CacheStats(); st.Push != "up" || st.Entries != 2 {
			t.Fatalf("replica %s: %+v", r.name, st)
		}
	}
	if _, err := rs.r[0].svc.DeactivateMembership(ctx, org, ann, ""); err != nil {
		t.Fatal(err)
	}
	for _, r := range rs.r {
		r.eventually(t, annC, org, 403)
		if code, _ := r.get(t, bobC, org); code != 200 {
			t.Fatalf("replica %s: bob %d after ann's deactivation", r.name, code)
		}
	}
	if _, err := rs.r[2].svc.ReactivateMembership(ctx, org, ann, ""); err != nil {
		t.Fatal(err)
	}
	for _, r := range rs.r {
		r.eventually(t, annC, org, 200)
	}
}

// TestReplicasSignOutEverywhere: "sign out everywhere" on A refuses the
// user's sessions on every replica (401), in every organization; a new
// login gets in everywhere.
func TestReplicasSignOutEverywhere(t *testing.T) {
	rs := newReplicas(t, 3)
	ctx := context.Background()
	org1, org2 := rs.org(t, "Acme"), rs.org(t, "Beta")
	ann := rs.addMember(t, org1, "ann@example.com")
	no := false
	if _, err := rs.r[1].svc.CreateUserAndMembership(ctx, org2, invite.InviteRequest{Email: "ann@example.com", SendInvitationEmail: &no}); err != nil {
		t.Fatal(err)
	}
	laptop, phone := rs.r[1].signIn(t, ann), rs.r[2].signIn(t, ann)
	for _, r := range rs.r {
		for _, c := range []*http.Cookie{laptop, phone} {
			for _, o := range []string{org1, org2} {
				if code, _ := r.get(t, c, o); code != 200 {
					t.Fatalf("replica %s before: %d", r.name, code)
				}
			}
		}
	}
	if _, err := rs.r[0].svc.SignOutEverywhere(ctx, ann, ann); err != nil {
		t.Fatal(err)
	}
	for _, r := range rs.r {
		for _, c := range []*http.Cookie{laptop, phone} {
			for _, o := range []string{org1, org2} {
				r.eventually(t, c, o, 401)
			}
		}
	}
	again := rs.r[2].signIn(t, ann)
	for _, r := range rs.r {
		if code, _ := r.get(t, again, org1); code != 200 {
			t.Fatalf("replica %s: a new login %d", r.name, code)
		}
	}
}

// listenerPIDs are the backends listening for the schema's changes.
func (rs *replicaSet) listenerPIDs(t testing.TB) []int32 {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, rs.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT pid FROM pg_stat_activity WHERE application_name = $1 ORDER BY pid`, rs.r[0].st.ListenerApplicationName())
	if err != nil {
		t.Fatal(err)
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		t.Fatal(err)
	}
	return pids
}

func (rs *replicaSet) terminate(t testing.TB, pids []int32) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, rs.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, pid := range pids {
		var ok bool
		if err := conn.QueryRow(ctx, `SELECT pg_terminate_backend($1)`, pid).Scan(&ok); err != nil || !ok {
			t.Fatalf("pg_terminate_backend(%d): %v %v", pid, ok, err)
		}
	}
}

// TestReplicasListenerKilled: the listening connections are killed with
// pg_terminate_backend. Each replica falls back at once (logged), its
// notifier reconnects and resyncs, so a deactivation committed while the
// listeners were down is refused everywhere; then push works again.
func TestReplicasListenerKilled(t *testing.T) {
	rs := newReplicas(t, 3)
	ctx := context.Background()
	org := rs.org(t, "Acme")
	ann := rs.addMember(t, org, "ann@example.com")
	bob := rs.addMember(t, org, "bob@example.com")
	annC, bobC := rs.r[0].signIn(t, ann), rs.r[0].signIn(t, bob)
	for _, r := range rs.r {
		for _, c := range []*http.Cookie{annC, bobC} {
			if code, _ := r.get(t, c, org); code != 200 {
				t.Fatalf("replica %s before: %d", r.name, code)
			}
		}
	}
	for round := range 2 {
		pids := rs.listenerPIDs(t)
		if len(pids) != 3 {
			t.Fatalf("round %d: %d listening backends, want 3 (one per replica)", round, len(pids))
		}
		rs.terminate(t, pids)
		// Deactivate at once, while the listeners are (most likely) down:
		// only the resync can tell the other replicas.
		user, cookie := ann, annC
		if round == 1 {
			user, cookie = bob, bobC
		}
		if _, err := rs.r[0].svc.DeactivateMembership(ctx, org, user, ""); err != nil {
			t.Fatal(err)
		}
		for _, r := range rs.r {
			r.eventually(t, cookie, org, 403)
			if !waitUntil(func() bool {
				return r.log.count("push invalidation lost") == round+1 && r.log.count("push invalidation resynced") == round+1 && r.mw.CacheStats().Push == "up"
			}) {
				t.Fatalf("replica %s, round %d: lost %d, resynced %d times, push %s", r.name, round,
					r.log.count("push invalidation lost"), r.log.count("push invalidation resynced"), r.mw.CacheStats().Push)
			}
		}
		// New listening backends.
		var now []int32
		if !waitUntil(func() bool { now = rs.listenerPIDs(t); return len(now) == 3 }) {
			t.Fatalf("round %d: %d listeners after the reconnect", round, len(now))
		}
		for _, p := range now {
			for _, old := range pids {
				if p == old {
					t.Fatalf("listener %d survived pg_terminate_backend", p)
				}
			}
		}
	}
	// Push works again: a change after the recovery is pushed.
	if _, err := rs.r[1].svc.ReactivateMembership(ctx, org, ann, ""); err != nil {
		t.Fatal(err)
	}
	for _, r := range rs.r {
		r.eventually(t, annC, org, 200)
	}
}

// TestReplicasPostgresRestart restarts the PostgreSQL server under three
// replicas: each loses its subscription (falling back to FallbackTTL at
// once), reconnects with backoff, resyncs, and pushes again; a
// deactivation committed as soon as the server is back is refused
// everywhere. It restarts the server, so it runs only when
// INVITEKIT_PG_RESTART_CMD is set to the shell command that restarts the
// server of INVITEKIT_POSTGRES_DSN — never against a server other tests
// are using:
//
//	INVITEKIT_POSTGRES_DSN=postgres://postgres@127.0.0.1:5433/postgres?sslmode=disable \
//	INVITEKIT_PG_RESTART_CMD='pg_ctl -D /tmp/ik-pg -l /tmp/ik-pg.log restart -m fast -w' \
//		go test -run TestReplicasPostgresRestart ./middleware/
func TestReplicasPostgresRestart(t *testing.T) {
	cmd := os.Getenv("INVITEKIT_PG_RESTART_CMD")
	if cmd == "" {
		t.Skip("INVITEKIT_PG_RESTART_CMD is not set: not restarting PostgreSQL")
	}
	rs := newReplicas(t, 3)
	ctx := context.Background()
	org := rs.org(t, "Acme")
	ann := rs.addMember(t, org, "ann@example.com")
	bob := rs.addMember(t, org, "bob@example.com")
	annC, bobC := rs.r[0].signIn(t, ann), rs.r[0].signIn(t, bob)
	for _, r := range rs.r {
		for _, c := range []*http.Cookie{annC, bobC} {
			if code, _ := r.get(t, c, org); code != 200 {
				t.Fatalf("replica %s before: %d", r.name, code)
			}
		}
	}
	// The command must not leave the restarted server on its output (give
	// pg_ctl -l): WaitDelay stops waiting for the pipes after 5 s.
	rctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	restart := exec.CommandContext(rctx, "sh", "-c", cmd)
	restart.WaitDelay = 5 * time.Second
	if out, err := restart.CombinedOutput(); err != nil && !errors.Is(err, exec.ErrWaitDelay) {
		t.Fatalf("%s: %v\n%s", cmd, err, out)
	}
	for _, r := range rs.r {
		if !waitUntil(func() bool { return r.log.count("push invalidation lost") >= 1 }) {
			t.Fatalf("replica %s did not notice the restart", r.name)
		}
	}
	// The pools reconnect on their own; retry the write until they have.
	if !waitUntil(func() bool {
		_, err := rs.r[0].svc.DeactivateMembership(ctx, org, ann, "")
		return err == nil
	}) {
		t.Fatal("no write after the restart")
	}
	for _, r := range rs.r {
		r.eventually(t, annC, org, 403)
		if !waitUntil(func() bool { return r.mw.CacheStats().Push == "up" && r.log.count("push invalidation resynced") >= 1 }) {
			t.Fatalf("replica %s: push %s after the restart", r.name, r.mw.CacheStats().Push)
		}
	}
	// Push again: with the frozen clock only a pushed change ends bob's entry.
	for _, r := range rs.r {
		if code, _ := r.get(t, bobC, org); code != 200 {
			t.Fatalf("replica %s: bob %d", r.name, code)
		}
	}
	if _, err := rs.r[2].svc.DeactivateMembership(ctx, org, bob, ""); err != nil {
		t.Fatal(err)
	}
	for _, r := range rs.r {
		r.eventually(t, bobC, org, 403)
	}
}
