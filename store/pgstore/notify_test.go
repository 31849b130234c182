package pgstore_test

import (
	"context"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/store/pgstore"
	"github.com/invitekit/invitekit/store/storetest"
)

const notifyWait = 10 * time.Second

// subscriber records what one subscription delivered, in order: changes,
// and a lost call as the Change {"lost", err}.
type subscriber struct {
	t  testing.TB
	ch chan store.Change
}

var lostMark = store.Change{OrganizationID: "lost"}

func subscribe(t testing.TB, ctx context.Context, st *pgstore.Store) *subscriber {
	t.Helper()
	s := &subscriber{t: t, ch: make(chan store.Change, 100000)}
	require.NoError(t, st.Subscribe(ctx, func(c store.Change) { s.ch <- c },
		func(err error) { s.ch <- store.Change{OrganizationID: "lost", UserID: err.Error()} }))
	return s
}

func (s *subscriber) next(why string) store.Change {
	s.t.Helper()
	select {
	case c := <-s.ch:
		return c
	case <-time.After(notifyWait):
		s.t.Fatalf("%s: nothing delivered within %v", why, notifyWait)
		return store.Change{}
	}
}

// replicaStore is a second Store (its own pool: another replica) on st's
// schema.
func replicaStore(t testing.TB, st *pgstore.Store, edit ...func(*pgxpool.Config)) *pgstore.Store {
	t.Helper()
	r, err := pgstore.New(t.Context(), newPool(t, edit...), pgstore.Config{Schema: st.Schema()})
	require.NoError(t, err)
	return r
}

func addMember(t testing.TB, st store.Store, orgID string) store.CreateMembershipResult {
	t.Helper()
	res, err := st.CreateMembership(t.Context(), storetest.AddParams(orgID, store.NewID("m")+"@example.com", time.Now()))
	require.NoError(t, err)
	return res
}

func deactivate(t testing.TB, st store.Store, orgID, userID string, from, to store.MembershipStatus) {
	t.Helper()
	_, err := st.SetMembershipStatus(t.Context(), orgID, userID, store.StatusChange{
		From: from, To: to, Now: time.Now(),
		Event: store.Event{Type: store.EventMembershipDeactivated, CreateTime: time.Now()},
	})
	require.NoError(t, err)
}

// listenerPIDs returns the backends listening for st's changes.
func listenerPIDs(t testing.TB, control *pgxpool.Pool, st *pgstore.Store) []int32 {
	t.Helper()
	rows, err := control.Query(t.Context(), `SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()`,
		st.ListenerApplicationName())
	require.NoError(t, err)
	var pids []int32
	for rows.Next() {
		var pid int32
		require.NoError(t, rows.Scan(&pid))
		pids = append(pids, pid)
	}
	require.NoError(t, rows.Err())
	return pids
}

// TestNotifyAcrossReplicas: a change committed through one replica's
// Store reaches the subscription of another replica (another pool) on the
// same schema, and its own.
func TestNotifyAcrossReplicas(t *testing.T) {
	a := newStore(t)
	b := replicaStore(t, a)
	c := replicaStore(t, a)
	ctx := t.Context()
	subB, subC, subA := subscribe(t, ctx, b), subscribe(t, ctx, c), subscribe(t, ctx, a)
	org := storetest.NewOrg(t, a, time.Now())
	res := addMember(t, a, org.ID)
	key := store.Change{OrganizationID: org.ID, UserID: res.User.ID}
	for name, s := range map[string]*subscriber{"A": subA, "B": subB, "C": subC} {
		assert.Equal(t, key, s.next("create on A, seen on "+name), name)
	}
	deactivate(t, a, org.ID, res.User.ID, store.StatusActive, store.StatusInactive)
	assert.Equal(t, key, subB.next("deactivate on A"))
	assert.Equal(t, key, subC.next("deactivate on A"))
	gen, err := c.RevokeSessions(ctx, res.User.ID, time.Now(), store.Event{OrganizationID: org.ID, Type: "user.sessions_revoked"})
	require.NoError(t, err)
	assert.Equal(t, int64(1), gen)
	assert.Equal(t, store.Change{UserID: res.User.ID}, subB.next("sign out everywhere on C"))
	u, err := b.GetUser(ctx, res.User.ID)
	require.NoError(t, err)
	assert.Equal(t, int64(1), u.SessionGeneration, "B reads the committed generation")
}

