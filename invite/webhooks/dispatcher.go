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
	"sync"
	"time"

	"github.com/invitekit/invitekit/store"
)

// DispatcherConfig tunes a Dispatcher; zero values are the defaults.
type DispatcherConfig struct {
	// Timeout bounds one POST (default 10 s).
	Timeout time.Duration
	// MaxAttempts is the attempts before a delivery is a dead letter
	// (default 8: with the default backoff, waits of 30 s, 1, 2, 4, 8, 16
	// and 32 min, each jittered to between half and all of it, so a
	// delivery that always fails is dead 32-64 min after its first try).
	MaxAttempts int
	// BaseBackoff is the wait after the first failure (default 30 s);
	// each later one doubles, up to MaxBackoff (default 2 h), with full
	// jitter in [d/2, d).
	BaseBackoff, MaxBackoff time.Duration
	// Lease is how long a claimed delivery is invisible to other
	// dispatchers (default, and when not above Timeout + 5 s: Timeout +
	// 30 s). A dispatcher sends a claimed delivery only while Timeout + 5 s
	// of its lease are left, so it is never sent by two at once.
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
	// DisableAfter disables an endpoint whose attempts have all failed for
	// this long, with no success in between (default 5 days, as Svix and
	// Stripe do); disabling writes a webhook.endpoint_disabled event.
	// Negative never disables. It needs a store with
	// store.WebhookEndpointHealth (all built-in stores).
	DisableAfter time.Duration
	// Transport, when set, replaces the guarded transport (tests of
	// the guard leave it nil).
	Transport http.RoundTripper
	Logger    *slog.Logger
}

// DefaultDisableAfter is DispatcherConfig.DisableAfter's default.
const DefaultDisableAfter = 5 * 24 * time.Hour

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
	if c.Lease <= c.Timeout+leaseMargin {
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
	if c.DisableAfter == 0 {
		c.DisableAfter = DefaultDisableAfter
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
			TLSHandshakeTimeout: cfg.Timeout, ResponseHeaderTimeout: cfg.Timeout, MaxIdleConnsPerHost: cfg.Workers,
			IdleConnTimeout: 90 * time.Second,
		}
	}
	return &Dispatcher{svc: svc, cfg: cfg, client: &http.Client{
		Transport: rt, Timeout: cfg.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }, // never follow
	}}
}

// Run delivers until ctx ends, and notices expired invitations every
// SweepEvery. It returns ctx's error. When the store publishes changes
// (store.ChangeNotifier), a committed membership change wakes it at once;
// otherwise it looks every Poll.
func (d *Dispatcher) Run(ctx context.Context) error {
	wake := make(chan struct{}, 1)
	if n, ok := d.svc.st.(store.ChangeNotifier); ok {
		changed := func(store.Change) {
			select {
			case wake <- struct{}{}:
			default:
			}
		}
		if err := n.Subscribe(ctx, changed, func(error) {}); err != nil && ctx.Err() == nil {
			d.cfg.Logger.WarnContext(ctx, "webhooks: subscribe to changes (polling only)", "err", err)
		}
	}
	lastSweep := time.Time{}
	for {
		if time.Since(lastSweep) >= d.cfg.SweepEvery {
			lastSweep = time.Now()
			if _, err := d.Sweep(ctx); err != nil && ctx.Err() == nil {
				d.cfg.Logger.WarnContext(ctx, "webhooks: sweep", "err", err)
			}
		}
		start := time.Now()
		n, err := d.DeliverDue(ctx)
		if err != nil && ctx.Err() == nil {
			d.cfg.Logger.WarnContext(ctx, "webhooks: deliver", "err", err)
		}
		if n > 0 && err == nil {
			continue
		}
		// Nothing was due. A wake sooner than four times what that empty
		// claim took waits until then: a backlog held behind a retry,
		// which every claim reads, then costs at most a fifth of the time
		// while changes keep waking it.
		quiet := start.Add(5 * min(time.Since(start), d.cfg.Poll/5))
		t := time.NewTimer(d.cfg.Poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-wake:
			if w := time.Until(quiet); w > 0 {
				t.Reset(w)
				select {
				case <-ctx.Done():
					t.Stop()
					return ctx.Err()
				case <-t.C:
				}
			}
		case <-t.C:
		}
		t.Stop()
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
// returns how many it claimed.
//
// Order: deliveries of one organization to one endpoint are sent one
// after another in their order, different ones in parallel (Workers). The
// store claims them in order, and while one waits for a retry the later
// ones of its endpoint and organization wait behind it (store.WebhookStore
// ClaimWebhookDeliveries): so a receiver that keeps up gets an
// organization's events in order, and one that was down gets them in order
// once it is back. Only a dead letter (and a replay) lets later ones pass.
func (d *Dispatcher) DeliverDue(ctx context.Context) (int, error) {
	now := d.svc.cfg.Now()
	ds, err := d.svc.wh.ClaimWebhookDeliveries(ctx, now, now.Add(d.cfg.Lease), d.cfg.Batch)
	if err != nil || len(ds) == 0 {
		return 0, err
	}
	groups := map[string][]store.WebhookDelivery{}
	var keys []string // in the order of each group's first delivery
	for _, dl := range ds {
		k := dl.EndpointID + "\x00" + dl.OrganizationID
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], dl)
	}
	b := &batch{d: d, eps: map[string]*store.WebhookEndpoint{}}
	sem := make(chan struct{}, d.cfg.Workers)
	var wg sync.WaitGroup
	for _, k := range keys {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			b.group(ctx, groups[k])
		})
	}
	wg.Wait()
	b.fail(b.markDelivered(ctx, b.takeMarks(0)))
	return len(ds), b.err
}

