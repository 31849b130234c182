package invite_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/store/memstore"
)

// heapSampler records the peak of live heap objects while it runs.
type heapSampler struct {
	peak atomic.Uint64
	stop chan struct{}
	wg   sync.WaitGroup
}

func startHeapSampler() *heapSampler {
	h := &heapSampler{stop: make(chan struct{})}
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() {
		metrics.Read(sample)
		if v := sample[0].Value.Uint64(); v > h.peak.Load() {
			h.peak.Store(v)
		}
	}
	h.wg.Go(func() {
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			read()
			select {
			case <-h.stop:
				return
			case <-t.C:
			}
		}
	})
	return h
}

func (h *heapSampler) Stop() uint64 {
	close(h.stop)
	h.wg.Wait()
	return h.peak.Load()
}

// benchRows generates n valid rows without holding them in memory.
func benchRows(n int, prefix string) *rowSource {
	return &rowSource{Header: "email,first_name,last_name,roles,metadata.dept\n", N: n, Row: func(i int) string {
		return fmt.Sprintf("%s%06d@example.com,First%d,Last%d,member,Sales\n", prefix, i, i, i)
	}}
}

// benchBulk imports rows into a fresh store per iteration.
func benchBulk(b *testing.B, rows int, open func(b *testing.B) store.Store) {
	var peak uint64
	var elapsed time.Duration
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		st := open(b)
		// No OnMembershipChange: the test env's recorder would hold one
		// string per created row, and the benchmark measures the kit.
		e := newEnv(b, st, func(c *invite.Config) { c.OnMembershipChange = nil })
		e.Org(b, "org_bench")
		admin := e.AddActive(b, "org_bench", "admin@example.com", "admin")
		runtime.GC()
		b.StartTimer()
		sampler := startHeapSampler()
		start := time.Now()
		rep, err := e.Svc.BulkInvite(context.Background(), "org_bench", benchRows(rows, "u"), invite.BulkOptions{ActorID: admin.User.ID, MaxRows: rows, MaxBytes: -1})
		elapsed += time.Since(start)
		if p := sampler.Stop(); p > peak {
			peak = p
		}
		if err != nil {
			b.Fatal(err)
		}
		if rep.Summary.Created != rows {
			b.Fatalf("summary %+v", rep.Summary)
		}
		rep.Close()
		b.StopTimer()
		if c, ok := st.(store.Closer); ok {
			c.Close()
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(rows)*float64(b.N)/elapsed.Seconds(), "rows/s")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
}

// BenchmarkBulkInvite100k imports 100,000 rows (invitations with mail
// queued in the outbox) into an empty organization.
//
//	INVITEKIT_POSTGRES_DSN=postgres://postgres@127.0.0.1:5432/test?sslmode=disable \
//	  go test -run '^$' -bench BulkInvite100k -benchtime 3x ./invite/
func BenchmarkBulkInvite100k(b *testing.B) {
	// discard: the kit's own cost (check, parse, validate, tokens,
	// sealing, params) with a store whose batch write does nothing.
	b.Run("discard", func(b *testing.B) {
		benchBulk(b, 100_000, func(b *testing.B) store.Store { return discardBatches{memstore.New()} })
	})
	b.Run("sqlitestore", func(b *testing.B) { benchBulk(b, 100_000, func(b *testing.B) store.Store { return openSQLite(b) }) })
	for name, open := range extraBenchStores() {
		b.Run(name, func(b *testing.B) { benchBulk(b, 100_000, open) })
	}
}

// BenchmarkBulkInviteRows imports INVITEKIT_BENCH_BULK_ROWS rows (skipped
// when unset), for the memory at scale: run it in a process of its own
// under /usr/bin/time -v (see the README's Benchmarks).
//
//	go test -c -o /tmp/bulk.test ./invite/ && cd invite && INVITEKIT_BENCH_BULK_ROWS=1000000 \
//	  /usr/bin/time -v /tmp/bulk.test -test.run '^$' -test.bench 'BulkInviteRows/sqlitestore$' -test.benchtime 1x
func BenchmarkBulkInviteRows(b *testing.B) {
	rows, _ := strconv.Atoi(os.Getenv("INVITEKIT_BENCH_BULK_ROWS"))
	if rows <= 0 {
		b.Skip("set INVITEKIT_BENCH_BULK_ROWS to the number of rows")
	}
	b.Run("discard", func(b *testing.B) {
		benchBulk(b, rows, func(b *testing.B) store.Store { return discardBatches{memstore.New()} })
	})
	b.Run("sqlitestore", func(b *testing.B) { benchBulk(b, rows, func(b *testing.B) store.Store { return openSQLite(b) }) })
	for name, open := range extraBenchStores() {
		b.Run(name, func(b *testing.B) { benchBulk(b, rows, open) })
	}
}

// discardBatches is a store whose CreateMemberships writes nothing (and
// reports success), to measure the kit's side of a bulk import.
type discardBatches struct{ store.Store }

func (d discardBatches) CreateMemberships(ctx context.Context, ps []store.CreateMembershipParams) ([]store.BatchResult, error) {
	out := make([]store.BatchResult, len(ps))
	for i, p := range ps {
		out[i].User, out[i].Membership, out[i].UserCreated = p.User, p.Membership, true
	}
	return out, nil
}
