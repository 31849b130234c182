package authflow

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/invitekit/invitekit/internal/httpx"
	"golang.org/x/oauth2"
)

// Discovery timing (see Config.Issuer).
const (
	discoveryTimeout = 15 * time.Second // one attempt
	retryMin         = time.Second      // wait after the first failure
	retryMax         = 30 * time.Second // longest wait between attempts
)

// remote is what the flow needs from the provider's metadata.
type remote struct {
	provider *oidc.Provider
	oauth    oauth2.Config
	verifier *oidc.IDTokenVerifier
	endSess  string // end_session_endpoint, "" if none
}

// newRemote builds the OAuth 2.0 client and ID token verifier for p. It
// does no I/O: go-oidc fetches the signing keys when it first verifies a
// token (and again for a key id it does not know).
func newRemote(cfg Config, p *oidc.Provider) *remote {
	var meta struct {
		EndSessionEndpoint string `json:"end_session_endpoint"`
	}
	_ = p.Claims(&meta) // none for a Provider built from oidc.ProviderConfig
	if cfg.EndSessionEndpoint != "" {
		meta.EndSessionEndpoint = cfg.EndSessionEndpoint
	}
	return &remote{
		provider: p,
		oauth: oauth2.Config{
			ClientID:     cfg.ClientID,
			ClientSecret: cfg.ClientSecret,
			Endpoint:     p.Endpoint(),
			RedirectURL:  cfg.RedirectURL,
			Scopes:       cfg.Scopes,
		},
		verifier: p.Verifier(&oidc.Config{ClientID: cfg.ClientID, Now: cfg.Now}),
		endSess:  meta.EndSessionEndpoint,
	}
}

// newLazyRemote returns cfg.Provider's remote, or one discovered from
// cfg.Issuer on first use.
func newLazyRemote(cfg Config) *lazyRemote {
	if cfg.Provider != nil {
		return &lazyRemote{val: newRemote(cfg, cfg.Provider)}
	}
	return &lazyRemote{
		discover: func(ctx context.Context) (*remote, error) {
			p, err := oidc.NewProvider(oidc.ClientContext(ctx, cfg.HTTPClient), cfg.Issuer)
			if err != nil {
				return nil, fmt.Errorf("authflow: discover provider %q: %w", cfg.Issuer, err)
			}
			return newRemote(cfg, p), nil
		},
		now:     time.Now,
		timeout: discoveryTimeout,
		log:     cfg.Logger,
	}
}

// lazyRemote discovers the provider on first use and keeps the result.
// Callers arriving while an attempt runs share it; after a failure no
// attempt starts before backoff(failures) has passed, and callers get
// ErrProviderUnavailable at once meanwhile.
type lazyRemote struct {
	discover func(context.Context) (*remote, error)
	now      func() time.Time
	timeout  time.Duration
	log      *slog.Logger

	mu       sync.Mutex
	val      *remote  // set once discovered
	inflight *attempt // the attempt running, if any
	failures int      // consecutive failed attempts
	lastErr  error    // why the last attempt failed
	next     time.Time
}

type attempt struct {
	done chan struct{} // closed when val or err is set
	val  *remote
	err  error
}

// get returns the provider's remote, discovering it if need be. The
// attempt is detached from ctx (others may be waiting for it); ctx only
// bounds how long this caller waits.
func (l *lazyRemote) get(ctx context.Context) (*remote, error) {
	l.mu.Lock()
	if l.val != nil {
		defer l.mu.Unlock()
		return l.val, nil
	}
	a := l.inflight
	if a == nil {
		if wait := l.next.Sub(l.now()); wait > 0 {
			defer l.mu.Unlock()
			return nil, &unavailableError{cause: l.lastErr, retryAfter: wait}
		}
		a = &attempt{done: make(chan struct{})}
		l.inflight = a
		go l.run(a)
	}
	l.mu.Unlock()
	select {
	case <-a.done:
		return a.val, a.err
	case <-ctx.Done():
		return nil, &unavailableError{cause: ctx.Err(), retryAfter: retryMin}
	}
}

// run makes one discovery attempt and records its outcome.
func (l *lazyRemote) run(a *attempt) {
	ctx, cancel := context.WithTimeout(context.Background(), l.timeout)
	defer cancel()
	val, err := l.discover(ctx)

	l.mu.Lock()
	defer l.mu.Unlock()
	defer close(a.done)
	l.inflight = nil
	if err != nil {
		l.failures++
		delay := backoff(l.failures)
		l.next, l.lastErr = l.now().Add(delay), err
		a.err = &unavailableError{cause: err, retryAfter: delay}
		l.log.Warn("authflow: identity provider unavailable; sign-in answers 503 until it is back",
			"failures", l.failures, "retry_in", delay, "err", err)
		return
	}
	if l.failures > 0 {
		l.log.Info("authflow: identity provider reachable again", "failures", l.failures)
	}
	l.val, a.val = val, val
	l.failures, l.lastErr = 0, nil
}

// backoff is the wait after the n-th consecutive failure: retryMin,
// doubling, capped at retryMax.
func backoff(n int) time.Duration {
	d := retryMin
	for i := 1; i < n && d < retryMax; i++ {
		d *= 2
	}
	return min(d, retryMax)
}

// unavailableError is why the provider's metadata is not known yet. It
// matches ErrProviderUnavailable and its cause.
type unavailableError struct {
	cause      error
	retryAfter time.Duration
}

func (e *unavailableError) Error() string {
	return "authflow: identity provider unavailable: " + errString(e.cause)
}

func (e *unavailableError) Unwrap() []error { return []error{ErrProviderUnavailable, e.cause} }

// retryAfterHeader is the Retry-After value: whole seconds, at least 1.
func (e *unavailableError) retryAfterHeader() string {
	s := (e.retryAfter + time.Second - 1) / time.Second
	return strconv.FormatInt(int64(max(s, 1)), 10)
}

// remoteOrPage returns the provider's remote, or a 503 page (code
// provider_unavailable) when it is not reachable.
func (f *Flow) remoteOrPage(ctx context.Context) (*remote, error) {
	rem, err := f.remote.get(ctx)
	if err != nil {
		return nil, pageError(httpx.ErrProviderUnavailable, "",
			"The sign-in service (identity provider) cannot be reached right now, so signing in is not possible at the moment. Please try again in a minute.", err)
	}
	return rem, nil
}
