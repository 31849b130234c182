package middleware

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/invitekit/invitekit/store"
)

// testClock is an advanceable time source.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func newTestClock() *testClock {
	return &testClock{now: time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)}
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func testCache(clk *testClock, mut func(*cacheConfig)) *memberCache {
	cfg := cacheConfig{ttl: time.Second, fallback: time.Second, negTTL: time.Second, maxBytes: DefaultCacheBytes, now: clk.Now}
	if mut != nil {
		mut(&cfg)
	}
	return newMemberCache(cfg)
}

// counter is a readFunc counting its calls; every key is an ACTIVE member.
type counter struct{ n atomic.Int64 }

func (c *counter) read(ctx context.Context, org, user string) (*Member, error) {
	c.n.Add(1)
	return &Member{User: store.User{ID: user}, Membership: store.Membership{OrganizationID: org, UserID: user, Status: store.StatusActive}}, nil
}

// has reports whether k is served from the cache (without reading).
func has(c *memberCache, k cacheKey) bool {
	hit := true
	_, _ = c.lookup(context.Background(), k, func(ctx context.Context, org, user string) (*Member, error) {
		hit = false
		return nil, errors.New("not cached")
	})
	return hit
}

func fill(t *testing.T, c *memberCache, keys ...cacheKey) {
	t.Helper()
	var r counter
	for _, k := range keys {
		if _, err := c.lookup(context.Background(), k, r.read); err != nil {
			t.Fatal(err)
		}
	}
}

func TestCacheInvalidateDuringLookupIsNotCached(t *testing.T) {
	clk := newTestClock()
	c := testCache(clk, nil)
	k := cacheKey{"org_a", "usr_a"}
	// A request misses and reads the store; meanwhile the membership
	// changes and the change is applied to the cache.
	for name, inval := range map[string]func(){
		"key":  func() { c.invalidate(k) },
		"user": func() { c.invalidateUser(k.user) },
		"all":  c.invalidateAll,
	} {
		mem, err := c.lookup(context.Background(), k, func(ctx context.Context, org, user string) (*Member, error) {
			inval()
			return &Member{User: store.User{ID: user}, Membership: store.Membership{OrganizationID: org, UserID: user}}, nil
		})
		if err != nil || mem == nil {
			t.Fatalf("%s: the reading request gets its answer: %v %v", name, mem, err)
		}
		if has(c, k) {
			t.Fatalf("%s: a lookup that raced an invalidation was cached", name)
		}
	}
	fill(t, c, k)
	clk.Add(999 * time.Millisecond)
	if !has(c, k) {
		t.Fatal("fresh entry missed")
	}
	clk.Add(time.Millisecond)
	if has(c, k) {
		t.Fatal("entry served at its TTL")
	}
}

func TestCacheInvalidateScopes(t *testing.T) {
	c := testCache(newTestClock(), nil)
	keys := []cacheKey{{"o1", "u1"}, {"o2", "u1"}, {"o1", "u2"}}
	fill(t, c, keys...)
	c.invalidate(keys[0])
	if has(c, keys[0]) || !has(c, keys[1]) || !has(c, keys[2]) {
		t.Fatal("invalidate(o1,u1) scope wrong")
	}
	fill(t, c, keys...)
	c.invalidateUser("u1")
	if has(c, keys[0]) || has(c, keys[1]) || !has(c, keys[2]) {
		t.Fatal("invalidateUser(u1) scope wrong")
	}
	fill(t, c, keys...)
	c.invalidateAll()
	for _, k := range keys {
		if has(c, k) {
			t.Fatal("invalidateAll left", k)
		}
	}
}

func member(org, user string) *Member {
	return &Member{User: store.User{ID: user}, Membership: store.Membership{OrganizationID: org, UserID: user, Status: store.StatusActive}}
}

