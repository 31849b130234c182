package scim_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/invite/internal/invitetest"
	"github.com/invitekit/invitekit/invite/scim"
	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/store/storetest"
)

// syncUsers is the size of the initial sync (INVITEKIT_BENCH_SYNC_USERS
// overrides it).
func syncUsers() int {
	if n, err := strconv.Atoi(os.Getenv("INVITEKIT_BENCH_SYNC_USERS")); err == nil && n > 0 {
		return n
	}
	return 10_000
}

// syncUser is user i as Okta's create sends it (its documented body).
func syncUser(i int) string {
	return fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"u%06d@example.com",`+
		`"name":{"givenName":"First%d","familyName":"Last%d"},"emails":[{"primary":true,"value":"u%06d@example.com","type":"work"}],`+
		`"displayName":"First%d Last%d","locale":"en-US","externalId":"00u%06d","groups":[],"active":true}`, i, i, i, i, i, i, i)
}

// syncCSV is the same users as a CSV file for the bulk import.
func syncCSV(n int) []byte {
	var b bytes.Buffer
	b.WriteString("email,first_name,last_name,external_id\n")
	for i := range n {
		fmt.Fprintf(&b, "u%06d@example.com,First%d,Last%d,00u%06d\n", i, i, i, i)
	}
	return b.Bytes()
}

// memPeak samples the live heap while it runs and reads the process's
// peak RSS (VmHWM, reset by /proc/self/clear_refs at the start, so it is
// the peak of this phase, not of the process).
type memPeak struct {
	heap atomic.Uint64
	stop chan struct{}
	wg   sync.WaitGroup
}

func startMemPeak() *memPeak {
	os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) // Linux: reset VmHWM; elsewhere the figure is the process's
	m := &memPeak{stop: make(chan struct{})}
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	m.wg.Go(func() {
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > m.heap.Load() {
				m.heap.Store(v)
			}
			select {
			case <-m.stop:
				return
			case <-t.C:
			}
		}
	})
	return m
}

var reHWM = regexp.MustCompile(`VmHWM:\s+(\d+) kB`)

// Stop returns the peak live heap and the peak RSS (0 when unknown), in bytes.
func (m *memPeak) Stop() (heap, rss uint64) {
	close(m.stop)
	m.wg.Wait()
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		if s := reHWM.FindSubmatch(b); s != nil {
			kb, _ := strconv.ParseUint(string(s[1]), 10, 64)
			rss = kb << 10
		}
	}
	return m.heap.Load(), rss
}

// syncEnv is one fresh store with an organization and a SCIM handler
// (rate limit off) on a loopback server.
type syncEnv struct {
	st  store.Store
	svc *invite.Service
	url string
	tok string
}

func newSyncEnv(b *testing.B, open func(testing.TB) store.Store) *syncEnv {
	b.Helper()
	st := open(b)
	e := invitetest.NewEnv(b, st, func(c *invite.Config) { c.OnMembershipChange = nil })
	e.Org(b, "org_sync")
	h, err := scim.New(scim.Config{Service: e.Svc, RateLimit: scim.RateLimit{Off: true}})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(h)
	b.Cleanup(srv.Close)
	tok, _, err := e.Svc.CreateDirectoryToken(context.Background(), "org_sync", "okta", "")
	if err != nil {
		b.Fatal(err)
	}
	return &syncEnv{st: st, svc: e.Svc, url: srv.URL + "/scim/v2/Users", tok: tok}
}

// scimSync POSTs users [0, n) with conns concurrent connections, each
// request as Okta sends it, and fails on any answer but 201.
func (se *syncEnv) scimSync(b *testing.B, n, conns int) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conns}}
	defer client.CloseIdleConnections()
	var next atomic.Int64
	var failed atomic.Value
	var wg sync.WaitGroup
	for range conns {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n || failed.Load() != nil {
					return
				}
				req, _ := http.NewRequest(http.MethodPost, se.url, strings.NewReader(syncUser(i)))
				req.Header.Set("Authorization", "Bearer "+se.tok)
				req.Header.Set("Content-Type", scim.ContentType)
				resp, err := client.Do(req)
				if err != nil {
					failed.Store(err.Error())
					return
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusCreated {
					failed.Store(fmt.Sprintf("user %d: %d %s", i, resp.StatusCode, body))
					return
				}
			}
		})
	}
	wg.Wait()
	if f := failed.Load(); f != nil {
		b.Fatal(f)
	}
}

// BenchmarkInitialSync10k is an initial directory sync of 10,000 users
// into an empty organization (ACTIVE, no mail: the SCIM default), each
// phase on a fresh store, in one process:
//
//   - scim-http: POST /Users per user through the real handler over
//     loopback HTTP, one connection (a directory pushing one at a time);
//   - scim-http-4conn: the same with 4 concurrent connections;
//   - service: invite.Service.ProvisionDirectoryUser per user, no HTTP
//     (the floor under the handler);
//   - store-1tx: one store.CreateMembership per user (one transaction,
//     no Service): the floor of any create that commits once per request;
//   - bulk-csv: the same users as one CSV file through
//     invite.Service.BulkInvite (sendInvitationEmail false).
//
// users/s, the process's CPU time per user (the kit, HTTP and an
// embedded SQLite; not a PostgreSQL server), the peak live heap and the
// phase's peak RSS (VmHWM).
//
//	go test -c -o /tmp/scim.test ./invite/scim/ && cd invite/scim && \
//	  /usr/bin/time -v /tmp/scim.test -test.run '^$' -test.bench 'InitialSync10k/sqlitestore' -test.benchtime 1x
//	INVITEKIT_POSTGRES_DSN=postgres://postgres@127.0.0.1:5432/test?sslmode=disable \
//	  /usr/bin/time -v /tmp/scim.test -test.run '^$' -test.bench 'InitialSync10k/pgstore' -test.benchtime 1x
func BenchmarkInitialSync10k(b *testing.B) {
	n := syncUsers()
	stores := []struct {
		name string
		open func(testing.TB) store.Store
	}{{"sqlitestore", invitetest.OpenSQLite}, {"pgstore", invitetest.OpenPostgres}}
	phases := []struct {
		name string
		run  func(b *testing.B, se *syncEnv)
	}{
		{"scim-http", func(b *testing.B, se *syncEnv) { se.scimSync(b, n, 1) }},
		{"scim-http-4conn", func(b *testing.B, se *syncEnv) { se.scimSync(b, n, 4) }},
		{"service", func(b *testing.B, se *syncEnv) {
			for i := range n {
				id := fmt.Sprintf("u%06d@example.com", i)
				if _, err := se.svc.ProvisionDirectoryUser(context.Background(), "org_sync", invite.DirectoryUserInput{
					UserName: id, Email: id, ExternalID: fmt.Sprintf("00u%06d", i), GivenName: fmt.Sprintf("First%d", i),
					FamilyName: fmt.Sprintf("Last%d", i), DisplayName: fmt.Sprintf("First%d Last%d", i, i), Locale: "en-US", Active: true,
				}, ""); err != nil {
					b.Fatal(err)
				}
			}
		}},
		{"store-1tx", func(b *testing.B, se *syncEnv) {
			for i := range n {
				p := storetest.AddParams("org_sync", fmt.Sprintf("u%06d@example.com", i), time.Now())
				if _, err := se.st.CreateMembership(context.Background(), p); err != nil {
					b.Fatal(err)
				}
			}
		}},
		{"bulk-csv", func(b *testing.B, se *syncEnv) {
			no := false
			rep, err := se.svc.BulkInvite(context.Background(), "org_sync", bytes.NewReader(syncCSV(n)),
				invite.BulkOptions{SendInvitationEmail: &no, MaxRows: n, MaxBytes: -1})
			if err != nil {
				b.Fatal(err)
			}
			defer rep.Close()
			if rep.Summary.Created != n {
				b.Fatalf("bulk summary %+v", rep.Summary)
			}
		}},
	}
	for _, sc := range stores {
		b.Run(sc.name, func(b *testing.B) {
			for _, ph := range phases {
				b.Run(ph.name, func(b *testing.B) {
					var elapsed, cpu time.Duration
					var heap, rss uint64
					for b.Loop() {
						b.StopTimer()
						se := newSyncEnv(b, sc.open)
						runtime.GC()
						b.StartTimer()
						mp := startMemPeak()
						start, cpu0 := time.Now(), processCPU()
						ph.run(b, se)
						elapsed += time.Since(start)
						cpu += processCPU() - cpu0
						h, r := mp.Stop()
						heap, rss = max(heap, h), max(rss, r)
						b.StopTimer()
						checkSynced(b, se, n)
						b.StartTimer()
					}
					b.ReportMetric(float64(n)*float64(b.N)/elapsed.Seconds(), "users/s")
					b.ReportMetric(float64(cpu.Microseconds())/float64(n*b.N), "cpu-µs/user")
					b.ReportMetric(float64(heap)/(1<<20), "peak-heap-MB")
					b.ReportMetric(float64(rss)/(1<<20), "peak-RSS-MB")
				})
			}
		})
	}
}

// processCPU is the CPU time (user and system) this process has used: it
// counts the kit, the HTTP client and server and an embedded SQLite, not a
// PostgreSQL server.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// checkSynced requires n ACTIVE members besides nobody else.
func checkSynced(b *testing.B, se *syncEnv, n int) {
	b.Helper()
	users, total, err := se.svc.ListDirectoryUsers(context.Background(), "org_sync", n, 1)
	if err != nil || total != n || len(users) != 1 || users[0].Membership.Status != store.StatusActive {
		b.Fatalf("after the sync: %d members, last %+v, %v", total, users, err)
	}
}