// TestNotifyPerSchema: a store on another schema of the same database
// never receives this schema's changes.
func TestNotifyPerSchema(t *testing.T) {
	a, other := newStore(t), newStore(t)
	require.NotEqual(t, a.Channel(), other.Channel())
	ctx := t.Context()
	subOther := subscribe(t, ctx, other)
	subA := subscribe(t, ctx, a)
	orgA := storetest.NewOrg(t, a, time.Now())
	resA := addMember(t, a, orgA.ID)
	require.Equal(t, store.Change{OrganizationID: orgA.ID, UserID: resA.User.ID}, subA.next("own schema"))
	orgO := storetest.NewOrg(t, other, time.Now())
	resO := addMember(t, other, orgO.ID)
	assert.Equal(t, store.Change{OrganizationID: orgO.ID, UserID: resO.User.ID}, subOther.next("other schema"),
		"the first change the other schema's subscription sees is its own")
}

// TestNotifyListenerKilled: the listening connection is terminated with
// pg_terminate_backend. The subscription calls lost at once, reconnects
// (a new backend listens), delivers Change{} (resync) and then the
// changes committed after that; changes made through the store meanwhile
// keep working.
func TestNotifyListenerKilled(t *testing.T) {
	a := newStore(t)
	b := replicaStore(t, a)
	control := newPool(t)
	ctx := t.Context()
	sub := subscribe(t, ctx, b)
	org := storetest.NewOrg(t, a, time.Now())
	res := addMember(t, a, org.ID)
	require.Equal(t, store.Change{OrganizationID: org.ID, UserID: res.User.ID}, sub.next("before the kill"))

	for round := range 2 {
		pids := listenerPIDs(t, control, b)
		require.Len(t, pids, 1, "round %d: one listener, found by its application_name", round)
		var ok bool
		require.NoError(t, control.QueryRow(ctx, `SELECT pg_terminate_backend($1, 5000)`, pids[0]).Scan(&ok))
		require.True(t, ok)

		lost := sub.next("lost")
		require.Equal(t, "lost", lost.OrganizationID, "round %d: lost is called first, got %+v", round, lost)
		// A change committed while the subscription may be down: covered by
		// the resync, and never delivered before it.
		deactivate(t, a, org.ID, res.User.ID, store.StatusActive, store.StatusInactive)
		resync := sub.next("resync")
		require.Equal(t, store.Change{}, resync, "round %d: Change{} once reconnected", round)
		newPIDs := listenerPIDs(t, control, b)
		require.Len(t, newPIDs, 1)
		require.NotEqual(t, pids[0], newPIDs[0], "a new backend listens")

		// Changes after the resync arrive: the reactivation, then the
		// marker (the deactivation too, first, if it committed after the
		// new LISTEN).
		deactivate(t, a, org.ID, res.User.ID, store.StatusInactive, store.StatusActive)
		marker := addMember(t, a, org.ID)
		key := store.Change{OrganizationID: org.ID, UserID: res.User.ID}
		var got []store.Change
		for c := sub.next("after the resync"); c.UserID != marker.User.ID; c = sub.next("after the resync") {
			got = append(got, c)
		}
		require.Contains(t, [][]store.Change{{key}, {key, key}}, got, "round %d", round)
	}
}

// TestNotifyEndsWithContext: when the subscription's context ends, its
// listening connection is closed.
func TestNotifyEndsWithContext(t *testing.T) {
	st := newStore(t)
	control := newPool(t)
	ctx, cancel := context.WithCancel(t.Context())
	subscribe(t, ctx, st)
	require.Len(t, listenerPIDs(t, control, st), 1)
	before := st.Pool().Stat().TotalConns()
	cancel()
	deadline := time.Now().Add(notifyWait)
	for len(listenerPIDs(t, control, st)) > 0 {
		require.True(t, time.Now().Before(deadline), "the listener is still connected")
		time.Sleep(10 * time.Millisecond)
	}
	assert.Equal(t, before, st.Pool().Stat().TotalConns(), "the listener was not a pool connection")
}