// TestCacheBoundsEvictOneAtATime: the byte and entry bounds hold at every
// step, a full cache evicts one entry per insert (never everything), and
// expired entries go first.
func TestCacheBoundsEvictOneAtATime(t *testing.T) {
	clk := newTestClock()
	size := memberBytes(member("o", "u_00"))
	// Room for 10 members: one shard, whose positive ring gets 15/16.
	c := testCache(clk, func(cfg *cacheConfig) { cfg.maxBytes = (10*size + 5) * 16 / 15 })
	if len(c.shards) != 1 {
		t.Fatalf("%d shards for a tiny cache", len(c.shards))
	}
	sh := &c.shards[0]
	var r counter
	for i := range 100 {
		k := cacheKey{"o", fmt.Sprintf("u_%02d", i)}
		if _, err := c.lookup(context.Background(), k, r.read); err != nil {
			t.Fatal(err)
		}
		st := c.stats()
		if st.Bytes > sh.pos.max {
			t.Fatalf("after %d inserts: %d bytes, bound %d", i+1, st.Bytes, sh.pos.max)
		}
		if want := min(i+1, 10); st.Entries != want {
			t.Fatalf("after %d inserts: %d entries, want %d (one evicted per insert)", i+1, st.Entries, want)
		}
		if !has(c, k) {
			t.Fatal("the entry just read is not cached")
		}
	}
	// A member larger than the shard is not cached, and evicts nothing.
	huge := member("o", "u_huge")
	huge.Membership.Metadata = map[string]string{"blob": string(make([]byte, 20*size))}
	if _, err := c.lookup(context.Background(), cacheKey{"o", "u_huge"}, func(ctx context.Context, org, user string) (*Member, error) {
		return huge, nil
	}); err != nil {
		t.Fatal(err)
	}
	if st := c.stats(); st.Entries != 10 || has(c, cacheKey{"o", "u_huge"}) {
		t.Fatalf("after an oversized member: %d entries", st.Entries)
	}
	// An entry read again, larger than before, keeps the bound.
	clk.Add(time.Second) // all expired
	k := cacheKey{"o", "u_99"}
	bigger := member("o", "u_99")
	bigger.Membership.Metadata = map[string]string{"note": string(make([]byte, 3*size))}
	if _, err := c.lookup(context.Background(), k, func(ctx context.Context, org, user string) (*Member, error) {
		return bigger, nil
	}); err != nil {
		t.Fatal(err)
	}
	if st := c.stats(); st.Bytes > sh.pos.max || !has(c, k) {
		t.Fatalf("after a larger re-read: %d bytes, bound %d", st.Bytes, sh.pos.max)
	}
	// Entry bound.
	c = testCache(clk, func(cfg *cacheConfig) { cfg.maxEntries = 3 })
	for i := range 10 {
		fill(t, c, cacheKey{"o", fmt.Sprintf("u_%02d", i)})
		if n := c.stats().Entries; n > 3 {
			t.Fatalf("cache holds %d entries, bound 3", n)
		}
	}
	// When full, an expired entry is evicted before a fresh unreferenced one.
	c = testCache(clk, func(cfg *cacheConfig) { cfg.maxEntries = 3 })
	old := []cacheKey{{"o", "x"}, {"o", "y"}}
	fill(t, c, old...)
	clk.Add(600 * time.Millisecond)
	fresh := cacheKey{"o", "z"}
	fill(t, c, fresh)
	for _, k := range old { // referenced, but about to expire
		has(c, k)
	}
	clk.Add(600 * time.Millisecond) // x and y expired, z is not (and unreferenced)
	fill(t, c, cacheKey{"o", "new"})
	if n := c.stats().Entries; n != 3 || !has(c, fresh) {
		t.Fatalf("want an expired entry evicted and the fresh one kept: %d entries, fresh kept %v", n, has(c, fresh))
	}
}

// TestCacheClockKeepsReferenced: under pressure, entries that are hit
// survive and one-off entries are evicted (CLOCK's second chance).
func TestCacheClockKeepsReferenced(t *testing.T) {
	clk := newTestClock()
	c := testCache(clk, func(cfg *cacheConfig) { cfg.maxEntries = 8 })
	hot := []cacheKey{{"o", "h1"}, {"o", "h2"}, {"o", "h3"}, {"o", "h4"}}
	fill(t, c, hot...)
	for i := range 200 {
		for _, k := range hot {
			if !has(c, k) {
				t.Fatalf("round %d: hot entry %v evicted", i, k)
			}
		}
		fill(t, c, cacheKey{"o", fmt.Sprintf("cold_%d", i)})
	}
}

