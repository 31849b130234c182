package middleware_test

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"
)

// BenchmarkRevocationLatency measures, on PostgreSQL with two replicas
// (own pool, pgstore, Service and Middleware each; CacheTTL 10 min, push
// started), how long after a deactivation committed on replica A the
// member's next request on replica B is refused. B is polled in a tight
// loop for the member (each poll is one guarded request, a cache hit until
// the change arrives). Each trial deactivates another member, so nothing
// but the change can end a trial.
//
//	push            1,000 changes with push healthy
//	listener-killed 50 changes, each right after pg_terminate_backend of
//	                the listening connections (the resync delivers it)
//	push-stopped    20 changes with B's subscription stopped: B falls
//	                back to FallbackTTL (1 s), the safety bound
//
// Reported: p50-ms, p99-ms and max-ms from the return of A's
// DeactivateMembership (the commit acknowledged) to B's first refusal (0
// when B refused before A's call returned), and p50-from-start-ms, from
// the start of A's call (an upper bound including the transaction).
//
//	INVITEKIT_POSTGRES_DSN=postgres://postgres@127.0.0.1:5432/test?sslmode=disable \
//		go test -run '^$' -bench RevocationLatency -benchtime 1x ./middleware/
func BenchmarkRevocationLatency(b *testing.B) {
	for _, mode := range []struct {
		name   string
		trials int
	}{{"push", 1000}, {"listener-killed", 50}, {"push-stopped", 20}} {
		b.Run(mode.name, func(b *testing.B) {
			rs := newReplicasClock(b, 2, false)
			a, rb := rs.r[0], rs.r[1]
			users, orgs := seedMembers(b, a.st, mode.trials)
			cookies := make([]*http.Cookie, len(users))
			for i, u := range users {
				cookies[i] = a.signIn(b, u)
				if code, _ := rb.get(b, cookies[i], orgs[i]); code != 200 { // B caches it
					b.Fatalf("warm-up: %d", code)
				}
			}
			if mode.name == "push-stopped" {
				// Stop B's subscription, as if its listener never came
				// back; once the entries cached before have run out their
				// FallbackTTL, cache them again (they now live 1 s).
				rb.stop()
				if !waitUntil(func() bool { return rb.mw.CacheStats().Push == "down" }) {
					b.Fatal("push still up")
				}
				time.Sleep(time.Second)
				for i := range users {
					if code := rb.status(cookies[i], orgs[i]); code != 200 {
						b.Fatalf("warm-up: %d", code)
					}
				}
			}
			var fromReturn, fromStart []time.Duration
			for b.Loop() {
				fromReturn, fromStart = fromReturn[:0], fromStart[:0]
				for i := range users {
					if mode.name == "listener-killed" {
						rs.terminate(b, rs.listenerPIDs(b))
					}
					refused := make(chan time.Time, 1)
					go func() {
						for {
							if rb.status(cookies[i], orgs[i]) == 403 {
								refused <- time.Now()
								return
							}
						}
					}()
					t0 := time.Now()
					if _, err := a.svc.DeactivateMembership(context.Background(), orgs[i], users[i], ""); err != nil {
						b.Fatal(err)
					}
					t1 := time.Now()
					var tr time.Time
					select {
					case tr = <-refused:
					case <-time.After(10 * time.Second):
						b.Fatalf("trial %d: B still serves the member 10 s after the deactivation", i)
					}
					fromReturn = append(fromReturn, max(0, tr.Sub(t1)))
					fromStart = append(fromStart, tr.Sub(t0))
					if mode.name == "listener-killed" {
						// Wait for every replica to be back on push.
						if !waitUntil(func() bool { return len(rs.listenerPIDs(b)) == 2 && rb.mw.CacheStats().Push == "up" }) {
							b.Fatal("the listeners did not come back")
						}
					}
				}
			}
			ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
			slices.Sort(fromReturn)
			slices.Sort(fromStart)
			q := func(s []time.Duration, p float64) time.Duration { return s[min(len(s)-1, int(p*float64(len(s))))] }
			b.ReportMetric(ms(q(fromReturn, 0.50)), "p50-ms")
			b.ReportMetric(ms(q(fromReturn, 0.99)), "p99-ms")
			b.ReportMetric(ms(fromReturn[len(fromReturn)-1]), "max-ms")
			b.ReportMetric(ms(q(fromStart, 0.50)), "p50-from-start-ms")
			b.ReportMetric(float64(len(fromReturn)), "changes")
		})
	}
}
