package webhooks_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/invite/webhooks"
	"github.com/invitekit/invitekit/store"
)

// newClockedEnv is newEnv with the webhooks Service and Dispatcher on the
// env's clock too, set to start before now (so that after the test
// advances it by ahead, signatures carry about the real time, which the
// reference verifier checks).
func newClockedEnv(t *testing.T, st store.Store, dcfg webhooks.DispatcherConfig, ahead time.Duration) *env {
	e := newEnv(t, st, dcfg)
	e.Clock.Advance(-ahead)
	wh, err := webhooks.New(st, webhooks.Config{Sealer: e.Svc.Sealer(), InsecureAllowPrivate: true, InsecureAllowHTTP: true, Now: e.Clock.Now})
	require.NoError(t, err)
	e.wh, e.d = wh, webhooks.NewDispatcher(wh, dcfg)
	return e
}

func (r *receiver) setFailing(on bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.hits, r.fail = 0, 0
	if on {
		r.fail = 1 << 30
	}
}

func (r *receiver) hitCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.hits
}

// TestAutoDisable: an endpoint whose attempts all fail for DisableAfter
// (here the default, 5 days) with no success between is disabled, which
// writes webhook.endpoint_disabled (delivered to an endpoint subscribed to
// it); a success restarts the period; a disabled endpoint gets nothing
// more, and its pending deliveries are dead letters.
func TestAutoDisable(t *testing.T) {
	day := 24 * time.Hour
	total := 9*day + 3*time.Hour
	stores(t, func(t *testing.T, st store.Store) {
		ctx := t.Context()
		e := newClockedEnv(t, st, webhooks.DispatcherConfig{BaseBackoff: time.Minute, MaxBackoff: time.Hour, MaxAttempts: 1000}, total)
		org := e.Org(t, "org_dis")
		bad, watch := newReceiver(t), newReceiver(t)
		ep, secret, err := e.wh.CreateEndpoint(ctx, webhooks.EndpointRequest{URL: bad.srv.URL, EventTypes: []string{store.WebhookMembershipCreated}}, "")
		require.NoError(t, err)
		bad.secret, bad.ignoreTime = secret, true
		_, watch.secret, err = e.wh.CreateEndpoint(ctx, webhooks.EndpointRequest{URL: watch.srv.URL, EventTypes: []string{store.WebhookEndpointDisabled}}, "")
		require.NoError(t, err)
		bad.setFailing(true)

		n := 0
		step := func(advance time.Duration) store.WebhookEndpoint {
			t.Helper()
			e.Clock.Advance(advance)
			n++
			e.AddActive(t, org.ID, "m"+strings.Repeat("x", n)+"@example.com")
			e.drain(t)
			got, err := st.(store.WebhookStore).GetWebhookEndpoint(ctx, ep.ID)
			require.NoError(t, err)
			return got
		}
		t0 := e.Clock.Now()
		got := step(0)
		require.NotNil(t, got.FailingSince, "the first failure starts the period")
		require.WithinDuration(t, t0, *got.FailingSince, time.Millisecond)
		got = step(4 * day)
		require.Nil(t, got.DisabledTime, "4 days are not 5")
		require.WithinDuration(t, t0, *got.FailingSince, time.Millisecond)

		bad.setFailing(false)
		got = step(time.Hour)
		require.Nil(t, got.FailingSince, "a success ends the period")
		require.Len(t, bad.deliveries(), 3, "the held-back deliveries, in order, once it answers")
		bad.setFailing(true)
		got = step(time.Hour)
		require.NotNil(t, got.FailingSince)
		got = step(5*day - time.Hour)
		require.Nil(t, got.DisabledTime, "4 days 23 hours since the last success")

		got = step(2 * time.Hour)
		require.NotNil(t, got.DisabledTime, "5 days and an hour of failures")
		require.Contains(t, got.DisabledReason, "every attempt failed since")
		hits := bad.hitCount()

		// The event, once, to the endpoint that subscribed to it.
		evs, err := st.ListEvents(ctx, "", 0, 1000)
		require.NoError(t, err)
		var disabled []store.Event
		for _, ev := range evs {
			if ev.Type == store.EventWebhookEndpointDisabled {
				disabled = append(disabled, ev)
			}
		}
		require.Len(t, disabled, 1)
		require.Equal(t, ep.ID, disabled[0].Data["endpoint_id"])
		require.Equal(t, got.FailingSince.UTC().Format(time.RFC3339), disabled[0].Data["failing_since"])
		w := watch.deliveries()
		require.Len(t, w, 1)
		require.Equal(t, store.WebhookEndpointDisabled, w[0].payload.Type)
		require.Equal(t, ep.ID, w[0].payload.Data.Details["endpoint_id"])

		// Nothing more is sent to it; what was pending is a dead letter.
		e.Clock.Advance(time.Hour)
		e.AddActive(t, org.ID, "after@example.com")
		e.drain(t)
		require.Equal(t, hits, bad.hitCount(), "a disabled endpoint gets no request")
		pending, err := e.wh.Deliveries(ctx, "", ep.ID, store.WebhookPending, 0)
		require.NoError(t, err)
		require.Empty(t, pending)
		dead, err := e.wh.Deliveries(ctx, "", ep.ID, store.WebhookDead, 0)
		require.NoError(t, err)
		require.NotEmpty(t, dead)
		for _, d := range dead {
			require.Contains(t, d.LastError, "endpoint disabled")
		}

		// Enabled by hand, it starts afresh: one failure does not disable it.
		_, err = e.wh.SetEnabled(ctx, "", ep.ID, true)
		require.NoError(t, err)
		got, err = st.(store.WebhookStore).GetWebhookEndpoint(ctx, ep.ID)
		require.NoError(t, err)
		require.Nil(t, got.FailingSince)
		_, err = e.wh.ReplayDead(ctx, org.ID, ep.ID)
		require.ErrorIs(t, err, store.ErrNotFound, "an organization replays only its own endpoints")
		replayed, err := e.wh.ReplayDead(ctx, "", ep.ID)
		require.NoError(t, err)
		require.Equal(t, len(dead), replayed)
		e.drain(t)
		got, err = st.(store.WebhookStore).GetWebhookEndpoint(ctx, ep.ID)
		require.NoError(t, err)
		require.Nil(t, got.DisabledTime)
		require.NotNil(t, got.FailingSince)

		// Once it answers, the replayed dead letters arrive, in order.
		before := len(bad.deliveries())
		bad.setFailing(false)
		e.Clock.Advance(2 * time.Hour)
		e.drain(t)
		all, err := e.wh.Deliveries(ctx, "", ep.ID, "", 0)
		require.NoError(t, err)
		for _, d := range all {
			require.Equal(t, "DELIVERED", d.Status, d.MessageID)
		}
		arrived := bad.deliveries()[before:]
		require.Len(t, arrived, len(dead))
		for i := 1; i < len(arrived); i++ {
			require.Less(t, arrived[i-1].payload.Data.Seq, arrived[i].payload.Data.Seq)
		}
	})
}

