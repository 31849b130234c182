package webhooks_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/invite/internal/invitetest"
	"github.com/invitekit/invitekit/invite/webhooks"
	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/store/pgstore"
	"github.com/invitekit/invitekit/store/sqlitestore"
)

// replicaPair opens two stores on one database: two replicas of an app.
type replicaPair struct {
	name string
	open func(t *testing.T) (store.Store, store.Store)
}

var replicaPairs = []replicaPair{
	{"sqlitestore", func(t *testing.T) (store.Store, store.Store) {
		path := filepath.Join(t.TempDir(), "invitekit.db")
		var sts [2]store.Store
		for i := range sts {
			// Two writers on one file wait for each other's write lock:
			// under -race on a loaded machine longer than the default 5 s.
			st, err := sqlitestore.Open(context.Background(), path, sqlitestore.Config{BusyTimeout: time.Minute})
			require.NoError(t, err)
			t.Cleanup(func() { _ = st.Close() })
			sts[i] = st
		}
		return sts[0], sts[1]
	}},
	{"pgstore", func(t *testing.T) (store.Store, store.Store) {
		dsn := os.Getenv("INVITEKIT_POSTGRES_DSN")
		if dsn == "" {
			t.Skip("INVITEKIT_POSTGRES_DSN not set (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable): skipping PostgreSQL")
		}
		b := make([]byte, 8)
		rand.Read(b)
		schema := "ikwhf_" + hex.EncodeToString(b)
		var sts [2]store.Store
		for i := range sts {
			st, err := pgstore.Open(context.Background(), dsn, pgstore.Config{Schema: schema})
			require.NoError(t, err)
			sts[i] = st
		}
		t.Cleanup(func() {
			_, _ = sts[0].(*pgstore.Store).Pool().Exec(context.Background(), `DROP SCHEMA `+schema+` CASCADE`)
			sts[0].(*pgstore.Store).Close()
			sts[1].(*pgstore.Store).Close()
		})
		return sts[0], sts[1]
	}},
}

// faultReceiver is a real HTTP receiver on a fixed address that can go
// down (its listener and connections closed: connection refused) and come
// back. It verifies every request with the Go Standard Webhooks library
// and records, per endpoint (URL path) and webhook-id, how often it came;
// the order of first arrivals per endpoint and organization (data.seq);
// and overlaps: a second request for one endpoint and webhook-id while
// the first is still being handled.
type faultReceiver struct {
	t                                    *testing.T
	addr                                 string
	hooks                                map[string]*standardwebhooks.Webhook // path → verifier
	hold                                 time.Duration                        // how long each request is held
	mu                                   sync.Mutex
	srv                                  *http.Server
	count                                map[string]int   // path + " " + webhook-id → arrivals
	busy                                 map[string]int   // the same key → requests being handled
	lastSeq                              map[string]int64 // path + " " + organization → last seq
	overlaps, outOfOrder, refused, total int
}

func newFaultReceiver(t *testing.T) *faultReceiver {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	r := &faultReceiver{t: t, addr: l.Addr().String(), hooks: map[string]*standardwebhooks.Webhook{}, hold: time.Millisecond,
		count: map[string]int{}, busy: map[string]int{}, lastSeq: map[string]int64{}}
	r.serve(l)
	t.Cleanup(r.down)
	return r
}

func (r *faultReceiver) serve(l net.Listener) {
	srv := &http.Server{Handler: http.HandlerFunc(r.handle)}
	r.mu.Lock()
	r.srv = srv
	r.mu.Unlock()
	go func() { _ = srv.Serve(l) }()
}

// down closes the listener and every connection.
func (r *faultReceiver) down() {
	r.mu.Lock()
	srv := r.srv
	r.srv = nil
	r.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
}

