package ratelimit

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// clock is a fake clock for the limiters.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func mustLimit(t *testing.T, l, def Limit) Limit {
	t.Helper()
	l, err := l.WithDefault(def)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestKeyedBurstThenRefuseThenRecover(t *testing.T) {
	c := newClock()
	k := NewKeyed(mustLimit(t, Limit{Events: 6, Per: time.Minute, Burst: 3}, Limit{}), 0, c.Now)
	for i := range 3 {
		if ok, _ := k.Allow("a"); !ok {
			t.Fatalf("event %d of the burst refused", i+1)
		}
	}
	ok, after := k.Allow("a")
	if ok || after != 10*time.Second {
		t.Fatalf("4th event: ok=%v retryAfter=%v, want refused, 10s (6 a minute)", ok, after)
	}
	// A refusal takes nothing: the wait does not grow.
	if _, again := k.Allow("a"); again != after {
		t.Fatalf("retryAfter after a second refusal = %v, want %v", again, after)
	}
	if ok, _ := k.Allow("b"); !ok {
		t.Fatal("another key was refused")
	}
	c.Advance(after)
	if ok, _ := k.Allow("a"); !ok {
		t.Fatal("refused after the wait it named")
	}
	if ok, _ := k.Allow("a"); ok {
		t.Fatal("allowed a second event after one refill interval")
	}
}

func TestKeyedOffAndNil(t *testing.T) {
	var k *Keyed
	if ok, _ := k.Allow("x"); !ok || k.Len() != 0 {
		t.Fatal("a nil Keyed refused")
	}
	if NewKeyed(Limit{Off: true}, 0, nil) != nil {
		t.Fatal("an Off limit built a limiter")
	}
}

// The keys remembered stay bounded under 100,000 distinct keys, and a key
// in steady use is not forgotten among them.
func TestKeyedMemoryBounded(t *testing.T) {
	c := newClock()
	k := NewKeyed(mustLimit(t, Limit{}, DefaultSignInPerClient), 0, c.Now)
	for range 9 {
		k.Allow("hot")
	}
	for i := range 100_000 {
		k.Allow(fmt.Sprintf("client-%d", i))
		if i%1000 == 0 {
			k.Allow("hot") // still in use: must keep its (nearly empty) bucket
		}
		if n := k.Len(); n > DefaultMaxKeys {
			t.Fatalf("after %d keys the limiter remembers %d, more than %d", i+1, n, DefaultMaxKeys)
		}
	}
	if n := k.Len(); n < DefaultMaxKeys/2 {
		t.Fatalf("remembers %d keys, want the newest (at least %d)", n, DefaultMaxKeys/2)
	}
	if ok, _ := k.Allow("hot"); ok {
		t.Fatal("the hot key's bucket was forgotten among the flood (it got a fresh burst)")
	}

	small := NewKeyed(mustLimit(t, Limit{}, DefaultSignInPerClient), 100, c.Now)
	for i := range 100_000 {
		small.Allow(fmt.Sprint(i))
	}
	if n := small.Len(); n > 100 {
		t.Fatalf("MaxKeys 100: remembers %d keys", n)
	}
}

// Idle keys are forgotten once their buckets are full again.
func TestKeyedForgetsIdleKeys(t *testing.T) {
	c := newClock()
	l := mustLimit(t, Limit{Events: 60, Per: time.Minute, Burst: 10}, Limit{}) // refills in 10 s
	k := NewKeyed(l, 0, c.Now)
	for i := range 50 {
		k.Allow(fmt.Sprint(i))
	}
	if k.Len() != 50 {
		t.Fatalf("Len = %d, want 50", k.Len())
	}
	c.Advance(20 * time.Second)
	k.Allow("new")
	if n := k.Len(); n != 1 {
		t.Fatalf("after two refill times idle: Len = %d, want 1", n)
	}
}

func TestWithDefault(t *testing.T) {
	def := Limit{Events: 60, Per: time.Minute, Burst: 20}
	tests := []struct {
		in, want Limit
		bad      bool
	}{
		{Limit{}, def, false},
		{Limit{Events: 5}, Limit{Events: 5, Per: time.Minute, Burst: 20}, false},
		{Limit{Events: 5, Per: time.Second, Burst: 1}, Limit{Events: 5, Per: time.Second, Burst: 1}, false},
		{Limit{Events: 5, Off: true}, Limit{Off: true}, false},
		{Limit{Events: -1}, Limit{}, true},
		{Limit{Burst: -1}, Limit{}, true},
	}
	for _, tt := range tests {
		got, err := tt.in.WithDefault(def)
		if (err != nil) != tt.bad || (!tt.bad && got != tt.want) {
			t.Errorf("%+v.WithDefault = %+v, %v; want %+v (error %v)", tt.in, got, err, tt.want, tt.bad)
		}
	}
	if _, err := (Limit{}).WithDefault(Limit{}); err == nil {
		t.Error("a zero limit with a zero default was accepted")
	}
}

