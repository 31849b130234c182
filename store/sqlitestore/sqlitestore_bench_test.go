package sqlitestore_test

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/store/sqlitestore"
)

// rowsPerInvite is what one invite writes: user, membership, invitation,
// outbox message, event.
const rowsPerInvite = 5

// BenchmarkCreateMembership is one invite through the single-invite path
// (one transaction per invite).
func BenchmarkCreateMembership(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background()) // like a request's
	defer cancel()
	st := openTemp(b, sqlitestore.Config{})
	mustOrg(b, st, "org_bench")
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := st.CreateMembership(ctx, inviteParams("org_bench", i)); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkAcceptInvitation spends one invitation per op.
func BenchmarkAcceptInvitation(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background()) // like a request's
	defer cancel()
	st := openTemp(b, sqlitestore.Config{})
	mustOrg(b, st, "org_bench")
	var ids []string
	add := func(n int) {
		ps := make([]store.CreateMembershipParams, n)
		for j := range ps {
			ps[j] = inviteParams("org_bench", len(ids)+j)
		}
		if _, err := st.CreateMemberships(ctx, ps); err != nil {
			b.Fatal(err)
		}
		for _, p := range ps {
			ids = append(ids, p.Invitation.ID)
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i == len(ids) {
			b.StopTimer()
			add(1000)
			b.StartTimer()
		}
		_, err := st.AcceptInvitation(ctx, store.AcceptParams{
			InvitationID: ids[i], Now: t0.Add(time.Hour),
			Identity:      store.Identity{Issuer: "https://idp.example", Subject: fmt.Sprint("sub-", i), CreateTime: t0},
			EmailVerified: true, IdentityProvider: "OIDC",
			Event: store.Event{Type: store.EventMembershipAccepted, CreateTime: t0},
		})
		if err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkGetMembership is the per-request membership lookup (a prepared
// primary-key lookup on the reader pool) in an organization of 10,000.
func BenchmarkGetMembership(b *testing.B) {
	ctx := context.Background()
	st := openTemp(b, sqlitestore.Config{})
	mustOrg(b, st, "org_bench")
	const n = 10000
	ps := make([]store.CreateMembershipParams, n)
	for i := range ps {
		ps[i] = inviteParams("org_bench", i)
	}
	res, err := st.CreateMemberships(ctx, ps)
	if err != nil {
		b.Fatal(err)
	}
	users := make([]string, n)
	for i, r := range res {
		users[i] = r.User.ID
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := st.GetMembership(ctx, "org_bench", users[i%n]); err != nil {
				b.Fatal(err)
			}
			i += 7919
		}
	})
	// A request context can be cancelled, unlike context.Background.
	b.Run("request-ctx", func(b *testing.B) {
		rctx, cancel := context.WithCancel(ctx)
		defer cancel()
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := st.GetMembership(rctx, "org_bench", users[i%n]); err != nil {
				b.Fatal(err)
			}
			i += 7919
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if _, err := st.GetMembership(ctx, "org_bench", users[i%n]); err != nil {
					b.Error(err)
					return
				}
				i += 7919
			}
		})
	})
}

// BenchmarkCreateMemberships1000 is bulk import: 1,000 invites per batch
// (one transaction). rows/s counts the 5 rows each invite writes.
func BenchmarkCreateMemberships1000(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background()) // like a request's
	defer cancel()
	st := openTemp(b, sqlitestore.Config{})
	mustOrg(b, st, "org_bench")
	const batch = 1000
	next := 0
	b.ReportAllocs()
	var elapsed, cpu time.Duration
	for b.Loop() {
		b.StopTimer()
		ps := make([]store.CreateMembershipParams, batch)
		for j := range ps {
			ps[j] = inviteParams("org_bench", next)
			next++
		}
		b.StartTimer()
		start, cpu0 := time.Now(), cpuTime(b)
		res, err := st.CreateMemberships(ctx, ps)
		elapsed += time.Since(start)
		cpu += cpuTime(b) - cpu0
		if err != nil {
			b.Fatal(err)
		}
		if res[batch-1].Err != nil {
			b.Fatal(res[batch-1].Err)
		}
	}
	invites := float64(next)
	b.ReportMetric(invites/elapsed.Seconds(), "invites/s")
	b.ReportMetric(invites*rowsPerInvite/elapsed.Seconds(), "rows/s")
	b.ReportMetric(float64(cpu.Microseconds())/invites, "cpu-µs/invite")
}

// cpuTime is the process's user+system CPU time so far. On a busy machine
// it shows the cost of the work better than wall time does.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkImport100k imports 100,000 invites (500,000 rows) into a fresh
// database in batches of 1,000, as a bulk import does. One op is the whole
// import.
func BenchmarkImport100k(b *testing.B) {
	const total, batch = 100_000, 1000
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var cpu time.Duration
	for b.Loop() {
		b.StopTimer()
		st := openTemp(b, sqlitestore.Config{})
		mustOrg(b, st, "org_bench")
		ps := make([]store.CreateMembershipParams, total)
		for i := range ps {
			ps[i] = inviteParams("org_bench", i)
		}
		b.StartTimer()
		cpu0 := cpuTime(b)
		for start := 0; start < total; start += batch {
			res, err := st.CreateMemberships(ctx, ps[start:start+batch])
			if err != nil {
				b.Fatal(err)
			}
			if res[0].Err != nil {
				b.Fatal(res[0].Err)
			}
		}
		cpu += cpuTime(b) - cpu0
		b.StopTimer()
		st.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(total*b.N)/b.Elapsed().Seconds(), "invites/s")
	b.ReportMetric(float64(total*rowsPerInvite*b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(total*b.N), "cpu-µs/invite")
}