// up listens on the same address again.
func (r *faultReceiver) up() {
	var l net.Listener
	var err error
	for range 100 {
		if l, err = net.Listen("tcp", r.addr); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	require.NoError(r.t, err, "listen on %s again", r.addr)
	r.serve(l)
}

func (r *faultReceiver) handle(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	wh := r.hooks[req.URL.Path]
	if err != nil || wh == nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if err := wh.Verify(body, req.Header); err != nil {
		r.mu.Lock()
		r.refused++
		r.mu.Unlock()
		r.t.Errorf("the reference verifier refused %s: %v", req.Header.Get("webhook-id"), err)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	var p webhooks.Payload
	if err := json.Unmarshal(body, &p); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	key := req.URL.Path + " " + req.Header.Get("webhook-id")
	r.mu.Lock()
	r.busy[key]++
	if r.busy[key] > 1 {
		r.overlaps++
	}
	r.count[key]++
	r.total++
	if r.count[key] == 1 {
		g := req.URL.Path + " " + p.Data.OrganizationID
		if p.Data.Seq < r.lastSeq[g] {
			r.outOfOrder++
		}
		r.lastSeq[g] = p.Data.Seq
	}
	r.mu.Unlock()
	time.Sleep(r.hold) // a window in which a second delivery of it would overlap
	r.mu.Lock()
	r.busy[key]--
	r.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (r *faultReceiver) received() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]int, len(r.count))
	for k, v := range r.count {
		out[k] = v
	}
	return out
}

// TestFaultReceiverDown: on SQLite and PostgreSQL, with two dispatchers on
// two stores on one database (two replicas), the receiver is down for at
// least 60 s while 10,000 changes are made through the invite.Service;
// once it is back every event is delivered: 0 lost, nothing unexpected,
// every delivery verified by the reference library, each webhook-id of an
// endpoint arriving again only after an attempt the dispatcher counted as
// failed (at least once: each arrival is an attempt), never two at once
// (no overlap), and each organization's events in order.
func TestFaultReceiverDown(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the 60-s outage")
	}
	if raceEnabled && os.Getenv("INVITEKIT_FAULT_RACE") == "" {
		// Under -race the 10,000 changes through SQLite take 15+ minutes on
		// 2 cores; scripts/test.sh runs this test again without -race.
		t.Skip("-race: the outage test runs without the race detector (scripts/test.sh; INVITEKIT_FAULT_RACE=1 forces it)")
	}
	for _, rp := range replicaPairs {
		t.Run(rp.name, func(t *testing.T) {
			t.Parallel()
			st1, st2 := rp.open(t)
			runOutage(t, st1, st2, 10_000, 60*time.Second)
		})
	}
}