func TestInvitesPerOrgPerActorResend(t *testing.T) {
	c := newClock()
	in, err := NewInvites(InviteLimits{}, c.Now)
	if err != nil {
		t.Fatal(err)
	}
	// Per actor: 10 at once, across organizations.
	for i := range 10 {
		if ok, _ := in.Invite(fmt.Sprintf("org_%d", i), "ann"); !ok {
			t.Fatalf("ann's invite %d refused", i+1)
		}
	}
	if ok, after := in.Invite("org_x", "ann"); ok || after != 2*time.Second {
		t.Fatalf("ann's 11th invite: %v, %v; want refused, 2s (30 a minute)", ok, after)
	}
	// Ann's refusal took nothing from org_x: it still has its 20.
	for i := range 20 {
		if ok, _ := in.Invite("org_x", fmt.Sprint("admin", i)); !ok {
			t.Fatalf("org_x invite %d refused", i+1)
		}
	}
	if ok, after := in.Invite("org_x", "bob"); ok || after != time.Second {
		t.Fatalf("org_x's 21st invite: %v, %v; want refused, 1s (60 a minute)", ok, after)
	}
	// An organization refusing takes nothing from the actor either.
	if ok, _ := in.Invite("org_y", "bob"); !ok {
		t.Fatal("bob refused in another organization")
	}
	// No actor: per organization only.
	if ok, _ := in.Invite("org_z", ""); !ok {
		t.Fatal("an invite without an actor was refused")
	}
	// Resends: 3 per invitation, then one every 20 minutes.
	for i := range 3 {
		if ok, _ := in.Resend("org_r", fmt.Sprint("admin", i), "u1"); !ok {
			t.Fatalf("resend %d refused", i+1)
		}
	}
	ok, after := in.Resend("org_r", "admin9", "u1")
	if ok || after != 20*time.Minute {
		t.Fatalf("4th resend: %v, %v; want refused, 20m", ok, after)
	}
	if ok, _ := in.Resend("org_r", "admin9", "u2"); !ok {
		t.Fatal("another invitation's resend refused")
	}
	c.Advance(after)
	if ok, _ := in.Resend("org_r", "admin9", "u1"); !ok {
		t.Fatal("resend refused after the wait")
	}

	var none *Invites
	if ok, _ := none.Invite("o", "a"); !ok {
		t.Fatal("nil Invites refused")
	}
	off, err := NewInvites(InviteLimits{PerOrg: Limit{Off: true}, PerActor: Limit{Off: true}}, c.Now)
	if err != nil {
		t.Fatal(err)
	}
	for range 100 {
		if ok, _ := off.Invite("o", "a"); !ok {
			t.Fatal("limits turned off refused")
		}
	}
	if _, err := NewInvites(InviteLimits{PerOrg: Limit{Events: -1}}, nil); err == nil {
		t.Fatal("a negative limit was accepted")
	}
}

func TestSignInRoutesAndClientKey(t *testing.T) {
	c := newClock()
	s, err := NewSignIn(SignInLimits{PerClient: Limit{Burst: 2}}, c.Now)
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/login", nil)
	r.RemoteAddr = "198.51.100.7:4444"
	for range 2 {
		if ok, _ := s.Allow(RouteLogin, r); !ok {
			t.Fatal("login refused within the burst")
		}
	}
	if ok, after := s.Allow(RouteLogin, r); ok || after != 3*time.Second {
		t.Fatalf("3rd login: %v, %v; want refused, 3s (20 a minute)", ok, after)
	}
	if ok, _ := s.Allow(RouteCallback, r); !ok {
		t.Fatal("the callback shares the login's budget")
	}
	r.RemoteAddr = "198.51.100.7:5555" // another port, same client
	if ok, _ := s.Allow(RouteLogin, r); ok {
		t.Fatal("a new port got a fresh budget")
	}
	r.RemoteAddr = "198.51.100.8:4444"
	if ok, _ := s.Allow(RouteLogin, r); !ok {
		t.Fatal("another client refused")
	}

	byHeader, err := NewSignIn(SignInLimits{PerClient: Limit{Burst: 1}, ClientKey: func(r *http.Request) string {
		return r.Header.Get("X-Client")
	}}, c.Now)
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("X-Client", "one")
	if ok, _ := byHeader.Allow(RouteAccept, r); !ok {
		t.Fatal("first request refused")
	}
	if ok, _ := byHeader.Allow(RouteAccept, r); ok {
		t.Fatal("the client key was not used (second request of client one allowed)")
	}
	r.Header.Set("X-Client", "two") // same RemoteAddr, another client by the key
	if ok, _ := byHeader.Allow(RouteAccept, r); !ok {
		t.Fatal("the client key was not used (client two refused)")
	}
}

func TestRemoteAddr(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.1:1234":             "192.0.2.1",
		"[2001:db8:1:2:3:4:5:6]:443": "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff::1]:443": "2001:db8:1:2::/64",
		"[::ffff:192.0.2.9]:80":      "192.0.2.9",
		"[fe80::1%eth0]:80":          "fe80::/64",
		"192.0.2.3":                  "192.0.2.3",
		"@":                          "@",
		"":                           "",
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = in
		if got := RemoteAddr(r); got != want {
			t.Errorf("RemoteAddr(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestKeyedConcurrent(t *testing.T) {
	l := mustLimit(t, Limit{Events: 1, Per: time.Hour, Burst: 50}, Limit{})
	many, one := NewKeyed(l, 64, nil), NewKeyed(l, 0, nil)
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed := 0
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				many.Allow(fmt.Sprint(g, "-", i%40))
				if ok, _ := one.Allow("shared"); ok {
					mu.Lock()
					allowed++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if n := many.Len(); n > 64 {
		t.Fatalf("Len = %d > 64", n)
	}
	if allowed != 50 {
		t.Fatalf("1,600 concurrent requests on one key: %d allowed, want the burst of 50", allowed)
	}
}
