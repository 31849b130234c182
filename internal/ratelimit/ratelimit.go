// Package ratelimit holds the kit's rate limits: a keyed token-bucket
// limiter (golang.org/x/time/rate) whose memory stays bounded however many
// distinct keys it sees, and the two bundles the handlers use — invitation
// limits (per organization, per actor, resends per invitation) for
// invite/inviteapi and invite/teampage, and sign-in limits (per client)
// for authflow.
//
// It imports only the standard library and golang.org/x/time/rate; the
// handlers turn a refusal into 429 rate_limited with Retry-After.
package ratelimit

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// DefaultMaxKeys is how many keys one limiter remembers at most.
const DefaultMaxKeys = 10_000

// Limit is one rate limit: Events per Per, in bursts of at most Burst.
// A zero field takes the value of the limit's default (so the zero Limit
// is the default); Off turns the limit off.
type Limit struct {
	Events int
	Per    time.Duration
	Burst  int
	Off    bool
}

// String renders l as "20/1m0s (burst 10)" or "off".
func (l Limit) String() string {
	if l.Off {
		return "off"
	}
	return fmt.Sprintf("%d/%s (burst %d)", l.Events, l.Per, l.Burst)
}

// WithDefault fills l's zero fields from def and checks the result.
func (l Limit) WithDefault(def Limit) (Limit, error) {
	if l.Events < 0 || l.Per < 0 || l.Burst < 0 {
		return l, errors.New("Events, Per and Burst must not be negative")
	}
	if l.Off {
		return Limit{Off: true}, nil
	}
	if l.Events == 0 {
		l.Events = def.Events
	}
	if l.Per == 0 {
		l.Per = def.Per
	}
	if l.Burst == 0 {
		l.Burst = def.Burst
	}
	if l.Events <= 0 || l.Per <= 0 || l.Burst <= 0 {
		return l, errors.New("Events, Per and Burst must be positive")
	}
	return l, nil
}

// rate is l as a rate.Limit (events per second).
func (l Limit) rate() rate.Limit {
	return rate.Limit(float64(l.Events) / l.Per.Seconds())
}

// Keyed is a token-bucket limiter per key (an organization, a user, a
// client address). Its memory is bounded: it keeps two generations of
// keys, each of at most MaxKeys/2. A key seen in the current generation
// stays; one seen only in the old generation moves to the current one on
// use; when the current generation is full, or when a full refill time
// (Burst/rate) has passed since the last turn, the old one is dropped and
// the current one becomes old. So a key idle for two refill times is
// forgotten (its bucket would be full again anyway: nothing is lost), and
// under a flood of distinct keys the least recently used are forgotten
// first. A nil *Keyed allows everything. Safe for concurrent use.
type Keyed struct {
	limit  rate.Limit
	burst  int
	now    func() time.Time
	gen    int           // keys per generation
	period time.Duration // a full refill

	mu      sync.Mutex
	cur     map[string]*rate.Limiter
	old     map[string]*rate.Limiter
	rotated time.Time
}

// NewKeyed returns a limiter applying l (already defaulted, see
// Limit.WithDefault) per key, remembering at most maxKeys keys (0 means
// DefaultMaxKeys; at least 2), with the clock now (nil: time.Now). An Off
// limit returns nil, which allows everything.
func NewKeyed(l Limit, maxKeys int, now func() time.Time) *Keyed {
	if l.Off {
		return nil
	}
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	if now == nil {
		now = time.Now
	}
	k := &Keyed{
		limit: l.rate(),
		burst: l.Burst,
		now:   now,
		gen:   max(1, maxKeys/2),
		cur:   map[string]*rate.Limiter{},
		old:   map[string]*rate.Limiter{},
	}
	k.period = time.Duration(float64(l.Burst) / float64(k.limit) * float64(time.Second))
	k.rotated = now()
	return k
}

// Allow takes one event for key. When the key's bucket is empty it takes
// nothing and returns false with the time until an event would be allowed.
func (k *Keyed) Allow(key string) (ok bool, retryAfter time.Duration) {
	if k == nil {
		return true, 0
	}
	now := k.now()
	r := k.reserve(key, now)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// Len is the number of keys remembered (for tests and metrics).
func (k *Keyed) Len() int {
	if k == nil {
		return 0
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.cur) + len(k.old)
}

// reserve reserves one event of key's bucket at now.
func (k *Keyed) reserve(key string, now time.Time) *rate.Reservation {
	return k.limiter(key, now).ReserveN(now, 1)
}

// limiter returns key's bucket, creating or promoting it.
func (k *Keyed) limiter(key string, now time.Time) *rate.Limiter {
	k.mu.Lock()
	defer k.mu.Unlock()
	if since := now.Sub(k.rotated); since >= 2*k.period {
		clear(k.cur) // both generations are idle: every bucket is full again
		clear(k.old)
		k.rotated = now
	} else if since >= k.period {
		k.rotate(now)
	}
	if lim, ok := k.cur[key]; ok {
		return lim
	}
	lim, ok := k.old[key]
	if ok {
		delete(k.old, key)
	} else {
		lim = rate.NewLimiter(k.limit, k.burst)
	}
	if len(k.cur) >= k.gen {
		k.rotate(now)
	}
	k.cur[key] = lim
	return lim
}

// rotate drops the old generation and makes the current one old.
func (k *Keyed) rotate(now time.Time) {
	k.old, k.cur = k.cur, k.old
	clear(k.cur)
	k.rotated = now
}

// takeAll takes one event from each (limiter, key) pair, or none: when a
// bucket is empty, the events already reserved are given back and the
// longest wait is returned. Nil limiters and empty keys are skipped.
func takeAll(now time.Time, pairs ...keyOf) (ok bool, retryAfter time.Duration) {
	var taken []*rate.Reservation
	var wait time.Duration
	for _, p := range pairs {
		if p.k == nil || p.key == "" {
			continue
		}
		r := p.k.reserve(p.key, now)
		taken = append(taken, r)
		wait = max(wait, r.DelayFrom(now))
	}
	if wait == 0 {
		return true, 0
	}
	for i := len(taken) - 1; i >= 0; i-- {
		taken[i].CancelAt(now)
	}
	if wait == rate.InfDuration {
		wait = time.Duration(math.MaxInt64)
	}
	return false, wait
}

type keyOf struct {
	k   *Keyed
	key string
}