// TestCacheCoalescesMisses: N concurrent lookups of one key make one read,
// and all get its answer; a lookup arriving after an invalidation does not
// join the read that started before it.
func TestCacheCoalescesMisses(t *testing.T) {
	c := testCache(newTestClock(), nil)
	k := cacheKey{"org_a", "usr_a"}
	release := make(chan struct{})
	var reads atomic.Int64
	read := func(ctx context.Context, org, user string) (*Member, error) {
		reads.Add(1)
		<-release
		return member(org, user), nil
	}
	const n = 50
	var wg sync.WaitGroup
	got := make([]*Member, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { got[i], errs[i] = c.lookup(context.Background(), k, read) })
	}
	waitFor(t, func() bool { return waiters(c, k) == n-1 })
	close(release)
	wg.Wait()
	if r := reads.Load(); r != 1 {
		t.Fatalf("%d concurrent misses made %d reads, want 1", n, r)
	}
	for i := range n {
		if errs[i] != nil || got[i] != got[0] {
			t.Fatalf("request %d: %v %v", i, got[i], errs[i])
		}
	}

	// A read in flight, then an invalidation: the next request reads anew.
	c.invalidate(k)
	release = make(chan struct{})
	reads.Store(0)
	var first sync.WaitGroup
	first.Go(func() { _, _ = c.lookup(context.Background(), k, read) })
	waitFor(t, func() bool { return reads.Load() == 1 })
	c.invalidate(k)
	var second sync.WaitGroup
	second.Go(func() { _, _ = c.lookup(context.Background(), k, read) })
	waitFor(t, func() bool { return reads.Load() == 2 })
	close(release)
	first.Wait()
	second.Wait()
}

// TestCacheWaiterOutlivesCanceledReader: when the request doing the read
// is canceled, a waiting request reads for itself instead of failing.
func TestCacheWaiterOutlivesCanceledReader(t *testing.T) {
	c := testCache(newTestClock(), nil)
	k := cacheKey{"org_a", "usr_a"}
	ctx, cancel := context.WithCancel(context.Background())
	var reads atomic.Int64
	started := make(chan struct{})
	read := func(rctx context.Context, org, user string) (*Member, error) {
		if reads.Add(1) == 1 {
			close(started)
			<-rctx.Done()
			return nil, rctx.Err()
		}
		return member(org, user), nil
	}
	var leader sync.WaitGroup
	var lerr error
	leader.Go(func() { _, lerr = c.lookup(ctx, k, read) })
	<-started
	var follower sync.WaitGroup
	var fmem *Member
	var ferr error
	follower.Go(func() { fmem, ferr = c.lookup(context.Background(), k, read) })
	waitFor(t, func() bool { return waiters(c, k) == 1 })
	cancel()
	leader.Wait()
	follower.Wait()
	if !errors.Is(lerr, context.Canceled) {
		t.Fatalf("leader: %v", lerr)
	}
	if ferr != nil || fmem == nil || reads.Load() != 2 {
		t.Fatalf("follower: %v %v after %d reads", fmem, ferr, reads.Load())
	}
}

// TestCacheReadPanicReleasesWaiters: a panicking read neither caches nor
// leaves the waiting requests hanging.
func TestCacheReadPanicReleasesWaiters(t *testing.T) {
	c := testCache(newTestClock(), nil)
	k := cacheKey{"org_a", "usr_a"}
	release := make(chan struct{})
	read := func(ctx context.Context, org, user string) (*Member, error) {
		<-release
		panic("boom")
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		defer func() { _ = recover() }()
		_, _ = c.lookup(context.Background(), k, read)
	})
	waitFor(t, func() bool { return waiters(c, k) == 0 }) // the read is in flight
	var ferr error
	wg.Go(func() { _, ferr = c.lookup(context.Background(), k, read) })
	waitFor(t, func() bool { return waiters(c, k) == 1 })
	close(release)
	wg.Wait()
	if !errors.Is(ferr, errReadPanicked) {
		t.Fatalf("waiter: %v", ferr)
	}
	if has(c, k) {
		t.Fatal("a panicked read was cached")
	}
}