// TestNotifyBatchLimit: a batch publishes one Change per created
// membership up to MaxBatchNotifications, and one Change{} beyond.
func TestNotifyBatchLimit(t *testing.T) {
	st := newStore(t)
	ctx := t.Context()
	sub := subscribe(t, ctx, st)
	org := storetest.NewOrg(t, st, time.Now())
	batch := func(n int) []store.BatchResult {
		ps := make([]store.CreateMembershipParams, n)
		for i := range ps {
			ps[i] = storetest.InviteParams(org.ID, store.NewID("b")+"@example.com", time.Now())
		}
		out, err := st.CreateMemberships(ctx, ps)
		require.NoError(t, err)
		return out
	}
	out := batch(pgstore.MaxBatchNotifications)
	var want, got []string
	for _, r := range out {
		require.NoError(t, r.Err)
		want = append(want, r.User.ID)
	}
	for range out {
		c := sub.next("batch at the limit")
		require.Equal(t, org.ID, c.OrganizationID)
		got = append(got, c.UserID)
	}
	assert.Equal(t, want, got, "one per created membership, in item order")

	batch(pgstore.MaxBatchNotifications + 1)
	assert.Equal(t, store.Change{}, sub.next("batch over the limit"))
	marker := addMember(t, st, org.ID)
	assert.Equal(t, store.Change{OrganizationID: org.ID, UserID: marker.User.ID}, sub.next("marker"), "one notification only")
}

// TestNotifyLatency measures the push latency of 1,000 changes: from the
// commit of a deactivation (or reactivation) on replica A to the callback
// on replica B's subscription. It only logs (timing is never asserted).
func TestNotifyLatency(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	a := newStore(t)
	b := replicaStore(t, a)
	ctx := t.Context()
	org := storetest.NewOrg(t, a, time.Now())
	res := addMember(t, a, org.ID)
	var mu sync.Mutex
	arrived := map[int]time.Time{}
	n := 0
	got := make(chan struct{}, 1)
	require.NoError(t, b.Subscribe(ctx, func(c store.Change) {
		now := time.Now()
		if c.UserID != res.User.ID {
			return
		}
		mu.Lock()
		n++
		arrived[n] = now
		mu.Unlock()
		got <- struct{}{}
	}, func(err error) { t.Errorf("lost: %v", err) }))
	const changes = 1000
	fromStart := make([]time.Duration, 0, changes)
	fromReturn := make([]time.Duration, 0, changes)
	status := []store.MembershipStatus{store.StatusActive, store.StatusInactive}
	for i := 1; i <= changes; i++ {
		start := time.Now()
		deactivate(t, a, org.ID, res.User.ID, status[(i+1)%2], status[i%2])
		returned := time.Now()
		select {
		case <-got:
		case <-time.After(notifyWait):
			t.Fatalf("change %d not delivered", i)
		}
		mu.Lock()
		at := arrived[i]
		mu.Unlock()
		fromStart = append(fromStart, at.Sub(start))
		fromReturn = append(fromReturn, max(0, at.Sub(returned)))
	}
	pct := func(ds []time.Duration, p float64) time.Duration {
		s := slices.Clone(ds)
		sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
		return s[int(p*float64(len(s)-1))]
	}
	t.Logf("push latency over %d changes, replica A → replica B:", changes)
	t.Logf("  commit returned on A → callback on B: p50 %v, p99 %v, max %v", pct(fromReturn, 0.5), pct(fromReturn, 0.99), pct(fromReturn, 1))
	t.Logf("  write started on A → callback on B:   p50 %v, p99 %v, max %v", pct(fromStart, 0.5), pct(fromStart, 0.99), pct(fromStart, 1))
}
