package middleware_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/invitekit/invitekit/middleware"
	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/store/memstore"
	"github.com/invitekit/invitekit/store/sqlitestore"
)

// BenchmarkScale is the cost of RequireMember with N signed-in members,
// as a ratio to scs LoadAndSave alone: each iteration serves one request
// through a LoadAndSave-only handler and one through LoadAndSave +
// RequireMember, for the same member, in alternating order (as
// BenchmarkInterleaved), and reports
//
//	base-ns/req, guarded-ns/req, ratio   the two times and guarded ÷ base
//	reads/req                            store reads per guarded request after warm-up
//	cache-MB, cache-entries, B/entry     the cache after the run (estimated bytes)
//
// Members are picked round-robin (every member in turn) or from a zipf
// distribution (s = 1.1). The warm-up serves every member once. The cache
// has its defaults (192 MiB) and CacheTTL 5 min with push invalidation
// started (every store has a ChangeNotifier), so the TTL never expires in
// a run. N = 1,000,000 runs only with INVITEKIT_BENCH_1M=1 (minutes of
// seeding; the default cache bound holds about 190,000 of these members;
// INVITEKIT_BENCH_CACHE_MB sets Config.CacheBytes in MiB).
//
//	go test -run '^$' -bench 'Scale' -benchtime 200000x -timeout 60m ./middleware/
//	INVITEKIT_POSTGRES_DSN=postgres://postgres@127.0.0.1:5432/test?sslmode=disable \
//		go test -run '^$' -bench 'Scale/pgstore' -benchtime 200000x -timeout 60m ./middleware/
func BenchmarkScale(b *testing.B) {
	sizes := []int{1_000, 10_000, 100_000}
	if os.Getenv("INVITEKIT_BENCH_1M") == "1" {
		sizes = append(sizes, 1_000_000)
	}
	for _, sc := range scaleStores() {
		for _, n := range sizes {
			// One seeded store per (store, N), shared by both orders.
			var env *scaleEnv
			for _, order := range []string{"roundrobin", "zipf"} {
				b.Run(fmt.Sprintf("%s/N=%d/%s", sc.name, n, order), func(b *testing.B) {
					if env == nil {
						env = newScaleEnv(b, sc, n)
					}
					env.run(b, order)
				})
			}
			if env != nil {
				env.close()
			}
		}
	}
}

type scaleStore struct {
	name string
	open func(tb testing.TB) (store.Store, func())
}

func scaleStores() []scaleStore {
	return []scaleStore{
		{"memstore", func(tb testing.TB) (store.Store, func()) { return memstore.New(), func() {} }},
		{"sqlitestore", func(tb testing.TB) (store.Store, func()) {
			dir, err := os.MkdirTemp("", "ik-scale-")
			if err != nil {
				tb.Fatal(err)
			}
			st, err := sqlitestore.Open(context.Background(), filepath.Join(dir, "bench.db"), sqlitestore.Config{})
			if err != nil {
				tb.Fatal(err)
			}
			return st, func() { st.Close(); os.RemoveAll(dir) }
		}},
		{"pgstore", func(tb testing.TB) (store.Store, func()) { return openPostgres(tb) }},
	}
}

// countingStore counts the reads the middleware makes, keeping the inner
// store's GetMember.
type countingStore struct {
	st    store.Store
	reads atomic.Int64
}

func (c *countingStore) GetMembership(ctx context.Context, org, user string) (store.Membership, error) {
	c.reads.Add(1)
	return c.st.GetMembership(ctx, org, user)
}

func (c *countingStore) GetUser(ctx context.Context, user string) (store.User, error) {
	c.reads.Add(1)
	return c.st.GetUser(ctx, user)
}

func (c *countingStore) GetMember(ctx context.Context, org, user string) (store.Member, error) {
	c.reads.Add(1)
	return c.st.(store.MemberGetter).GetMember(ctx, org, user)
}

type scaleEnv struct {
	st            store.Store
	closeStore    func()
	counter       *countingStore
	sm            *scs.SessionManager
	mw            *middleware.Middleware
	base, guarded http.Handler
	cookies       []string // session token per member
	orgs          []string // organization per member
	cancel        context.CancelFunc
}

// seedMembers writes n ACTIVE members, 100 per organization, in batches.
func seedMembers(tb testing.TB, st store.Store, n int) (users, orgs []string) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	users, orgs = make([]string, n), make([]string, n)
	for o := 0; o*100 < n; o++ {
		org := fmt.Sprintf("org_%07d", o)
		if err := st.CreateOrganization(ctx, store.Organization{ID: org, Name: org, CreateTime: now, UpdateTime: now},
			store.Event{ID: store.NewID("evt"), OrganizationID: org, Type: store.EventOrganizationCreated, CreateTime: now}); err != nil {
			tb.Fatal(err)
		}
	}
	params := func(i int) store.CreateMembershipParams {
		org := fmt.Sprintf("org_%07d", i/100)
		users[i], orgs[i] = fmt.Sprintf("usr_%07d", i), org
		ll := now
		return store.CreateMembershipParams{
			User: store.User{ID: users[i], Email: fmt.Sprintf("person%07d@example.com", i), CreateTime: now, UpdateTime: now,
				Profile: store.UserProfile{FirstName: "Firstname", LastName: "Lastname"}, LastLogin: &ll},
			Membership: store.Membership{OrganizationID: org, Status: store.StatusActive, Roles: []string{"member"},
				PrimaryIdentityProvider: "https://login.example.com", JoinTime: now, UpdateTime: now,
				Profile: store.MemberProfile{FirstName: "Firstname", LastName: "Lastname"}},
			Event: store.Event{ID: store.NewID("evt"), OrganizationID: org, Type: store.EventMembershipAdded, CreateTime: now},
		}
	}
	bc, batch := st.(store.BatchCreator)
	for i := 0; i < n; {
		if !batch {
			if _, err := st.CreateMembership(ctx, params(i)); err != nil {
				tb.Fatal(err)
			}
			i++
			continue
		}
		var ps []store.CreateMembershipParams
		for ; i < n && len(ps) < 2000; i++ {
			ps = append(ps, params(i))
		}
		res, err := bc.CreateMemberships(ctx, ps)
		if err != nil {
			tb.Fatal(err)
		}
		for _, r := range res {
			if r.Err != nil {
				tb.Fatal(r.Err)
			}
		}
	}
	return users, orgs
}

