package middleware

import (
	"sync"
	"time"
)

// MaxCacheTTL is the longest Config.CacheTTL New accepts: the bound on how
// stale a cached membership may be.
const MaxCacheTTL = time.Second

// defaultCacheSize bounds the number of cached (org, user) entries.
const defaultCacheSize = 10_000

type cacheKey struct{ org, user string }

type cacheEntry struct {
	member  *Member
	expires time.Time
}

// memberCache caches successful store lookups (any membership status) for
// at most ttl. A generation counter makes Invalidate safe against a lookup
// that started before it: such a lookup's result is not cached.
type memberCache struct {
	ttl time.Duration
	max int

	mu      sync.RWMutex
	entries map[cacheKey]cacheEntry
	gen     uint64 // bumped by every invalidation
}

func newMemberCache(ttl time.Duration, max int) *memberCache {
	return &memberCache{ttl: ttl, max: max, entries: make(map[cacheKey]cacheEntry)}
}

// get returns a fresh entry, or the generation to pass to put after a miss.
func (c *memberCache) get(k cacheKey, now time.Time) (*Member, bool, uint64) {
	c.mu.RLock()
	e, ok := c.entries[k]
	gen := c.gen
	c.mu.RUnlock()
	if ok && now.Before(e.expires) {
		return e.member, true, gen
	}
	return nil, false, gen
}

// put stores m unless an invalidation happened since gen was read.
func (c *memberCache) put(k cacheKey, m *Member, now time.Time, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	if len(c.entries) >= c.max {
		for key, e := range c.entries {
			if !now.Before(e.expires) {
				delete(c.entries, key)
			}
		}
		if len(c.entries) >= c.max {
			clear(c.entries)
		}
	}
	c.entries[k] = cacheEntry{member: m, expires: now.Add(c.ttl)}
}

func (c *memberCache) invalidate(k cacheKey) {
	c.mu.Lock()
	c.gen++
	delete(c.entries, k)
	c.mu.Unlock()
}

func (c *memberCache) invalidateUser(user string) {
	c.mu.Lock()
	c.gen++
	for k := range c.entries {
		if k.user == user {
			delete(c.entries, k)
		}
	}
	c.mu.Unlock()
}

func (c *memberCache) invalidateAll() {
	c.mu.Lock()
	c.gen++
	clear(c.entries)
	c.mu.Unlock()
}
