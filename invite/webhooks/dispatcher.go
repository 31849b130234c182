package webhooks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/invitekit/invitekit/store"
)

// DispatcherConfig tunes a Dispatcher; zero values are the defaults.
type DispatcherConfig struct {
	// Timeout bounds one POST (default 10 s).
	Timeout time.Duration
	// MaxAttempts is the attempts before a delivery is a dead letter
	// (default 8: about 1 + 2 + 4 … minutes, some 4 hours in all).
	MaxAttempts int
	// BaseBackoff is the wait after the first failure (default 30 s);
	// each later one doubles, up to MaxBackoff (default 2 h), with full
	// jitter in [d/2, d).
	BaseBackoff, MaxBackoff time.Duration
	// Lease is how long a claimed delivery is invisible to other
	// dispatchers (default Timeout + 30 s).
	Lease time.Duration
	// Batch is the deliveries claimed at once (default 100); Workers the
	// organizations delivered to at once (default 8).
	Batch, Workers int
	// Poll is the wait between empty claims (default 1 s).
	Poll time.Duration
	// SweepEvery is how often expired invitations are noticed (default 1 min).
	SweepEvery time.Duration
	// MaxResponseBytes caps the response body read (default 64 KiB).
	MaxResponseBytes int64
	// Transport, when set, replaces the guarded transport (tests of
	// the guard leave it nil).
	Transport http.RoundTripper
	Logger    *slog.Logger
}

func (c DispatcherConfig) withDefaults() DispatcherConfig {
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 8
	}
	if c.BaseBackoff <= 0 {
		c.BaseBackoff = 30 * time.Second
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = 2 * time.Hour
	}
	if c.Lease <= 0 {
		c.Lease = c.Timeout + 30*time.Second
	}
	if c.Batch <= 0 {
		c.Batch = 100
	}
	if c.Workers <= 0 {
		c.Workers = 8
	}
	if c.Poll <= 0 {
		c.Poll = time.Second
	}
	if c.SweepEvery <= 0 {
		c.SweepEvery = time.Minute
	}
	if c.MaxResponseBytes <= 0 {
		c.MaxResponseBytes = 64 << 10
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Dispatcher delivers due webhook deliveries. Many may run at once, in
// one process or many: each delivery is claimed under a lease.
type Dispatcher struct {
	svc    *Service
	cfg    DispatcherConfig
	client *http.Client
}

// NewDispatcher returns a Dispatcher for svc's store.
func NewDispatcher(svc *Service, cfg DispatcherConfig) *Dispatcher {
	cfg = cfg.withDefaults()
	rt := cfg.Transport
	if rt == nil {
		dialer := &net.Dialer{Timeout: cfg.Timeout}
		if !svc.cfg.InsecureAllowPrivate {
			dialer.Control = dialControl // checks the resolved IP of every dial
		}
		rt = &http.Transport{
			DialContext: dialer.DialContext, Proxy: nil, ForceAttemptHTTP2: true,
			TLSHandshakeTimeout: cfg.Timeout, ResponseHeaderTimeout: cfg.Timeout, MaxIdleConnsPerHost: 4,
		}
	}
	return &Dispatcher{svc: svc, cfg: cfg, client: &http.Client{
		Transport: rt, Timeout: cfg.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }, // never follow
	}}
}

// Run delivers until ctx ends, and notices expired invitations every
// SweepEvery. It returns ctx's error.
func (d *Dispatcher) Run(ctx context.Context) error {
	lastSweep := time.Time{}
	for {
		if time.Since(lastSweep) >= d.cfg.SweepEvery {
			lastSweep = time.Now()
			if _, err := d.Sweep(ctx); err != nil && ctx.Err() == nil {
				d.cfg.Logger.WarnContext(ctx, "webhooks: sweep", "err", err)
			}
		}
		n, err := d.DeliverDue(ctx)
		if err != nil && ctx.Err() == nil {
			d.cfg.Logger.WarnContext(ctx, "webhooks: deliver", "err", err)
		}
		if n > 0 && err == nil {
			continue
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(d.cfg.Poll):
		}
	}
}

// Sweep appends invitation.expired once for every invitation that expired
// unaccepted.
func (d *Dispatcher) Sweep(ctx context.Context) (int, error) {
	total := 0
	for {
		n, err := d.svc.wh.NoticeExpiredInvitations(ctx, d.svc.cfg.Now(), 500)
		total += n
		if err != nil || n < 500 {
			return total, err
		}
	}
}