func newScaleEnv(tb testing.TB, sc scaleStore, n int) *scaleEnv {
	st, closeStore := sc.open(tb)
	e := &scaleEnv{st: st, closeStore: closeStore, counter: &countingStore{st: st}, sm: scs.New()}
	users, orgs := seedMembers(tb, st, n)
	e.orgs = orgs
	cfg := middleware.Config{CacheTTL: 5 * time.Minute}
	if mb, err := strconv.Atoi(os.Getenv("INVITEKIT_BENCH_CACHE_MB")); err == nil && mb > 0 {
		cfg.CacheBytes = int64(mb) << 20
	}
	if nt, ok := st.(store.ChangeNotifier); ok {
		cfg.Notifier = nt
	}
	var err error
	if e.mw, err = middleware.New(e.counter, e.sm, cfg); err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	if cfg.Notifier != nil {
		if err := e.mw.Start(ctx); err != nil {
			tb.Fatal(err)
		}
	}
	e.cookies = make([]string, n)
	for i, u := range users {
		e.cookies[i] = sessionCookieGen(tb, e.sm, u, "0").Value
	}
	ok := func(w http.ResponseWriter, r *http.Request) { w.Write(benchOK) }
	baseMux := http.NewServeMux()
	baseMux.HandleFunc("GET /orgs/{orgID}/dash", func(w http.ResponseWriter, r *http.Request) {
		if e.sm.GetString(r.Context(), middleware.SessionKeyUserID) == "" {
			http.Error(w, "no session", 401)
			return
		}
		ok(w, r)
	})
	guardMux := http.NewServeMux()
	guardMux.Handle("GET /orgs/{orgID}/dash", e.mw.RequireMember(http.HandlerFunc(ok)))
	e.base, e.guarded = e.sm.LoadAndSave(baseMux), e.sm.LoadAndSave(guardMux)
	// Warm up: every member once.
	for i := range n {
		if code := e.serve(e.guarded, i).code; code != 200 {
			tb.Fatalf("warm-up member %d: %d", i, code)
		}
	}
	return e
}

func (e *scaleEnv) close() {
	e.cancel()
	e.closeStore()
}

type served struct {
	d    time.Duration
	code int
}

func (e *scaleEnv) request(i int) *http.Request {
	req := httptest.NewRequest("GET", "/orgs/"+e.orgs[i]+"/dash", nil)
	req.AddCookie(&http.Cookie{Name: e.sm.Cookie.Name, Value: e.cookies[i]})
	return req
}

func (e *scaleEnv) serve(h http.Handler, i int) served {
	req := e.request(i)
	rec := httptest.NewRecorder()
	start := time.Now()
	h.ServeHTTP(rec, req)
	return served{time.Since(start), rec.Code}
}

func (e *scaleEnv) run(b *testing.B, order string) {
	n := len(e.cookies)
	zipf := rand.NewZipf(rand.New(rand.NewPCG(3, 4)), 1.1, 1, uint64(n-1))
	next := 0
	pick := func() int {
		if order == "zipf" {
			// A permutation, so that the hot members are spread over the
			// organizations and the cache's shards.
			return int((zipf.Uint64()*2654435761 + 12345) % uint64(n))
		}
		next = (next + 1) % n
		return next
	}
	var tBase, tGuard time.Duration
	reads0 := e.counter.reads.Load()
	k := 0
	b.ResetTimer()
	for b.Loop() {
		i := pick()
		var g, s served
		if k%2 == 0 {
			s, g = e.serve(e.base, i), e.serve(e.guarded, i)
		} else {
			g, s = e.serve(e.guarded, i), e.serve(e.base, i)
		}
		if s.code != 200 || g.code != 200 {
			b.Fatalf("member %d: base %d, guarded %d", i, s.code, g.code)
		}
		tBase += s.d
		tGuard += g.d
		k++
	}
	b.StopTimer()
	st := e.mw.CacheStats()
	b.ReportMetric(float64(tBase.Nanoseconds())/float64(k), "base-ns/req")
	b.ReportMetric(float64(tGuard.Nanoseconds())/float64(k), "guarded-ns/req")
	b.ReportMetric(float64(tGuard)/float64(tBase), "ratio")
	b.ReportMetric(float64(e.counter.reads.Load()-reads0)/float64(k), "reads/req")
	b.ReportMetric(float64(st.Bytes)/(1<<20), "cache-MB")
	b.ReportMetric(float64(st.Entries), "cache-entries")
	if st.Entries > 0 {
		b.ReportMetric(float64(st.Bytes)/float64(st.Entries), "B/entry")
	}
	if st.Push != "up" {
		b.Fatalf("push %s during the run", st.Push)
	}
}