// idReceiver answers 503 to the webhook-ids in fail (once each) and
// records the rest in order.
type idReceiver struct {
	*receiver
	mu   sync.Mutex
	fail map[string]bool
}

func newIDReceiver(t *testing.T) *idReceiver {
	r := &idReceiver{receiver: newReceiver(t), fail: map[string]bool{}}
	inner := r.srv.Config.Handler
	r.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		id := req.Header.Get("webhook-id")
		r.mu.Lock()
		f := r.fail[id]
		delete(r.fail, id)
		r.mu.Unlock()
		if f {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		inner.ServeHTTP(w, req)
	})
	return r
}

// TestOrderBehindRetry: the deliveries of one organization to one endpoint
// wait behind an earlier one in backoff (they never overtake it), while
// another organization's go on; once the retry succeeds, all arrive in
// order.
func TestOrderBehindRetry(t *testing.T) {
	stores(t, func(t *testing.T, st store.Store) {
		ctx := t.Context()
		e := newClockedEnv(t, st, webhooks.DispatcherConfig{BaseBackoff: 10 * time.Second, MaxBackoff: 20 * time.Second}, 0)
		orgA, orgB := e.Org(t, "org_a"), e.Org(t, "org_b")
		rcv := newIDReceiver(t)
		_, secret, err := e.wh.CreateEndpoint(ctx, webhooks.EndpointRequest{URL: rcv.srv.URL, EventTypes: []string{store.WebhookMembershipCreated}}, "")
		require.NoError(t, err)
		rcv.secret = secret
		a1 := e.AddActive(t, orgA.ID, "a1@example.com")
		e.AddActive(t, orgB.ID, "b1@example.com")
		e.AddActive(t, orgA.ID, "a2@example.com")
		e.AddActive(t, orgA.ID, "a3@example.com")
		e.AddActive(t, orgB.ID, "b2@example.com")
		var first store.Event
		for _, ev := range e.Events(t, orgA.ID) {
			if ev.UserID == a1.User.ID && first.ID == "" {
				first = ev
			}
		}
		rcv.fail[store.WebhookMessageID(first.ID, store.WebhookMembershipCreated)] = true

		e.drain(t)
		users := func() []string {
			var out []string
			for _, r := range rcv.deliveries() {
				out = append(out, r.payload.Data.OrganizationID+"/"+r.payload.Data.Details["email"])
			}
			return out
		}
		require.Equal(t, []string{"org_b/b1@example.com", "org_b/b2@example.com"}, users(),
			"a2 and a3 wait behind a1 in backoff; org_b goes on")
		e.Clock.Advance(30 * time.Second)
		e.drain(t)
		require.Equal(t, []string{"org_b/b1@example.com", "org_b/b2@example.com",
			"org_a/a1@example.com", "org_a/a2@example.com", "org_a/a3@example.com"}, users())
	})
}