// DeliverDue claims one batch of due deliveries and attempts each, and
// returns how many it claimed. Deliveries of one organization to one
// endpoint are sent one after another in their order; different ones in
// parallel (Workers).
func (d *Dispatcher) DeliverDue(ctx context.Context) (int, error) {
	now := d.svc.cfg.Now()
	ds, err := d.svc.wh.ClaimWebhookDeliveries(ctx, now, now.Add(d.cfg.Lease), d.cfg.Batch)
	if err != nil || len(ds) == 0 {
		return 0, err
	}
	groups := map[string][]store.WebhookDelivery{}
	var keys []string
	for _, dl := range ds {
		k := dl.EndpointID + "\x00" + dl.OrganizationID
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], dl)
	}
	sort.Strings(keys)
	eps := map[string]*store.WebhookEndpoint{}
	var mu sync.Mutex
	endpoint := func(id string) (*store.WebhookEndpoint, error) {
		mu.Lock()
		defer mu.Unlock()
		if ep, ok := eps[id]; ok {
			return ep, nil
		}
		ep, err := d.svc.wh.GetWebhookEndpoint(ctx, id)
		if err != nil {
			return nil, err
		}
		eps[id] = &ep
		return &ep, nil
	}
	sem := make(chan struct{}, d.cfg.Workers)
	var wg sync.WaitGroup
	var errMu sync.Mutex
	var firstErr error
	for _, k := range keys {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			for _, dl := range groups[k] {
				if err := d.attempt(ctx, endpoint, dl); err != nil {
					errMu.Lock()
					firstErr = cmp(firstErr, err)
					errMu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	return len(ds), firstErr
}

func cmp(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// attempt sends one delivery and records the outcome; the error is the
// store's (a receiver's failure is recorded, not returned).
func (d *Dispatcher) attempt(ctx context.Context, endpoint func(string) (*store.WebhookEndpoint, error), dl store.WebhookDelivery) error {
	ep, err := endpoint(dl.EndpointID)
	if errors.Is(err, store.ErrNotFound) {
		return nil // deleted meanwhile, with its deliveries
	}
	if err != nil {
		return err
	}
	attempts := dl.Attempts + 1
	sendErr := d.send(ctx, ep, dl)
	if ep.DisabledTime != nil {
		sendErr = errors.New("endpoint disabled")
	}
	now := d.svc.cfg.Now()
	if sendErr == nil {
		return d.svc.wh.MarkWebhookDelivered(ctx, dl.EndpointID, dl.MessageID, attempts, now)
	}
	msg := sendErr.Error()
	if len(msg) > 500 {
		msg = msg[:500]
	}
	if attempts >= d.cfg.MaxAttempts {
		d.cfg.Logger.WarnContext(ctx, "webhooks: dead letter", "endpoint", dl.EndpointID, "message", dl.MessageID, "err", msg)
		return d.svc.wh.MarkWebhookDead(ctx, dl.EndpointID, dl.MessageID, attempts, msg)
	}
	return d.svc.wh.MarkWebhookRetry(ctx, dl.EndpointID, dl.MessageID, attempts, now.Add(d.backoff(attempts)), msg)
}

// backoff is the wait after the attempts-th failure: BaseBackoff·2^(n-1),
// at most MaxBackoff, with jitter in [d/2, d).
func (d *Dispatcher) backoff(attempts int) time.Duration {
	b := d.cfg.BaseBackoff
	for i := 1; i < attempts && b < d.cfg.MaxBackoff; i++ {
		b *= 2
	}
	b = min(b, d.cfg.MaxBackoff)
	return b/2 + rand.N(b/2+1)
}

// send POSTs one signed delivery; 2xx is success.
func (d *Dispatcher) send(ctx context.Context, ep *store.WebhookEndpoint, dl store.WebhookDelivery) error {
	now := d.svc.cfg.Now()
	p, err := BuildPayload(ctx, d.svc.st, dl.Type, dl.Event, now)
	if err != nil {
		return err
	}
	body, err := json.Marshal(p)
	if err != nil {
		return err
	}
	secrets, err := d.svc.secrets(*ep, now)
	if err != nil {
		return err
	}
	sig, err := Sign(dl.MessageID, now, body, secrets...)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "invitekit-webhooks/1")
	req.Header.Set("webhook-id", dl.MessageID)
	req.Header.Set("webhook-timestamp", fmt.Sprint(now.Unix()))
	req.Header.Set("webhook-signature", sig)
	resp, err := d.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, d.cfg.MaxResponseBytes))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("receiver answered %d", resp.StatusCode)
	}
	return nil
}