func runOutage(t *testing.T, st1, st2 store.Store, changes int, outage time.Duration) {
	ctx := t.Context()
	e := invitetest.NewEnv(t, st1, nil)
	e.Clock.Advance(time.Since(e.Clock.Now()))
	wcfg := webhooks.Config{Sealer: e.Svc.Sealer(), InsecureAllowPrivate: true, InsecureAllowHTTP: true}
	wh1, err := webhooks.New(st1, wcfg)
	require.NoError(t, err)
	wh2, err := webhooks.New(st2, wcfg) // the other replica: same key, other connections
	require.NoError(t, err)

	const nOrgs = 20
	var orgs []string
	for i := range nOrgs {
		orgs = append(orgs, e.Org(t, fmt.Sprintf("org_%02d", i)).ID)
	}
	rcv := newFaultReceiver(t)
	app, appSecret, err := wh1.CreateEndpoint(ctx, webhooks.EndpointRequest{URL: "http://" + rcv.addr + "/app", EventTypes: allTypes}, "")
	require.NoError(t, err)
	one, oneSecret, err := wh1.CreateEndpoint(ctx, webhooks.EndpointRequest{URL: "http://" + rcv.addr + "/org", EventTypes: allTypes, OrganizationID: orgs[0]}, "")
	require.NoError(t, err)
	for path, secret := range map[string]string{"/app": appSecret, "/org": oneSecret} {
		wh, err := standardwebhooks.NewWebhook(secret)
		require.NoError(t, err)
		rcv.hooks[path] = wh
	}

	dcfg := webhooks.DispatcherConfig{Timeout: 5 * time.Second, BaseBackoff: 500 * time.Millisecond, MaxBackoff: 4 * time.Second,
		MaxAttempts: 1 << 20, Poll: 50 * time.Millisecond, SweepEvery: time.Hour}
	runCtx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, wh := range []*webhooks.Service{wh1, wh2} {
		d := webhooks.NewDispatcher(wh, dcfg)
		wg.Go(func() { _ = d.Run(runCtx) })
	}
	defer func() { stop(); wg.Wait() }()

	// Down; the changes; at least outage later, up again.
	rcv.down()
	downAt := time.Now()
	var next atomic.Int64
	var cwg sync.WaitGroup
	for range 4 {
		cwg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if 4*i >= changes || t.Failed() {
					return
				}
				member(t, e, orgs, i, changes)
			}
		})
	}
	cwg.Wait()
	made := time.Since(downAt)
	if d := outage - time.Since(downAt); d > 0 {
		time.Sleep(d)
	}
	rcv.up()
	upAt := time.Now()
	down := upAt.Sub(downAt)

	// What must arrive: every webhook type of every event, per endpoint.
	want := map[string]bool{}
	for _, org := range orgs {
		for after := int64(0); ; {
			evs, err := st1.ListEvents(ctx, org, after, 1000)
			require.NoError(t, err)
			if len(evs) == 0 {
				break
			}
			for _, ev := range evs {
				after = ev.Seq
				for _, typ := range store.WebhookTypesOf(ev) {
					id := store.WebhookMessageID(ev.ID, typ)
					want["/app "+id] = true
					if org == orgs[0] {
						want["/org "+id] = true
					}
				}
			}
		}
	}
	require.Greater(t, len(want), changes, "every change is at least one delivery")

	deadline := time.Now().Add(15 * time.Minute)
	for {
		got := rcv.received()
		missing := 0
		for k := range want {
			if got[k] == 0 {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d deliveries still missing 15 minutes after the receiver came back", missing, len(want))
		}
		time.Sleep(200 * time.Millisecond)
	}
	caughtUp := time.Since(upAt)
	stop()
	wg.Wait()

	got := rcv.received()
	var unexpected, dups, extra []string
	for k, n := range got {
		if !want[k] {
			unexpected = append(unexpected, k)
		}
		if n > 1 {
			dups = append(dups, k)
		}
	}
	require.Empty(t, unexpected, "nothing that was not a change")
	wst := st1.(store.WebhookStore)
	for _, k := range dups {
		path, id, _ := strings.Cut(k, " ")
		epID := app.ID
		if path == "/org" {
			epID = one.ID
		}
		d, err := wst.GetWebhookDelivery(ctx, epID, id)
		require.NoError(t, err)
		if got[k] > d.Attempts {
			extra = append(extra, fmt.Sprintf("%s: %d arrivals, %d attempts", k, got[k], d.Attempts))
		}
	}
	require.Empty(t, extra, "a webhook-id arrives again only after an attempt counted as failed")
	for _, ep := range []string{app.ID, one.ID} {
		for _, status := range []store.WebhookDeliveryStatus{store.WebhookPending, store.WebhookDead} {
			ds, err := wst.ListWebhookDeliveries(ctx, ep, status, 0, 10)
			require.NoError(t, err)
			require.Empty(t, ds, "no %s delivery of %s is left", status, ep)
		}
	}
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	require.Zero(t, rcv.overlaps, "two dispatchers never deliver one event at the same moment")
	require.Zero(t, rcv.outOfOrder, "each organization's events arrive in order")
	require.Zero(t, rcv.refused)
	sort.Strings(dups)
	t.Logf("%d changes in %s; receiver down %s; %d deliveries (%d to the org-scoped endpoint) all arrived %s after it came back (%.0f/s); "+
		"0 lost, %d arrivals in all, %d webhook-ids twice or more (each after a failed attempt), 0 overlaps, 0 out of order",
		changes, made.Round(time.Millisecond), down.Round(time.Millisecond), len(want), countPrefix(want, "/org "),
		caughtUp.Round(time.Millisecond), float64(len(want))/caughtUp.Seconds(), rcv.total, len(dups))
}

func countPrefix(m map[string]bool, p string) int {
	n := 0
	for k := range m {
		if strings.HasPrefix(k, p) {
			n++
		}
	}
	return n
}

