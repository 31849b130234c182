package authflow

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func testLazy(clk *fakeClock, discover func(context.Context) (*remote, error)) *lazyRemote {
	return &lazyRemote{discover: discover, now: clk.now, timeout: time.Minute, log: slog.New(slog.DiscardHandler)}
}

func TestBackoff(t *testing.T) {
	for _, tt := range []struct {
		n    int
		want time.Duration
	}{
		{0, time.Second}, {1, time.Second}, {2, 2 * time.Second}, {3, 4 * time.Second}, {4, 8 * time.Second},
		{5, 16 * time.Second}, {6, 30 * time.Second}, {7, 30 * time.Second}, {1 << 30, 30 * time.Second},
	} {
		if got := backoff(tt.n); got != tt.want {
			t.Errorf("backoff(%d) = %v, want %v", tt.n, got, tt.want)
		}
	}
}

func TestRetryAfterHeader(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{
		{0, "1"}, {time.Millisecond, "1"}, {time.Second, "1"}, {time.Second + time.Millisecond, "2"}, {30 * time.Second, "30"},
	} {
		if got := (&unavailableError{retryAfter: tt.d}).retryAfterHeader(); got != tt.want {
			t.Errorf("Retry-After for %v = %q, want %q", tt.d, got, tt.want)
		}
	}
}

// TestLazyRemoteBackoff: after each failure nothing is attempted until the
// delay (1 s doubling, capped at 30 s) has passed; callers meanwhile get
// ErrProviderUnavailable with the time left; once discovered, the result
// is kept for good.
func TestLazyRemoteBackoff(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1e9, 0)}
	refused := errors.New("dial tcp: connection refused")
	var calls atomic.Int64
	var up atomic.Bool
	want := &remote{}
	l := testLazy(clk, func(context.Context) (*remote, error) {
		calls.Add(1)
		if up.Load() {
			return want, nil
		}
		return nil, refused
	})
	ctx := context.Background()
	retryAfter := func(err error) time.Duration {
		t.Helper()
		var ue *unavailableError
		if !errors.As(err, &ue) || !errors.Is(err, ErrProviderUnavailable) || !errors.Is(err, refused) {
			t.Fatalf("err = %v, want an unavailableError caused by %v", err, refused)
		}
		return ue.retryAfter
	}
	for i, delay := range []time.Duration{1, 2, 4, 8, 16, 30, 30} {
		delay *= time.Second
		_, err := l.get(ctx)
		if got := retryAfter(err); got != delay || calls.Load() != int64(i+1) {
			t.Fatalf("failure %d: retry after %v (want %v), %d attempts", i+1, got, delay, calls.Load())
		}
		clk.add(delay - time.Millisecond)
		for range 3 {
			_, err = l.get(ctx)
			if got := retryAfter(err); got != time.Millisecond || calls.Load() != int64(i+1) {
				t.Fatalf("during backoff %d: retry after %v, %d attempts", i+1, got, calls.Load())
			}
		}
		clk.add(time.Millisecond)
	}
	up.Store(true)
	for range 3 {
		got, err := l.get(ctx)
		if err != nil || got != want || calls.Load() != 8 {
			t.Fatalf("after recovery: %v %v, %d attempts", got, err, calls.Load())
		}
		clk.add(time.Hour)
	}
}

// TestLazyRemoteSharesAttempt: callers arriving while an attempt runs
// wait for it and get its result; only one discovery is made.
func TestLazyRemoteSharesAttempt(t *testing.T) {
	gate := make(chan struct{})
	var calls atomic.Int64
	var released atomic.Bool
	want := &remote{}
	l := testLazy(&fakeClock{}, func(ctx context.Context) (*remote, error) {
		calls.Add(1)
		<-gate
		return want, nil
	})
	const n = 20
	var started, done sync.WaitGroup
	started.Add(n)
	for range n {
		done.Go(func() {
			started.Done()
			got, err := l.get(context.Background())
			if err != nil || got != want {
				t.Errorf("get: %v %v", got, err)
			}
			if !released.Load() {
				t.Error("get returned before the shared attempt finished")
			}
		})
	}
	started.Wait()
	time.Sleep(20 * time.Millisecond) // let them reach the wait
	released.Store(true)
	close(gate)
	done.Wait()
	if calls.Load() != 1 {
		t.Fatalf("%d discovery attempts, want 1", calls.Load())
	}
}