func waiters(c *memberCache, k cacheKey) int32 {
	sh := c.shard(k.user)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if cl := sh.inflight[k]; cl != nil {
		return cl.waiters.Load()
	}
	return -1
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 10s")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestCacheNegative: "not a member" is cached for NegativeCacheTTL, in a
// bounded part of the cache that cannot push members out; other errors are
// not cached.
func TestCacheNegative(t *testing.T) {
	clk := newTestClock()
	c := testCache(clk, func(cfg *cacheConfig) { cfg.ttl = 5 * time.Second; cfg.negTTL = 200 * time.Millisecond })
	var reads atomic.Int64
	notMember := func(ctx context.Context, org, user string) (*Member, error) {
		reads.Add(1)
		return nil, ErrNotMember
	}
	k := cacheKey{"org_x", "usr_a"}
	for range 3 {
		if _, err := c.lookup(context.Background(), k, notMember); !errors.Is(err, ErrNotMember) {
			t.Fatal(err)
		}
	}
	if reads.Load() != 1 {
		t.Fatalf("%d reads for a cached negative answer", reads.Load())
	}
	clk.Add(200 * time.Millisecond)
	_, _ = c.lookup(context.Background(), k, notMember)
	if reads.Load() != 2 {
		t.Fatal("negative answer served past NegativeCacheTTL")
	}
	// A store failure is not cached.
	failing := func(ctx context.Context, org, user string) (*Member, error) {
		reads.Add(1)
		return nil, errors.New("store down")
	}
	k2 := cacheKey{"org_y", "usr_a"}
	_, _ = c.lookup(context.Background(), k2, failing)
	_, _ = c.lookup(context.Background(), k2, failing)
	if reads.Load() != 4 {
		t.Fatal("a store failure was cached")
	}
	// Bounded: a flood of negative answers leaves the members in place.
	clk2 := newTestClock()
	c = testCache(clk2, func(cfg *cacheConfig) { cfg.maxBytes = 256 << 10 })
	var members []cacheKey
	for i := range 100 {
		members = append(members, cacheKey{"org_a", fmt.Sprintf("usr_%03d", i)})
	}
	fill(t, c, members...)
	for i := range 20000 {
		_, _ = c.lookup(context.Background(), cacheKey{fmt.Sprintf("org_%05d", i), "usr_007"}, notMember)
	}
	st := c.stats()
	if st.NegativeBytes > c.maxB/16 || st.NegativeEntries == 0 {
		t.Fatalf("negative part: %d bytes (%d entries), bound %d", st.NegativeBytes, st.NegativeEntries, c.maxB/16)
	}
	for _, k := range members {
		if !has(c, k) {
			t.Fatalf("negative answers pushed member %v out", k)
		}
	}
	// A member read after a negative answer replaces it.
	k3 := cacheKey{"org_n", "usr_a"}
	_, _ = c.lookup(context.Background(), k3, notMember)
	c.invalidate(k3)
	fill(t, c, k3)
	if mem, err := c.lookup(context.Background(), k3, notMember); err != nil || mem == nil {
		t.Fatalf("after the membership exists: %v %v", mem, err)
	}
}

// TestCachePushFallback: with push up entries live CacheTTL; when the
// subscription is lost they are served at most FallbackTTL past the loss,
// new entries get FallbackTTL, and a resync drops everything and restores
// CacheTTL.
func TestCachePushFallback(t *testing.T) {
	clk := newTestClock()
	c := testCache(clk, func(cfg *cacheConfig) { cfg.ttl = 5 * time.Minute; cfg.push = true })
	k1, k2 := cacheKey{"o", "u1"}, cacheKey{"o", "u2"}
	// Not subscribed yet: FallbackTTL.
	fill(t, c, k1)
	clk.Add(time.Second)
	if has(c, k1) {
		t.Fatal("served past FallbackTTL before the subscription")
	}
	c.pushResync(c.losses.Load())
	fill(t, c, k1)
	clk.Add(4 * time.Minute)
	if !has(c, k1) {
		t.Fatal("with push up, an entry must live CacheTTL")
	}
	c.pushLost()
	fill(t, c, k2) // cached while down
	clk.Add(999 * time.Millisecond)
	if !has(c, k1) || !has(c, k2) {
		t.Fatal("within FallbackTTL of the loss")
	}
	clk.Add(time.Millisecond)
	if has(c, k1) || has(c, k2) {
		t.Fatal("served more than FallbackTTL after the subscription was lost")
	}
	fill(t, c, k1)
	// A resync after a later loss does not restore CacheTTL.
	losses := c.losses.Load()
	c.pushLost()
	c.pushResync(losses)
	if c.push.Load() != pushDown || has(c, k1) {
		t.Fatal("a stale resync restored push, or left entries")
	}
	c.pushResync(c.losses.Load())
	fill(t, c, k1)
	clk.Add(4 * time.Minute)
	if c.push.Load() != pushUp || !has(c, k1) {
		t.Fatal("CacheTTL not restored after the resync")
	}
	// A read that started while push was down is cached with FallbackTTL
	// even if push is up when it ends.
	c.pushLost()
	k3 := cacheKey{"o", "u3"}
	_, _ = c.lookup(context.Background(), k3, func(ctx context.Context, org, user string) (*Member, error) {
		c.push.Store(pushUp)
		return member(org, user), nil
	})
	clk.Add(time.Second)
	if has(c, k3) {
		t.Fatal("a read begun while push was down got CacheTTL")
	}
}

// TestCacheBytesMatchHeap checks the byte estimate against the Go heap:
// what 20,000 cached members keep alive is within the estimate (plus 10 %)
// and not below 80 % of it, for members without maps and with metadata.
func TestCacheBytesMatchHeap(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates")
	}
	many := map[string]string{}
	for i := range 12 {
		many[fmt.Sprintf("key_%d", i)] = fmt.Sprintf("a value of some length %d", i)
	}
	for _, shape := range []struct {
		name               string
		userMeta, ms, prof map[string]string
	}{
		{name: "plain"},
		{name: "metadata", userMeta: map[string]string{"team": "blue"}, ms: many, prof: map[string]string{"title": "Engineer", "floor": "3"}},
	} {
		t.Run(shape.name, func(t *testing.T) {
			clk := newTestClock()
			c := testCache(clk, nil)
			const n = 20000
			now := clk.Now()
			clone := func(m map[string]string) map[string]string {
				if m == nil {
					return nil
				}
				out := make(map[string]string, len(m))
				for k, v := range m {
					out[cloneString(k)] = cloneString(v)
				}
				return out
			}
			read := func(ctx context.Context, org, user string) (*Member, error) {
				// Every string its own allocation, as a store decodes them.
				ll, ll2, c := now, now, cloneString
				return &Member{
					User: store.User{ID: user, Email: user + "@example.com", CreateTime: now, UpdateTime: now, LastLogin: &ll,
						Profile: store.UserProfile{FirstName: c("Ann"), LastName: c("Example"), Metadata: clone(shape.userMeta)}},
					Membership: store.Membership{OrganizationID: org, UserID: c(user), Status: store.MembershipStatus(c(string(store.StatusActive))),
						Roles: []string{c("member")}, PrimaryIdentityProvider: c("https://idp.example.com"), JoinTime: now, UpdateTime: now, LastLogin: &ll2,
						Profile: store.MemberProfile{FirstName: c("Ann"), LastName: c("Example"), Metadata: clone(shape.prof)}, Metadata: clone(shape.ms)},
				}, nil
			}
			keys := make([]cacheKey, n)
			for i := range keys {
				keys[i] = cacheKey{fmt.Sprintf("org_%08d", i%97), fmt.Sprintf("usr_%016d", i)}
			}
			var ms runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&ms)
			before := ms.HeapAlloc
			for _, k := range keys {
				// The key strings stand for the store's: they become the member's.
				if _, err := c.lookup(context.Background(), k, read); err != nil {
					t.Fatal(err)
				}
			}
			keys = nil
			runtime.GC()
			runtime.ReadMemStats(&ms)
			heap := int64(ms.HeapAlloc - before)
			st := c.stats()
			if st.Entries != n {
				t.Fatalf("%d entries", st.Entries)
			}
			t.Logf("%d entries: estimated %d bytes (%d/entry), heap grew %d bytes (%d/entry)", n, st.Bytes, st.Bytes/n, heap, heap/n)
			if heap > st.Bytes*110/100 || heap < st.Bytes*80/100 {
				t.Fatalf("estimate %d bytes, heap %d bytes", st.Bytes, heap)
			}
			runtime.KeepAlive(c)
		})
	}
}

