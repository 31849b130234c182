package mailer

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/invitekit/invitekit/mailer/outbox"
	"github.com/invitekit/invitekit/store"
)

// Dispatcher defaults.
const (
	DefaultConcurrency     = 4
	DefaultBatchSize       = 32
	DefaultMaxAttempts     = 8
	DefaultBaseBackoff     = 30 * time.Second
	DefaultMaxBackoff      = time.Hour
	DefaultLease           = 5 * time.Minute
	DefaultPollInterval    = time.Second
	DefaultSendTimeout     = time.Minute
	DefaultShutdownTimeout = 30 * time.Second
)

// ErrShutdownTimeout is returned by Run when in-flight deliveries did not
// finish within ShutdownTimeout after its context was cancelled and had to
// be aborted. The aborted messages stay queued and are retried later.
var ErrShutdownTimeout = errors.New("mailer: dispatcher shutdown timed out; in-flight sends were aborted")

// maxErrorLen bounds the LastError stored with a message.
const maxErrorLen = 1000

// DispatcherConfig configures NewDispatcher. Every zero value is a safe default.
type DispatcherConfig struct {
	Concurrency int // deliveries in flight at once (default 4)
	BatchSize   int // messages leased per ClaimOutbox call (default 32)
	// RateLimit throttles deliveries to at most this many per second
	// (0 = no limit beyond Concurrency), with bursts of up to Burst
	// (default 1). Set it to your mail provider's sending rate (Amazon
	// SES, SendGrid, Postmark accounts all have one) so a bulk import of
	// thousands of invitations drains at the pace the provider accepts.
	// The limit is per Dispatcher: N replicas each running one send up
	// to N × RateLimit. With a limit, a claim leases at most about one
	// second's worth of messages (RateLimit + Burst, at most BatchSize).
	RateLimit float64
	Burst     int
	// MaxAttempts is how many deliveries a message gets before it is
	// dead-lettered (default 8).
	MaxAttempts int
	// BaseBackoff and MaxBackoff shape the retry delay after attempt n:
	// a uniformly random duration in [0, min(MaxBackoff, BaseBackoff·2^(n-1))]
	// ("full jitter"). Defaults 30s and 1h.
	BaseBackoff time.Duration
	MaxBackoff  time.Duration
	// Lease is how long a claimed message stays invisible to other
	// dispatchers (default 5m). If a dispatcher dies, its messages are
	// delivered by another after the lease ends. It must be longer than
	// SendTimeout; a claimed message is only started while its remaining
	// lease covers a whole SendTimeout.
	Lease time.Duration
	// PollInterval is how often Run looks for due messages when the
	// outbox is idle (default 1s). Wake makes it look at once.
	PollInterval time.Duration
	// SendTimeout bounds one delivery (default 1m, at most Lease/2).
	SendTimeout time.Duration
	// ShutdownTimeout bounds how long Run waits for in-flight deliveries
	// after its context is cancelled before aborting them (default 30s).
	ShutdownTimeout time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Jitter returns a random duration in [0, max] (default: uniform,
	// math/rand/v2). Tests make backoff deterministic with it.
	Jitter func(max time.Duration) time.Duration
	// Logger receives delivery outcomes (never mail content or links).
	Logger *slog.Logger
	// OnDead is called after a message was dead-lettered, with the error of
	// its last attempt. It must not block for long.
	OnDead func(msg store.OutboxMessage, err error)
}

// DispatcherStats are the dispatcher's counters since it was created.
type DispatcherStats struct {
	Sent    int64 // messages delivered
	Failed  int64 // delivery attempts that failed
	Retried int64 // failed messages scheduled for another attempt
	Dead    int64 // messages dead-lettered
	// Queued is the number of QUEUED messages in the store (all orgs,
	// including ones waiting for a retry); -1 when the store could not
	// count them.
	Queued int
}

// Dispatcher delivers the store's outbox: it leases due messages
// (ClaimOutbox), unseals their secret part, renders them, sends them through
// the Mailer with Concurrency deliveries in flight, and records the outcome:
// MarkOutboxSent, MarkOutboxRetry with exponential backoff and full jitter,
// or, after MaxAttempts attempts (or at once for a Permanent error),
// MarkOutboxDead with an EventMailDeadLettered event. The store erases the
// sealed accept link of a sent or dead message.
//
// A message the templates cannot render (a *TemplateError, or a kind with no
// templates) is never dead-lettered, since that would erase its link: it is
// held, queued with its sealed link and LastError naming the template and
// field, and tried again every MaxBackoff without counting an attempt, so it
// goes out once a fixed template is deployed. NewRenderer executes every
// template with sample data, so only a failure that depends on a message's
// data gets this far.
//
// Delivery is at least once: a message whose outcome could not be recorded
// (crash, store error, aborted shutdown) is sent again after its lease ends,
// always with the same Message-ID (OutboxMessage.MessageID), so receivers
// can drop the duplicate. Several dispatchers, in one or many processes, may
// share a store.
//
// A Dispatcher is safe for concurrent use: Run, DrainOnce, Wake and Stats
// may be called from any goroutine.
type Dispatcher struct {
	ob     store.Outbox
	mailer Mailer
	r      *Renderer
	sealer *outbox.Sealer
	cfg    DispatcherConfig
	log    *slog.Logger
	wake   chan struct{}

	limiter   *rate.Limiter // nil: no RateLimit
	claimSize int           // messages per ClaimOutbox

	sent, failed, retried, dead atomic.Int64
}

// NewDispatcher returns a dispatcher draining ob through m. r renders the
// mails (nil: NewRenderer with a zero RenderConfig); s opens the sealed
// accept links: pass invite's Service.Sealer() so the secret key is
// configured once (s may be nil only if no message carries sealed data).
// It validates cfg (see DispatcherConfig) and does no I/O.
func NewDispatcher(ob store.Outbox, m Mailer, r *Renderer, s *outbox.Sealer, cfg DispatcherConfig) (*Dispatcher, error) {
	if ob == nil {
		return nil, errors.New("mailer: dispatcher: outbox is nil")
	}
	if m == nil {
		return nil, errors.New("mailer: dispatcher: mailer is nil")
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if r == nil {
		if r, err = NewRenderer(RenderConfig{}); err != nil {
			return nil, err
		}
	}
	d := &Dispatcher{ob: ob, mailer: m, r: r, sealer: s, cfg: cfg, log: cfg.Logger, wake: make(chan struct{}, 1), claimSize: cfg.BatchSize}
	if cfg.RateLimit > 0 {
		d.limiter = rate.NewLimiter(rate.Limit(cfg.RateLimit), cfg.Burst)
		d.claimSize = min(cfg.BatchSize, int(math.Ceil(cfg.RateLimit))+cfg.Burst)
	}
	return d, nil
}

// withDefaults validates c and fills its zero fields with the defaults.
func (c DispatcherConfig) withDefaults() (DispatcherConfig, error) {
	if name := c.negativeField(); name != "" {
		return DispatcherConfig{}, fmt.Errorf("mailer: dispatcher: %s must not be negative", name)
	}
	c.Concurrency = cmp.Or(c.Concurrency, DefaultConcurrency)
	c.BatchSize = cmp.Or(c.BatchSize, DefaultBatchSize)
	c.Burst = cmp.Or(c.Burst, 1)
	c.MaxAttempts = cmp.Or(c.MaxAttempts, DefaultMaxAttempts)
	c.BaseBackoff = cmp.Or(c.BaseBackoff, DefaultBaseBackoff)
	c.MaxBackoff = max(cmp.Or(c.MaxBackoff, DefaultMaxBackoff), c.BaseBackoff)
	c.Lease = cmp.Or(c.Lease, DefaultLease)
	c.PollInterval = cmp.Or(c.PollInterval, DefaultPollInterval)
	c.SendTimeout = cmp.Or(c.SendTimeout, min(DefaultSendTimeout, c.Lease/2))
	c.ShutdownTimeout = cmp.Or(c.ShutdownTimeout, DefaultShutdownTimeout)
	if c.Lease <= c.SendTimeout {
		return DispatcherConfig{}, fmt.Errorf("mailer: dispatcher: Lease (%v) must be longer than SendTimeout (%v)", c.Lease, c.SendTimeout)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Jitter == nil {
		c.Jitter = fullJitter
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// negativeField names the first numeric field of c that is negative, or
// returns "".
func (c DispatcherConfig) negativeField() string {
	for _, f := range []struct {
		name  string
		value float64
	}{
		{"Concurrency", float64(c.Concurrency)}, {"BatchSize", float64(c.BatchSize)},
		{"RateLimit", c.RateLimit}, {"Burst", float64(c.Burst)}, {"MaxAttempts", float64(c.MaxAttempts)},
		{"BaseBackoff", float64(c.BaseBackoff)}, {"MaxBackoff", float64(c.MaxBackoff)},
		{"Lease", float64(c.Lease)}, {"PollInterval", float64(c.PollInterval)},
		{"SendTimeout", float64(c.SendTimeout)}, {"ShutdownTimeout", float64(c.ShutdownTimeout)},
	} {
		if f.value < 0 {
			return f.name
		}
	}
	return ""
}

// fullJitter returns a uniformly random duration in [0, max].
func fullJitter(max time.Duration) time.Duration {
	if max <= 0 {
		return 0
	}
	return rand.N(max + 1)
}

// Wake makes a running Run look for due messages now instead of at its next
// poll (call it after queueing mail). It never blocks.
func (d *Dispatcher) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Stats returns the counters and the store's count of queued messages.
func (d *Dispatcher) Stats() DispatcherStats {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return d.StatsContext(ctx)
}

// StatsContext is Stats with a context for the store call.
func (d *Dispatcher) StatsContext(ctx context.Context) DispatcherStats {
	st := DispatcherStats{
		Sent: d.sent.Load(), Failed: d.failed.Load(), Retried: d.retried.Load(), Dead: d.dead.Load(),
	}
	n, err := d.ob.CountOutbox(ctx, store.OutboxQueued)
	if err != nil {
		n = -1
	}
	st.Queued = n
	return st
}

// Run delivers due messages until ctx is cancelled, polling every
// PollInterval when idle. On cancellation it stops claiming, hands back
// leased messages it has not started, waits up to ShutdownTimeout for the
// deliveries in flight and returns nil (or ErrShutdownTimeout when it had to
// abort them). Store errors are logged and retried at the next poll.
func (d *Dispatcher) Run(ctx context.Context) error {
	_, err := d.loop(ctx, false)
	return err
}

// DrainOnce delivers every message that is due now, with Concurrency
// deliveries in flight, and returns how many were delivered. Messages that
// fail are scheduled for a later retry (or dead-lettered) as in Run;
// DrainOnce does not wait for them. It returns the first store error, or
// ctx's error when ctx is cancelled.
func (d *Dispatcher) DrainOnce(ctx context.Context) (int, error) {
	return d.loop(ctx, true)
}

// loop is Run (once=false) and DrainOnce (once=true).
func (d *Dispatcher) loop(ctx context.Context, once bool) (int, error) {
	// hard is cancelled ShutdownTimeout after ctx, aborting sends.
	hard, hardCancel := context.WithCancel(context.WithoutCancel(ctx))
	defer hardCancel()
	var timedOut atomic.Bool
	stopAfter := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(d.cfg.ShutdownTimeout, func() { timedOut.Store(true); hardCancel() })
		context.AfterFunc(hard, func() { t.Stop() })
	})
	defer stopAfter()

	var (
		wg        sync.WaitGroup
		slots     = make(chan struct{}, d.cfg.Concurrency)
		delivered atomic.Int64
		firstErr  error
	)
	finish := func() (int, error) {
		wg.Wait()
		n := int(delivered.Load())
		if firstErr != nil {
			return n, firstErr
		}
		if timedOut.Load() {
			return n, ErrShutdownTimeout
		}
		if once && ctx.Err() != nil {
			return n, ctx.Err()
		}
		return n, nil
	}

	for {
		if ctx.Err() != nil {
			return finish()
		}
		now := d.cfg.Now()
		leaseEnd := now.Add(d.cfg.Lease)
		msgs, err := d.ob.ClaimOutbox(ctx, now, leaseEnd, d.claimSize)
		if err != nil {
			if ctx.Err() != nil {
				return finish()
			}
			if once {
				firstErr = fmt.Errorf("mailer: dispatcher: claim: %w", err)
				return finish()
			}
			d.log.Error("mailer: claiming outbox failed", "err", err)
			msgs = nil
		}
		for i, m := range msgs {
			if d.limiter != nil {
				if err := d.limiter.Wait(ctx); err != nil {
					d.release(hard, msgs[i:])
					return finish()
				}
			}
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				d.release(hard, msgs[i:])
				return finish()
			}
			if d.cfg.Now().Add(d.cfg.SendTimeout).After(leaseEnd) {
				// It waited too long for a slot: its lease could end
				// mid-send and another dispatcher send it too. Hand it
				// back; it is claimed afresh.
				<-slots
				d.release(hard, []store.OutboxMessage{m})
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-slots }()
				if d.process(hard, m) {
					delivered.Add(1)
				}
			}()
		}
		if len(msgs) == d.claimSize {
			continue // more may be due
		}
		if once {
			if len(msgs) == 0 {
				return finish()
			}
			continue
		}
		t := time.NewTimer(d.cfg.PollInterval)
		select {
		case <-ctx.Done():
		case <-d.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// release hands leased but unstarted messages back to the queue without
// counting an attempt.
func (d *Dispatcher) release(ctx context.Context, msgs []store.OutboxMessage) {
	now := d.cfg.Now()
	for _, m := range msgs {
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		if err := d.ob.MarkOutboxRetry(sctx, m.ID, m.Attempts, now, m.LastError); err != nil {
			d.log.Warn("mailer: releasing outbox message failed; it is retried after its lease", "outbox_id", m.ID, "err", err)
		}
		cancel()
	}
}

// process delivers one message and records the outcome. It reports whether
// the message was delivered.
func (d *Dispatcher) process(hard context.Context, m store.OutboxMessage) bool {
	attempt := m.Attempts + 1
	err := d.deliver(hard, m)
	// Record the outcome even while shutting down.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(hard), 10*time.Second)
	defer cancel()
	now := d.cfg.Now()
	log := d.log.With("outbox_id", m.ID, "kind", m.Kind, "attempt", attempt)

	if err == nil {
		d.sent.Add(1)
		if err := d.ob.MarkOutboxSent(sctx, m.ID, now); err != nil {
			// Delivered, but the store does not know: it is sent again
			// after the lease, with the same Message-ID.
			log.Error("mailer: recording sent mail failed", "err", err)
		} else {
			log.Debug("mailer: mail sent")
		}
		return true
	}

	if hard.Err() != nil && !IsPermanent(err) {
		// Aborted by shutdown: not the message's fault, no attempt counted.
		d.release(sctx, []store.OutboxMessage{m})
		return false
	}
	d.failed.Add(1)
	msg := truncate(err.Error(), maxErrorLen)
	if heldByTemplates(err) {
		d.hold(sctx, log, m, msg, now)
		return false
	}
	if IsPermanent(err) || attempt >= d.cfg.MaxAttempts {
		ev := store.Event{
			ID:             store.NewID("evt"),
			OrganizationID: m.OrganizationID,
			Type:           store.EventMailDeadLettered,
			Data: map[string]string{
				"message_id":     m.ID,
				"rfc_message_id": m.MessageID,
				"kind":           m.Kind,
				"to":             m.To,
				"attempts":       strconv.Itoa(attempt),
				"last_error":     msg,
			},
			CreateTime: now,
		}
		if err := d.ob.MarkOutboxDead(sctx, m.ID, attempt, msg, now, ev); err != nil {
			log.Error("mailer: dead-lettering mail failed", "err", err)
			return false
		}
		d.dead.Add(1)
		log.Error("mailer: mail dead-lettered", "err", msg, "permanent", IsPermanent(err))
		if d.cfg.OnDead != nil {
			dm := m
			dm.Status, dm.Attempts, dm.LastError, dm.Sealed = store.OutboxDead, attempt, msg, nil
			d.cfg.OnDead(dm, err)
		}
		return false
	}
	next := now.Add(d.backoff(attempt))
	if err := d.ob.MarkOutboxRetry(sctx, m.ID, attempt, next, msg); err != nil {
		log.Error("mailer: recording failed attempt failed", "err", err)
		return false
	}
	d.retried.Add(1)
	log.Warn("mailer: mail delivery failed; will retry", "err", msg, "next_attempt", next)
	return false
}

// heldByTemplates reports a failure of this process's templates rather than
// of the message: a template that fails on the message's data
// (*TemplateError) or a kind without templates (ErrUnknownKind, say a kind a
// newer replica queued). Such a message is held, never dead-lettered.
func heldByTemplates(err error) bool {
	var te *TemplateError
	return errors.As(err, &te) || errors.Is(err, ErrUnknownKind)
}

// hold keeps a message the templates cannot render queued, with its sealed
// link, for another try after MaxBackoff. No attempt is counted: fixing the
// template (and restarting) is what makes it go out, however long it takes.
func (d *Dispatcher) hold(ctx context.Context, log *slog.Logger, m store.OutboxMessage, msg string, now time.Time) {
	next := now.Add(d.cfg.MaxBackoff)
	if err := d.ob.MarkOutboxRetry(ctx, m.ID, m.Attempts, next, msg); err != nil {
		log.Error("mailer: recording failed attempt failed", "err", err)
		return
	}
	d.retried.Add(1)
	log.Error("mailer: mail held: its template does not render; it stays queued with its link, fix the template",
		"err", msg, "next_attempt", next)
}

// deliver unseals, renders and sends one message.
func (d *Dispatcher) deliver(ctx context.Context, m store.OutboxMessage) error {
	var secret map[string]string
	if len(m.Sealed) > 0 {
		if d.sealer == nil {
			return Permanent(errors.New("mailer: dispatcher: message has sealed data but no Sealer is configured"))
		}
		var err error
		if secret, err = d.sealer.Open(m.ID, m.Sealed); err != nil {
			return Permanent(err)
		}
	}
	data := m.Data
	if data[outbox.DataEmail] == "" {
		data = maps.Clone(m.Data)
		if data == nil {
			data = map[string]string{}
		}
		data[outbox.DataEmail] = m.To
	}
	r, err := d.r.Render(m.Kind, "", data, secret)
	if err != nil {
		if heldByTemplates(err) {
			return err
		}
		return Permanent(err)
	}
	sctx, cancel := context.WithTimeout(ctx, d.cfg.SendTimeout)
	defer cancel()
	return d.mailer.Send(sctx, r.Message(m.To, m.MessageID))
}

// backoff returns the delay before attempt+1: full jitter over an
// exponentially growing, capped window.
func (d *Dispatcher) backoff(attempt int) time.Duration {
	window := d.cfg.BaseBackoff
	for i := 1; i < attempt && window < d.cfg.MaxBackoff; i++ {
		window *= 2
	}
	window = min(window, d.cfg.MaxBackoff)
	j := d.cfg.Jitter(window)
	return max(0, min(j, window))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Cut on a rune boundary.
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