// member makes the four changes of member i (changes 4i to 4i+3, as
// many as are below limit): it joins an organization, gets a role, is
// deactivated and comes back.
func member(t *testing.T, e *invitetest.Env, orgs []string, i, limit int) {
	ctx := context.Background()
	org := orgs[i%len(orgs)]
	no := false
	res, err := e.Svc.CreateUserAndMembership(ctx, org, invite.InviteRequest{Email: fmt.Sprintf("m%05d@example.com", i),
		SendInvitationEmail: &no, InvitedBy: "usr_actor"})
	for step := 1; step < 4 && err == nil && 4*i+step < limit; step++ {
		switch step {
		case 1:
			roles := []string{"member", "billing"}
			_, err = e.Svc.UpdateMembership(ctx, org, res.User.ID, invite.UpdateRequest{Roles: &roles}, "usr_actor")
		case 2:
			_, err = e.Svc.DeactivateMembership(ctx, org, res.User.ID, "usr_actor")
		case 3:
			_, err = e.Svc.ReactivateMembership(ctx, org, res.User.ID, "usr_actor")
		}
	}
	if err != nil {
		t.Errorf("member %d: %v", i, err)
	}
}

// TestFaultRolledBackSendsNothing: on SQLite and PostgreSQL, a change
// whose transaction fails after its delivery was written (a trigger the
// test adds raises on that delivery) is rolled back and sends nothing; the
// changes around it are delivered.
func TestFaultRolledBackSendsNothing(t *testing.T) {
	for _, rp := range replicaPairs {
		t.Run(rp.name, func(t *testing.T) {
			ctx := t.Context()
			var st store.Store
			if rp.name == "sqlitestore" {
				path := filepath.Join(t.TempDir(), "invitekit.db")
				sst, err := sqlitestore.Open(ctx, path, sqlitestore.Config{})
				require.NoError(t, err)
				t.Cleanup(func() { _ = sst.Close() })
				st = sst
				db, err := sql.Open("sqlite", path)
				require.NoError(t, err)
				defer db.Close()
				_, err = db.ExecContext(ctx, `CREATE TRIGGER test_fail AFTER INSERT ON webhook_deliveries
WHEN (SELECT data FROM events WHERE seq = NEW.event_seq) LIKE '%rollback-%'
BEGIN SELECT RAISE(ABORT, 'injected failure after the delivery was written'); END`)
				require.NoError(t, err)
			} else {
				st, _ = rp.open(t)
				s := st.(*pgstore.Store)
				q := func(sql string) string { return strings.ReplaceAll(sql, "{s}", s.Schema()) }
				_, err := s.Pool().Exec(ctx, q(`CREATE FUNCTION {s}.test_fail() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF EXISTS (SELECT 1 FROM {s}.events WHERE seq = NEW.event_seq AND data::text LIKE '%rollback-%') THEN
		RAISE EXCEPTION 'injected failure after the delivery was written';
	END IF;
	RETURN NEW;
END $$;
CREATE TRIGGER test_fail AFTER INSERT ON {s}.webhook_deliveries FOR EACH ROW EXECUTE FUNCTION {s}.test_fail();`))
				require.NoError(t, err)
			}
			e := newEnv(t, st, webhooks.DispatcherConfig{})
			org := e.Org(t, "org_rb")
			rcv := newReceiver(t)
			ep, secret, err := e.wh.CreateEndpoint(ctx, webhooks.EndpointRequest{URL: rcv.srv.URL, EventTypes: allTypes}, "")
			require.NoError(t, err)
			rcv.secret = secret
			e.AddActive(t, org.ID, "before@example.com")
			no := false
			_, err = e.Svc.CreateUserAndMembership(ctx, org.ID, invite.InviteRequest{Email: "rollback-1@example.com", SendInvitationEmail: &no})
			require.ErrorContains(t, err, "injected failure after the delivery was written")
			e.AddActive(t, org.ID, "after@example.com")
			e.drain(t)

			var emails []string
			for _, r := range rcv.deliveries() {
				require.NotContains(t, r.Body, "rollback-")
				emails = append(emails, r.payload.Type+" "+r.payload.Data.Details["email"])
			}
			require.Equal(t, []string{"membership.created before@example.com", "membership.activated before@example.com",
				"membership.created after@example.com", "membership.activated after@example.com"}, emails)
			ds, err := e.wh.Deliveries(ctx, "", ep.ID, "", 0)
			require.NoError(t, err)
			require.Len(t, ds, 4, "no delivery row of the rolled-back change")
			_, err = st.GetUserByEmail(ctx, "rollback-1@example.com")
			require.ErrorIs(t, err, store.ErrNotFound, "nor the change itself")
		})
	}
}
