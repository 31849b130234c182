package webhooks_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/invite/internal/invitetest"
	"github.com/invitekit/invitekit/invite/webhooks"
	"github.com/invitekit/invitekit/store"
)

// benchReceiver answers 204 at once and records when each delivery's
// user arrived.
type benchReceiver struct {
	srv     *httptest.Server
	mu      sync.Mutex
	arrived map[string]time.Time // data.userId → first arrival
	n       atomic.Int64
}

func newBenchReceiver(b *testing.B) *benchReceiver {
	r := &benchReceiver{arrived: map[string]time.Time{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		now := time.Now()
		body, _ := io.ReadAll(req.Body)
		var p struct {
			Data struct {
				UserID string `json:"userId"`
			} `json:"data"`
		}
		_ = json.Unmarshal(body, &p)
		r.mu.Lock()
		if _, ok := r.arrived[p.Data.UserID]; !ok {
			r.arrived[p.Data.UserID] = now
		}
		r.mu.Unlock()
		r.n.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	b.Cleanup(r.srv.Close)
	return r
}

func (r *benchReceiver) wait(b *testing.B, n int64) {
	deadline := time.Now().Add(10 * time.Minute)
	for r.n.Load() < n {
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d deliveries arrived", r.n.Load(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

type benchSetup struct {
	e    *invitetest.Env
	wh   *webhooks.Service
	rcv  *benchReceiver
	orgs []string
}

func setupBench(b *testing.B, st store.Store, nOrgs int) *benchSetup {
	e := invitetest.NewEnv(b, st, nil)
	e.Clock.Advance(time.Since(e.Clock.Now()))
	wh, err := webhooks.New(st, webhooks.Config{Sealer: e.Svc.Sealer(), InsecureAllowPrivate: true, InsecureAllowHTTP: true})
	if err != nil {
		b.Fatal(err)
	}
	s := &benchSetup{e: e, wh: wh, rcv: newBenchReceiver(b)}
	for i := range nOrgs {
		s.orgs = append(s.orgs, e.Org(b, fmt.Sprintf("org_%02d", i)).ID)
	}
	if _, _, err := wh.CreateEndpoint(b.Context(), webhooks.EndpointRequest{URL: s.rcv.srv.URL, EventTypes: []string{store.WebhookMembershipCreated}}, ""); err != nil {
		b.Fatal(err)
	}
	return s
}

// add adds member i (one membership.created delivery) and returns its
// user id.
func (s *benchSetup) add(b *testing.B, i int) string {
	no := false
	res, err := s.e.Svc.CreateUserAndMembership(context.Background(), s.orgs[i%len(s.orgs)], invite.InviteRequest{
		Email: fmt.Sprintf("b%07d@example.com", i), SendInvitationEmail: &no, InvitedBy: "usr_actor"})
	if err != nil {
		b.Fatal(err)
	}
	return res.User.ID
}

var benchStores = []struct {
	name string
	open func(tb testing.TB) store.Store
}{
	{"sqlite", invitetest.OpenSQLite},
	{"postgres", invitetest.OpenPostgres},
}

// BenchmarkDelivery measures the dispatcher against a local receiver that
// answers 204 at once:
//
//   - backlog: b.N deliveries already committed (16 organizations, so 8
//     workers send in parallel; one organization's go one after another),
//     drained by one dispatcher: deliveries/s;
//   - latency: one change after another while a dispatcher runs; the time
//     from the commit (the Service call returned) to the receiver seeing
//     it: p50 and p99;
//   - floor: the same signed POSTs straight from 8 goroutines, no store:
//     what HTTP alone allows.
func BenchmarkDelivery(b *testing.B) {
	for _, bs := range benchStores {
		for _, nOrgs := range []int{1, 16} {
			b.Run(fmt.Sprintf("%s/backlog/orgs=%d", bs.name, nOrgs), func(b *testing.B) {
				s := setupBench(b, bs.open(b), nOrgs)
				for i := range b.N {
					s.add(b, i)
				}
				d := webhooks.NewDispatcher(s.wh, webhooks.DispatcherConfig{})
				ctx, stop := context.WithCancel(context.Background())
				b.ResetTimer()
				start := time.Now()
				done := make(chan struct{})
				go func() { _ = d.Run(ctx); close(done) }()
				s.rcv.wait(b, int64(b.N))
				el := time.Since(start)
				b.StopTimer()
				stop()
				<-done
				b.ReportMetric(float64(b.N)/el.Seconds(), "deliveries/s")
			})
		}
		b.Run(bs.name+"/latency", func(b *testing.B) {
			s := setupBench(b, bs.open(b), 16)
			d := webhooks.NewDispatcher(s.wh, webhooks.DispatcherConfig{})
			ctx, stop := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { _ = d.Run(ctx); close(done) }()
			committed := make(map[string]time.Time, b.N)
			b.ResetTimer()
			start := time.Now()
			for i := range b.N {
				id := s.add(b, i)
				committed[id] = time.Now()
			}
			s.rcv.wait(b, int64(b.N))
			el := time.Since(start)
			b.StopTimer()
			stop()
			<-done
			var lat []time.Duration
			s.rcv.mu.Lock()
			for id, at := range committed {
				lat = append(lat, max(0, s.rcv.arrived[id].Sub(at)))
			}
			s.rcv.mu.Unlock()
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
			b.ReportMetric(float64(b.N)/el.Seconds(), "changes/s")
		})
	}
	b.Run("floor/http", func(b *testing.B) {
		rcv := newBenchReceiver(b)
		secret := webhooks.NewSecret()
		body := []byte(`{"type":"membership.created","timestamp":"2026-12-01T00:00:00Z","version":1,"data":{"eventId":"evt_x","seq":1,"organizationId":"org_00","userId":"usr_x"}}`)
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
		var next atomic.Int64
		var wg sync.WaitGroup
		b.ResetTimer()
		start := time.Now()
		for range 8 {
			wg.Go(func() {
				for next.Add(1) <= int64(b.N) {
					now := time.Now()
					sig, _ := webhooks.Sign("msg_x", now, body, secret)
					req, _ := http.NewRequest(http.MethodPost, rcv.srv.URL, bytes.NewReader(body))
					req.Header.Set("webhook-id", "msg_x")
					req.Header.Set("webhook-timestamp", fmt.Sprint(now.Unix()))
					req.Header.Set("webhook-signature", sig)
					resp, err := client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			})
		}
		wg.Wait()
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "deliveries/s")
	})
}