// batch is the state of one DeliverDue: the endpoints it read (each once)
// and the first store error.
type batch struct {
	d     *Dispatcher
	mu    sync.Mutex
	eps   map[string]*store.WebhookEndpoint
	err   error
	marks []store.WebhookMark // accepted, not yet written
}

// takeMarks returns the accepted deliveries not yet written once there
// are at least n of them (and takes them), else nil.
func (b *batch) takeMarks(n int) []store.WebhookMark {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.marks) < max(n, 1) {
		return nil
	}
	out := b.marks
	b.marks = nil
	return out
}

func (b *batch) fail(err error) {
	if err == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err == nil {
		b.err = err
	}
}

// endpoint returns a copy of the endpoint id as this batch knows it.
func (b *batch) endpoint(ctx context.Context, id string) (store.WebhookEndpoint, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if ep, ok := b.eps[id]; ok {
		return *ep, nil
	}
	ep, err := b.d.svc.wh.GetWebhookEndpoint(ctx, id)
	if err != nil {
		return ep, err
	}
	b.eps[id] = &ep
	return ep, nil
}

// setEndpoint applies fn to the batch's copy of endpoint id.
func (b *batch) setEndpoint(id string, fn func(*store.WebhookEndpoint)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if ep, ok := b.eps[id]; ok {
		fn(ep)
	}
}

// markEvery bounds how many accepted deliveries a batch holds before it
// writes them (store.WebhookDeliveredMarker: one transaction for all); the
// rest are written when the batch ends.
const markEvery = 50

// leaseMargin is the lease a group keeps in hand beyond one attempt's
// Timeout: the batch's accepted deliveries are written before their lease
// ends (every group of a batch stops by then).
const leaseMargin = 5 * time.Second

// group sends one endpoint's deliveries of one organization, in order. When
// one fails and will be retried, the rest are released unsent: they wait
// behind it. So are the rest when too little of their lease is left for
// one more attempt (another dispatcher may claim them once it runs out).
func (b *batch) group(ctx context.Context, ds []store.WebhookDelivery) {
	for i, dl := range ds {
		if ctx.Err() != nil || b.d.svc.cfg.Now().Add(b.d.cfg.Timeout+leaseMargin).After(dl.LeaseUntil) {
			b.release(ctx, ds[i:])
			return
		}
		mark, held, err := b.attempt(ctx, dl)
		b.fail(err)
		if mark != nil {
			b.mu.Lock()
			b.marks = append(b.marks, *mark)
			b.mu.Unlock()
			b.fail(b.markDelivered(ctx, b.takeMarks(markEvery)))
		}
		if held || err != nil {
			b.release(ctx, ds[i+1:])
			return
		}
	}
}

