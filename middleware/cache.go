package middleware

import (
	"context"
	"errors"
	"hash/maphash"
	"math/bits"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// Bounds and defaults of the membership cache (Config.CacheTTL and the
// fields after it).
const (
	// MaxCacheTTL is the longest Config.CacheTTL New accepts. CacheTTL
	// applies only while push invalidation is healthy (see Start); then
	// the staleness bound is the push latency and the TTL a safety net.
	MaxCacheTTL = 10 * time.Minute
	// MaxFallbackTTL is the longest Config.FallbackTTL: the bound on how
	// stale a cached membership may be while push invalidation is not
	// running (no ChangeNotifier, Start not called, subscription lost).
	MaxFallbackTTL = time.Second
	// DefaultFallbackTTL is Config.FallbackTTL when it is zero.
	DefaultFallbackTTL = time.Second
	// DefaultNegativeCacheTTL is Config.NegativeCacheTTL when it is zero
	// (capped by the TTL in force).
	DefaultNegativeCacheTTL = time.Second
	// DefaultCacheBytes is Config.CacheBytes when it is zero: 192 MiB, as
	// estimated per entry (about 1.1 KB for a member with a short profile
	// and no metadata, 1.8 KB with a few metadata entries): room for
	// 100,000 active members with some to spare. Memory is used only for
	// what is cached.
	DefaultCacheBytes = 192 << 20
)

// Fixed costs of one cached entry, in bytes, beyond the strings, slices and
// maps the member holds: the Member itself, its slot in the shard's ring,
// its key in the shard's index (Go maps spend about 1.3 slots per entry of
// 40 bytes: key 32 + int32 value, padded), and the allocator's rounding.
// TestCacheBytesMatchHeap checks the estimate against the Go heap.
var (
	memberOverhead = int64(unsafe.Sizeof(Member{})) + int64(unsafe.Sizeof(slot{})) + 56 + 32
	negOverhead    = int64(unsafe.Sizeof(slot{})) + 56 + 16
)

// memberBytes estimates the heap bytes one cached Member keeps alive.
func memberBytes(m *Member) int64 {
	u, ms := &m.User, &m.Membership
	n := memberOverhead
	n += strBytes(u.ID, u.Email, u.ExternalID,
		u.Profile.FirstName, u.Profile.LastName, u.Profile.Name, u.Profile.ID, u.Profile.Locale, u.Profile.PhoneNumber)
	n += mapBytes(u.Profile.Metadata) + mapBytes(u.Profile.CustomAttributes) + mapBytes(u.Metadata)
	if u.LastLogin != nil {
		n += 32
	}
	n += strBytes(ms.OrganizationID, ms.UserID, string(ms.Status), ms.PrimaryIdentityProvider, ms.InvitedBy, ms.ExternalID,
		ms.Profile.FirstName, ms.Profile.LastName, ms.Profile.Name, ms.Profile.Locale, ms.Profile.PhoneNumber)
	n += int64(cap(ms.Roles)) * 16
	for _, r := range ms.Roles {
		n += roundUp(len(r))
	}
	n += mapBytes(ms.Metadata) + mapBytes(ms.Profile.Metadata) + mapBytes(ms.Profile.CustomAttributes) + mapBytes(ms.UserMetadata)
	if ms.LastLogin != nil {
		n += 32
	}
	return n
}

// roundUp is a string's allocation: small allocations come in 8- and
// 16-byte size classes.
func roundUp(n int) int64 {
	if n == 0 {
		return 0
	}
	return int64((n + 15) &^ 15)
}

func strBytes(ss ...string) int64 {
	var n int64
	for _, s := range ss {
		n += roundUp(len(s))
	}
	return n
}

// mapBytes estimates a map[string]string: the map header, groups of 8
// slots of 32 bytes plus control words, at a 7/8 load, and the strings.
func mapBytes(m map[string]string) int64 {
	if m == nil {
		return 0
	}
	groups := (len(m)*8/7 + 7) / 8
	if groups == 0 {
		groups = 1
	}
	n := int64(48 + groups*(8+8*32))
	for k, v := range m {
		n += roundUp(len(k)) + roundUp(len(v))
	}
	return n
}

type cacheKey struct{ org, user string }

// slot is one entry of a ring. Times are nanoseconds since the cache's
// base time (monotonic when the clock is).
type slot struct {
	key      cacheKey
	mem      *Member // nil in the negative ring
	expires  int64
	inserted int64
	size     int64
	ref      uint32 // CLOCK reference bit, set (atomically) on a hit
	live     bool
}

// ring is a CLOCK cache: an index into a slice of slots and a hand that
// sweeps the slots to find one victim when room is needed. A hit sets the
// slot's reference bit; the hand clears set bits and evicts the first slot
// whose bit is clear (or that has expired). Eviction is one entry at a
// time, never a clear-all.
type ring struct {
	index      map[cacheKey]int32
	slots      []slot
	free       []int32
	hand       int
	bytes, max int64
	maxEntries int // 0: bounded by bytes only
}

func (r *ring) init(maxBytes int64, maxEntries int) {
	r.index = make(map[cacheKey]int32)
	r.max, r.maxEntries = maxBytes, maxEntries
}

func (r *ring) get(k cacheKey) *slot {
	i, ok := r.index[k]
	if !ok {
		return nil
	}
	return &r.slots[i]
}

// put stores the entry unless it is larger than the whole ring, evicting
// as few entries as it needs.
func (r *ring) put(k cacheKey, mem *Member, size, inserted, expires int64) {
	if size > r.max {
		return
	}
	if i, ok := r.index[k]; ok {
		s := &r.slots[i]
		r.bytes += size - s.size
		s.mem, s.size, s.inserted, s.expires = mem, size, inserted, expires
		for r.bytes > r.max && r.evictOne(inserted, i) {
		}
		return
	}
	for r.bytes+size > r.max || (r.maxEntries > 0 && len(r.index) >= r.maxEntries) {
		if !r.evictOne(inserted, -1) {
			return
		}
	}
	var i int32
	if n := len(r.free); n > 0 {
		i, r.free = r.free[n-1], r.free[:n-1]
	} else {
		r.slots = append(r.slots, slot{})
		i = int32(len(r.slots) - 1)
	}
	r.slots[i] = slot{key: k, mem: mem, size: size, inserted: inserted, expires: expires, live: true}
	r.index[k] = i
	r.bytes += size
}

// evictOne removes one entry (not keep): an expired one or the first
// whose reference bit is clear. It reports whether it removed one.
func (r *ring) evictOne(now int64, keep int32) bool {
	n := len(r.slots)
	for range 2*n + 1 {
		if n == 0 {
			return false
		}
		if r.hand >= n {
			r.hand = 0
		}
		i := r.hand
		r.hand++
		s := &r.slots[i]
		if !s.live || int32(i) == keep {
			continue
		}
		if now >= s.expires || atomic.LoadUint32(&s.ref) == 0 {
			r.remove(int32(i))
			return true
		}
		atomic.StoreUint32(&s.ref, 0)
	}
	return false
}

func (r *ring) remove(i int32) {
	s := &r.slots[i]
	delete(r.index, s.key)
	r.bytes -= s.size
	*s = slot{}
	r.free = append(r.free, i)
	// Keep the sweep short: compact when most slots are free.
	if len(r.free) > 64 && len(r.free) > len(r.slots)/2 {
		r.compact()
	}
}

func (r *ring) compact() {
	slots := make([]slot, 0, len(r.index))
	for j := range r.slots {
		if s := &r.slots[j]; s.live {
			r.index[s.key] = int32(len(slots))
			slots = append(slots, *s)
		}
	}
	r.slots, r.free, r.hand = slots, nil, 0
}

func (r *ring) removeKey(k cacheKey) {
	if i, ok := r.index[k]; ok {
		r.remove(i)
	}
}

func (r *ring) removeUser(user string) {
	var keys []cacheKey
	for k := range r.index {
		if k.user == user {
			keys = append(keys, k)
		}
	}
	for _, k := range keys {
		r.removeKey(k)
	}
}

func (r *ring) reset() {
	r.index = make(map[cacheKey]int32)
	r.slots, r.free, r.hand, r.bytes = nil, nil, 0, 0
}

// call is one store read in flight; requests for the same key wait for it
// instead of reading again.
type call struct {
	done  chan struct{}
	mem   *Member
	err   error
	stale bool // an invalidation reached this key during the read: do not cache
	up    bool // push was healthy when the read started
	// waiters counts the requests waiting for this read (for tests).
	waiters atomic.Int32
}

// shard holds the entries of the users that hash to it (all of a user's
// organizations are in one shard, so invalidating a user locks one shard).
type shard struct {
	mu       sync.RWMutex
	pos, neg ring
	inflight map[cacheKey]*call
	_        [64]byte // keep shards' locks on separate cache lines
}

// Push states of a cache.
const (
	pushOff  int32 = iota // no ChangeNotifier: FallbackTTL
	pushDown              // a notifier, but no healthy subscription: FallbackTTL
	pushUp                // subscribed: CacheTTL
)

// memberCache caches membership lookups (any status, and "not a member"
// briefly) in shards of CLOCK rings bounded by bytes, with one store read
// per key at a time.
//
// Invalidation is safe against a read in flight: the read is registered
// (shard.inflight) before it starts, an invalidation that reaches its key
// marks it stale and unregisters it, and a stale read's result is never
// cached — so a change applied while a read of the old state was in
// flight is never hidden by it.
type memberCache struct {
	seed   maphash.Seed
	shards []shard
	mask   uint64
	base   time.Time
	now    func() time.Time

	ttl      int64 // while push is up
	fallback int64 // otherwise (≤ ttl)
	negTTL   int64 // negative entries (≤ ttl); 0: not cached

	push   atomic.Int32
	lostAt atomic.Int64 // when push last went down (pushDown)
	losses atomic.Uint64
	maxB   int64
}

type cacheConfig struct {
	ttl, fallback, negTTL time.Duration
	maxBytes              int64
	maxEntries            int
	push                  bool
	now                   func() time.Time
}

// shardCount picks a power of two: enough shards for low lock contention
// on many cores, but each shard large enough (64 KiB, 256 entries) that
// per-shard bounds stay close to the total.
func shardCount(maxBytes int64, maxEntries int) int {
	n := 8 * runtime.GOMAXPROCS(0)
	n = max(n, 64)
	n = min(n, 1024)
	n = min(n, int(max(1, maxBytes/(64<<10))))
	if maxEntries > 0 {
		n = min(n, max(1, maxEntries/256))
	}
	return 1 << (bits.Len(uint(n)) - 1)
}

func newMemberCache(cfg cacheConfig) *memberCache {
	n := shardCount(cfg.maxBytes, cfg.maxEntries)
	c := &memberCache{
		seed:     maphash.MakeSeed(),
		shards:   make([]shard, n),
		mask:     uint64(n - 1),
		now:      cfg.now,
		ttl:      int64(cfg.ttl),
		fallback: int64(min(cfg.fallback, cfg.ttl)),
		negTTL:   int64(min(cfg.negTTL, cfg.ttl)),
		maxB:     cfg.maxBytes,
	}
	c.base = c.now()
	if cfg.push {
		c.push.Store(pushDown)
	}
	// Negative entries get a sixteenth of the bytes, so that requests for
	// organizations a user is not in cannot push members out.
	negBytes := cfg.maxBytes / 16
	posBytes := cfg.maxBytes - negBytes
	perEntries := 0
	if cfg.maxEntries > 0 {
		perEntries = (cfg.maxEntries + n - 1) / n
	}
	for i := range c.shards {
		s := &c.shards[i]
		s.pos.init(posBytes/int64(n), perEntries)
		s.neg.init(negBytes/int64(n), perEntries)
		s.inflight = make(map[cacheKey]*call)
	}
	return c
}

func (c *memberCache) nanos() int64 { return int64(c.now().Sub(c.base)) }

func (c *memberCache) shard(user string) *shard {
	return &c.shards[maphash.String(c.seed, user)&c.mask]
}

// fresh reports whether s may be served at now.
func (c *memberCache) fresh(s *slot, now int64) bool {
	if now >= s.expires {
		return false
	}
	if c.push.Load() == pushDown {
		// Cached while push was up (or at the very moment it was lost): it
		// holds only FallbackTTL past the loss. Entries cached while push
		// is down expire FallbackTTL after they were cached anyway.
		if lost := c.lostAt.Load(); s.inserted <= lost {
			return now < lost+c.fallback
		}
	}
	return true
}

// errNegative is what a cached "not a member" answers.
var errNegative = ErrNotMember

// cached returns a fresh entry: a member, or (nil, ErrNotMember, true) for
// a cached negative answer.
func (c *memberCache) cached(sh *shard, k cacheKey, now int64) (*Member, error, bool) {
	if s := sh.pos.get(k); s != nil && c.fresh(s, now) {
		if atomic.LoadUint32(&s.ref) == 0 {
			atomic.StoreUint32(&s.ref, 1)
		}
		return s.mem, nil, true
	}
	if s := sh.neg.get(k); s != nil && c.fresh(s, now) {
		if atomic.LoadUint32(&s.ref) == 0 {
			atomic.StoreUint32(&s.ref, 1)
		}
		return nil, errNegative, true
	}
	return nil, nil, false
}

// readFunc reads a membership from the store: a Member, ErrNotMember (a
// cacheable negative answer), or another error (not cached).
type readFunc func(ctx context.Context, orgID, userID string) (*Member, error)

// lookup returns the cached answer for k, or reads it once for all the
// requests asking for k at the same time. The returned Member is shared.
func (c *memberCache) lookup(ctx context.Context, k cacheKey, read readFunc) (*Member, error) {
	sh := c.shard(k.user)
	for {
		now := c.nanos()
		sh.mu.RLock()
		mem, err, ok := c.cached(sh, k, now)
		sh.mu.RUnlock()
		if ok {
			return mem, err
		}
		sh.mu.Lock()
		if mem, err, ok := c.cached(sh, k, now); ok {
			sh.mu.Unlock()
			return mem, err
		}
		if cl := sh.inflight[k]; cl != nil {
			sh.mu.Unlock()
			cl.waiters.Add(1)
			select {
			case <-cl.done:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			// The reader's own request ended (canceled, timed out): that
			// is no answer for this one; read again.
			if isContextErr(cl.err) && ctx.Err() == nil {
				continue
			}
			return cl.mem, cl.err
		}
		cl := &call{done: make(chan struct{}), up: c.push.Load() == pushUp}
		sh.inflight[k] = cl
		sh.mu.Unlock()
		return c.load(ctx, sh, k, cl, read)
	}
}

var errReadPanicked = errors.New("middleware: membership read panicked")

// load runs the read of cl and publishes (and maybe caches) its answer.
func (c *memberCache) load(ctx context.Context, sh *shard, k cacheKey, cl *call, read readFunc) (mem *Member, err error) {
	finished := false
	defer func() {
		if !finished { // read panicked: release the waiters, cache nothing
			cl.err = errReadPanicked
			sh.mu.Lock()
			if sh.inflight[k] == cl {
				delete(sh.inflight, k)
			}
			sh.mu.Unlock()
			close(cl.done)
		}
	}()
	mem, err = read(ctx, k.org, k.user)
	finished = true
	cl.mem, cl.err = mem, err
	now := c.nanos()
	sh.mu.Lock()
	if sh.inflight[k] == cl {
		delete(sh.inflight, k)
	}
	if !cl.stale {
		ttl := c.fallback
		if cl.up && c.push.Load() == pushUp {
			ttl = c.ttl
		}
		switch {
		case err == nil && mem != nil:
			// The key's strings are the member's own, so the cache does not
			// keep the request's URL or session data alive.
			ck, size := cacheKey{mem.Membership.OrganizationID, mem.User.ID}, memberBytes(mem)
			if ck != k {
				ck = cacheKey{cloneString(k.org), cloneString(k.user)}
				size += strBytes(ck.org, ck.user)
			}
			sh.neg.removeKey(k)
			sh.pos.put(ck, mem, size, now, now+ttl)
		case errors.Is(err, ErrNotMember) && c.negTTL > 0:
			ck := cacheKey{cloneString(k.org), cloneString(k.user)}
			sh.pos.removeKey(k)
			sh.neg.put(ck, nil, negOverhead+strBytes(ck.org, ck.user), now, now+min(ttl, c.negTTL))
		}
	}
	sh.mu.Unlock()
	close(cl.done)
	return mem, err
}

func cloneString(s string) string { return string(append([]byte(nil), s...)) }

func isContextErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// invalidate drops k and keeps a read of k in flight from being cached.
func (c *memberCache) invalidate(k cacheKey) {
	sh := c.shard(k.user)
	sh.mu.Lock()
	sh.pos.removeKey(k)
	sh.neg.removeKey(k)
	if cl := sh.inflight[k]; cl != nil {
		cl.stale = true
		delete(sh.inflight, k)
	}
	sh.mu.Unlock()
}

// invalidateUser drops every entry of user (one shard holds them all).
func (c *memberCache) invalidateUser(user string) {
	sh := c.shard(user)
	sh.mu.Lock()
	sh.pos.removeUser(user)
	sh.neg.removeUser(user)
	for k, cl := range sh.inflight {
		if k.user == user {
			cl.stale = true
			delete(sh.inflight, k)
		}
	}
	sh.mu.Unlock()
}

// invalidateAll drops everything, one shard at a time.
func (c *memberCache) invalidateAll() {
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		sh.pos.reset()
		sh.neg.reset()
		for k, cl := range sh.inflight {
			cl.stale = true
			delete(sh.inflight, k)
		}
		sh.mu.Unlock()
	}
}

// pushLost falls back to FallbackTTL at once: entries cached while push
// was up are served at most FallbackTTL past now.
func (c *memberCache) pushLost() {
	c.losses.Add(1)
	c.lostAt.Store(c.nanos())
	c.push.Store(pushDown)
}

// pushResync drops everything (changes may have been missed) and, unless
// the subscription was lost again since losses was read, trusts push again.
func (c *memberCache) pushResync(losses uint64) {
	c.invalidateAll()
	if c.losses.Load() == losses {
		c.push.CompareAndSwap(pushDown, pushUp)
	}
}

// CacheStats describes the membership cache (Middleware.CacheStats).
type CacheStats struct {
	// Entries and Bytes count the cached members (any status) and the
	// bytes they are estimated to keep alive; NegativeEntries and
	// NegativeBytes the cached "not a member" answers.
	Entries, NegativeEntries int
	Bytes, NegativeBytes     int64
	// MaxBytes is the bound (Config.CacheBytes); Shards the number of
	// independently locked parts.
	MaxBytes int64
	Shards   int
	// Push is "off" (no ChangeNotifier), "down" (not started, or the
	// subscription is lost: entries live FallbackTTL) or "up" (entries
	// live CacheTTL, changes are pushed).
	Push string
}

func (c *memberCache) stats() CacheStats {
	st := CacheStats{MaxBytes: c.maxB, Shards: len(c.shards)}
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.RLock()
		st.Entries += len(sh.pos.index)
		st.Bytes += sh.pos.bytes
		st.NegativeEntries += len(sh.neg.index)
		st.NegativeBytes += sh.neg.bytes
		sh.mu.RUnlock()
	}
	st.Push = [...]string{"off", "down", "up"}[c.push.Load()]
	return st
}