// TestDefaultBoundHolds100kMembers: the default CacheBytes holds 100,000
// typical members (as the benchmarks' stores return them), spread over the
// shards by user as the cache spreads them.
func TestDefaultBoundHolds100kMembers(t *testing.T) {
	clk := newTestClock()
	c := testCache(clk, nil)
	now := clk.Now()
	ll := now
	typical := &Member{
		User: store.User{ID: "usr_00000000000000000000", Email: "person000000@example.com", CreateTime: now, UpdateTime: now, LastLogin: &ll,
			Profile: store.UserProfile{FirstName: "Firstname", LastName: "Lastname"}},
		Membership: store.Membership{OrganizationID: "org_00000000000000000000", UserID: "usr_00000000000000000000", Status: store.StatusActive, Roles: []string{"member"},
			PrimaryIdentityProvider: "https://login.example.com", InvitedBy: "usr_00000000000000000001", JoinTime: now, UpdateTime: now, LastLogin: &ll,
			Profile:  store.MemberProfile{FirstName: "Firstname", LastName: "Lastname", Name: "Firstname Lastname"},
			Metadata: map[string]string{"department": "sales"}},
	}
	size := memberBytes(typical)
	const n = 100_000
	for i := range n {
		k := cacheKey{fmt.Sprintf("org_%020d", i%1000), fmt.Sprintf("usr_%020d", i)}
		sh := c.shard(k.user)
		sh.pos.put(k, typical, size, 0, int64(time.Hour))
	}
	st := c.stats()
	t.Logf("%d entries of %d bytes: %d of %d bytes, %d shards", st.Entries, size, st.Bytes, st.MaxBytes, st.Shards)
	if st.Entries != n {
		t.Fatalf("the default bound holds %d of %d members of %d bytes", st.Entries, n, size)
	}
}
