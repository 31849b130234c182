package middleware

import (
	"testing"
	"time"
)

func TestCacheInvalidateDuringLookupIsNotCached(t *testing.T) {
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	c := newMemberCache(time.Second, 10)
	k := cacheKey{"org_a", "usr_a"}
	_, ok, gen := c.get(k, now) // a request misses and starts reading the store
	if ok {
		t.Fatal("hit in empty cache")
	}
	c.invalidate(k) // meanwhile the membership changes
	c.put(k, &Member{}, now, gen)
	if _, ok, _ := c.get(k, now); ok {
		t.Fatal("a lookup that raced an invalidation was cached")
	}
	_, _, gen = c.get(k, now)
	c.put(k, &Member{}, now, gen)
	if _, ok, _ := c.get(k, now.Add(999*time.Millisecond)); !ok {
		t.Fatal("fresh entry missed")
	}
	if _, ok, _ := c.get(k, now.Add(time.Second)); ok {
		t.Fatal("entry served at its TTL")
	}
}

func TestCacheInvalidateScopes(t *testing.T) {
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	c := newMemberCache(time.Second, 100)
	keys := []cacheKey{{"o1", "u1"}, {"o2", "u1"}, {"o1", "u2"}}
	fill := func() {
		for _, k := range keys {
			_, _, g := c.get(k, now)
			c.put(k, &Member{}, now, g)
		}
	}
	has := func(k cacheKey) bool { _, ok, _ := c.get(k, now); return ok }
	fill()
	c.invalidate(keys[0])
	if has(keys[0]) || !has(keys[1]) || !has(keys[2]) {
		t.Fatal("invalidate(o1,u1) scope wrong")
	}
	fill()
	c.invalidateUser("u1")
	if has(keys[0]) || has(keys[1]) || !has(keys[2]) {
		t.Fatal("invalidateUser(u1) scope wrong")
	}
	fill()
	c.invalidateAll()
	for _, k := range keys {
		if has(k) {
			t.Fatal("invalidateAll left", k)
		}
	}
}

func TestCacheSizeBound(t *testing.T) {
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	c := newMemberCache(time.Second, 3)
	for i := range 10 {
		k := cacheKey{"o", string(rune('a' + i))}
		_, _, g := c.get(k, now)
		c.put(k, &Member{}, now, g)
		if n := len(c.entries); n > 3 {
			t.Fatalf("cache holds %d entries, bound 3", n)
		}
	}
	// When full, expired entries are swept first (not everything cleared).
	clear(c.entries)
	for _, u := range []string{"x", "y"} {
		k := cacheKey{"o", u}
		_, _, g := c.get(k, now)
		c.put(k, &Member{}, now, g)
	}
	k0 := cacheKey{"o", "z"}
	_, _, g0 := c.get(k0, now.Add(1500*time.Millisecond))
	c.put(k0, &Member{}, now.Add(1500*time.Millisecond), g0) // fresh at "later"
	later := now.Add(2 * time.Second)
	k := cacheKey{"o", "new"}
	_, _, g := c.get(k, later)
	c.put(k, &Member{}, later, g)
	if _, ok, _ := c.get(k0, later); len(c.entries) != 2 || !ok {
		t.Fatalf("want the 2 expired entries swept and the fresh one kept: %d entries", len(c.entries))
	}
}