// markDelivered writes accepted deliveries: in one transaction when the
// store can (store.WebhookDeliveredMarker), else one by one.
func (b *batch) markDelivered(ctx context.Context, marks []store.WebhookMark) error {
	if len(marks) == 0 {
		return nil
	}
	ctx = context.WithoutCancel(ctx) // they were accepted: record it
	if m, ok := b.d.svc.wh.(store.WebhookDeliveredMarker); ok {
		return m.MarkWebhooksDelivered(ctx, marks)
	}
	for _, mk := range marks {
		if err := b.d.svc.wh.MarkWebhookDelivered(ctx, mk.EndpointID, mk.MessageID, mk.Attempts, mk.At); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	return nil
}

// release gives up the lease of deliveries not attempted, unchanged.
func (b *batch) release(ctx context.Context, ds []store.WebhookDelivery) {
	ctx = context.WithoutCancel(ctx)
	for _, dl := range ds {
		err := b.d.svc.wh.MarkWebhookRetry(ctx, dl.EndpointID, dl.MessageID, dl.Attempts, dl.NextAttemptTime, dl.LastError)
		if !errors.Is(err, store.ErrNotFound) {
			b.fail(err)
		}
	}
}

// attempt sends one delivery and records a failure; an accepted one is
// returned as mark, for the caller to write. held reports that it will be
// retried (the later ones of its group wait). The error is the store's (a
// receiver's failure is recorded, not returned).
func (b *batch) attempt(ctx context.Context, dl store.WebhookDelivery) (mark *store.WebhookMark, held bool, err error) {
	d := b.d
	ep, err := b.endpoint(ctx, dl.EndpointID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, false, nil // deleted meanwhile, with its deliveries
	}
	if err != nil {
		return nil, false, err
	}
	attempts := dl.Attempts + 1
	if ep.DisabledTime != nil {
		// A disabled endpoint gets nothing: its pending deliveries are
		// dead letters, which Replay sends again once it is enabled.
		return nil, false, d.svc.wh.MarkWebhookDead(ctx, dl.EndpointID, dl.MessageID, dl.Attempts, "endpoint disabled")
	}
	sendErr := d.send(ctx, &ep, dl)
	now := d.svc.cfg.Now()
	if sendErr == nil {
		return &store.WebhookMark{EndpointID: dl.EndpointID, MessageID: dl.MessageID, Attempts: attempts, At: now}, false, b.healthy(ctx, ep)
	}
	if ctx.Err() != nil { // stopping, not the receiver's fault
		b.release(ctx, []store.WebhookDelivery{dl})
		return nil, true, nil
	}
	msg := sendErr.Error()
	if len(msg) > 500 {
		msg = msg[:500]
	}
	disabled, err := b.failing(ctx, ep, now)
	if err != nil {
		return nil, false, err
	}
	if disabled {
		return nil, false, d.svc.wh.MarkWebhookDead(ctx, dl.EndpointID, dl.MessageID, attempts, "endpoint disabled: "+msg)
	}
	if attempts >= d.cfg.MaxAttempts {
		d.cfg.Logger.WarnContext(ctx, "webhooks: dead letter", "endpoint", dl.EndpointID, "message", dl.MessageID, "err", msg)
		return nil, false, d.svc.wh.MarkWebhookDead(ctx, dl.EndpointID, dl.MessageID, attempts, msg)
	}
	return nil, true, d.svc.wh.MarkWebhookRetry(ctx, dl.EndpointID, dl.MessageID, attempts, now.Add(d.backoff(attempts)), msg)
}

// healthy records a success of ep (only when it was failing: one write per
// change, not per delivery).
func (b *batch) healthy(ctx context.Context, ep store.WebhookEndpoint) error {
	h, ok := b.d.svc.wh.(store.WebhookEndpointHealth)
	if !ok || ep.FailingSince == nil {
		return nil
	}
	b.setEndpoint(ep.ID, func(e *store.WebhookEndpoint) { e.FailingSince = nil })
	return h.NoteWebhookSuccess(ctx, ep.ID)
}

// failing records a failure of ep at now and, when ep has failed without
// a success for DisableAfter, disables it (one event, whichever dispatcher
// gets there first); disabled reports that ep is disabled now.
func (b *batch) failing(ctx context.Context, ep store.WebhookEndpoint, now time.Time) (disabled bool, err error) {
	h, ok := b.d.svc.wh.(store.WebhookEndpointHealth)
	if !ok {
		return false, nil
	}
	if ep.FailingSince == nil {
		b.setEndpoint(ep.ID, func(e *store.WebhookEndpoint) { e.FailingSince = &now })
		return false, h.NoteWebhookFailure(ctx, ep.ID, now)
	}
	after := b.d.cfg.DisableAfter
	if after < 0 || now.Sub(*ep.FailingSince) < after {
		return false, nil
	}
	since := ep.FailingSince.UTC()
	reason := fmt.Sprintf("every attempt failed since %s (%s)", since.Format(time.RFC3339), after)
	ev := store.Event{ID: store.NewID("evt"), Type: store.EventWebhookEndpointDisabled, CreateTime: now.UTC(), Data: map[string]string{
		"endpoint_id": ep.ID, "failing_since": since.Format(time.RFC3339), "reason": reason,
	}}
	done, err := h.DisableFailingWebhookEndpoint(ctx, ep.ID, now.Add(-after), now.UTC(), reason, ev)
	if err != nil {
		return false, err
	}
	if !done { // another dispatcher disabled it, or a success came between
		cur, err := b.d.svc.wh.GetWebhookEndpoint(ctx, ep.ID)
		if err != nil || cur.DisabledTime == nil {
			b.setEndpoint(ep.ID, func(e *store.WebhookEndpoint) { e.FailingSince = cur.FailingSince })
			return false, err
		}
	} else {
		b.d.cfg.Logger.WarnContext(ctx, "webhooks: endpoint disabled", "endpoint", ep.ID, "failing_since", since)
	}
	b.setEndpoint(ep.ID, func(e *store.WebhookEndpoint) { t := now; e.DisabledTime = &t })
	return true, nil
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