// TestLazyRemoteCallerGivesUp: a caller whose ctx ends stops waiting; the
// attempt is not cancelled with it (its own ctx has the attempt timeout)
// and serves the callers behind.
func TestLazyRemoteCallerGivesUp(t *testing.T) {
	gate := make(chan struct{})
	attemptErr := make(chan error, 8) // room for attempts that should not happen
	want := &remote{}
	var calls atomic.Int64
	l := testLazy(&fakeClock{}, func(ctx context.Context) (*remote, error) {
		calls.Add(1)
		if dl, ok := ctx.Deadline(); !ok || time.Until(dl) > time.Minute {
			t.Errorf("attempt ctx deadline %v %v, want within the attempt timeout", dl, ok)
		}
		<-gate
		attemptErr <- ctx.Err()
		return want, nil
	})
	var once sync.Once
	open := func() { once.Do(func() { close(gate) }) }
	defer time.AfterFunc(5*time.Second, open).Stop() // if get ignores its ctx
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	_, err := l.get(ctx)
	if !errors.Is(err, context.Canceled) || !errors.Is(err, ErrProviderUnavailable) {
		t.Fatalf("get with a cancelled ctx: %v", err)
	}
	next := make(chan error, 1)
	go func() {
		got, err := l.get(context.Background())
		if err == nil && got != want {
			err = errors.New("wrong remote")
		}
		next <- err
	}()
	open()
	if err := <-next; err != nil {
		t.Fatalf("get behind the attempt: %v", err)
	}
	if err := <-attemptErr; err != nil {
		t.Fatalf("the attempt was cancelled with its first caller: %v", err)
	}
	if calls.Load() != 1 {
		t.Fatalf("%d attempts, want 1", calls.Load())
	}
}

// TestLazyDiscovery: discovery reads the document once, sets the
// endpoints from it, and leaves the signing keys for later.
func TestLazyDiscovery(t *testing.T) {
	srv := newDocServer(t, "https://idp.example/end")
	cfg, err := Config{Issuer: srv.URL, ClientID: "app", RedirectURL: "https://app.example/cb"}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	l := newLazyRemote(cfg)
	if srv.docHits.Load() != 0 {
		t.Fatal("discovered before first use")
	}
	for range 3 {
		rem, err := l.get(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if rem.oauth.Endpoint.AuthURL != srv.URL+"/auth" || rem.oauth.Endpoint.TokenURL != srv.URL+"/token" || rem.endSess != "https://idp.example/end" {
			t.Fatalf("remote %+v", rem)
		}
	}
	if srv.docHits.Load() != 1 || srv.keyHits.Load() != 0 {
		t.Fatalf("%d document and %d key requests, want 1 and 0", srv.docHits.Load(), srv.keyHits.Load())
	}
	cfg.EndSessionEndpoint = "https://override.example/end"
	if rem := newRemote(cfg, l.val.provider); rem.endSess != "https://override.example/end" {
		t.Fatalf("EndSessionEndpoint not preferred: %q", rem.endSess)
	}
}

// TestKeysUnreachable: an ID token that cannot be checked because the
// provider's keys cannot be fetched is a provider outage (503), not a bad
// signature.
func TestKeysUnreachable(t *testing.T) {
	srv := newDocServer(t, "")
	cfg, err := Config{Issuer: srv.URL, ClientID: "app", RedirectURL: "https://app.example/cb"}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	rem, err := newLazyRemote(cfg).get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithHeader("kid", "k1"))
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(map[string]any{"iss": srv.URL, "aud": "app", "sub": "s", "exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix()})
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := jws.CompactSerialize()
	_, err = rem.verifier.Verify(context.Background(), raw)
	if err == nil {
		t.Fatal("verified without keys")
	}
	e := idTokenError(err)
	if e.Status != http.StatusServiceUnavailable || e.Code != CodeProviderUnavailable || !errors.Is(e, ErrProviderUnavailable) {
		t.Fatalf("keys endpoint down: %d %s (%v)", e.Status, e.Code, err)
	}
	if srv.keyHits.Load() != 1 {
		t.Fatalf("%d key requests", srv.keyHits.Load())
	}
}
