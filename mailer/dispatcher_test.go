package mailer_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/invitekit/invitekit/mailer"
	"github.com/invitekit/invitekit/mailer/outbox"
	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/store/memstore"
)

func mustDispatcher(t testing.TB, ob store.Outbox, m mailer.Mailer, cfg mailer.DispatcherConfig) *mailer.Dispatcher {
	t.Helper()
	r, err := mailer.NewRenderer(mailer.RenderConfig{Branding: mailer.Branding{AppName: "Acme App"}})
	if err != nil {
		t.Fatal(err)
	}
	d, err := mailer.NewDispatcher(ob, m, r, mustSealer(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func listOutbox(t testing.TB, st store.Store, orgID string, status store.OutboxStatus) []store.OutboxMessage {
	t.Helper()
	msgs, err := st.ListOutbox(context.Background(), orgID, status, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}

func TestDispatcherDeliversRendersAndErasesSeal(t *testing.T) {
	st := memstore.New()
	clk := newClock()
	locales := []string{"en", "de", "de-AT"}
	queued := queueMails(t, st, mustSealer(t), queueSpec{N: 3, Now: clk.Now(), Locale: func(i int) string { return locales[i] }})
	inbox := mailer.NewDevInbox(nil)
	d := mustDispatcher(t, st, inbox, mailer.DispatcherConfig{Now: clk.Now})

	n, err := d.DrainOnce(context.Background())
	if err != nil || n != 3 {
		t.Fatalf("DrainOnce = %d, %v; want 3", n, err)
	}
	byID := map[string]mailer.Message{}
	for _, m := range inbox.Messages() {
		byID[m.MessageID] = m
	}
	for i, q := range queued {
		m, ok := byID[q.MessageID]
		if !ok {
			t.Fatalf("mail %d (Message-ID %s) not sent", i, q.MessageID)
		}
		if m.To != q.To {
			t.Errorf("To = %q, want %q", m.To, q.To)
		}
		link := acceptLink("https://app.example/accept", i)
		if !strings.Contains(m.Text, link) || !strings.Contains(m.HTML, strings.ReplaceAll(link, "&", "&amp;")) {
			t.Errorf("mail %d lacks its sealed link %s", i, link)
		}
		wantGerman := locales[i] != "en"
		if got := strings.Contains(m.Subject, "eingeladen"); got != wantGerman {
			t.Errorf("mail %d (locale %s): subject %q", i, locales[i], m.Subject)
		}
	}
	sent := listOutbox(t, st, "org_mail", store.OutboxSent)
	if len(sent) != 3 {
		t.Fatalf("%d SENT, want 3", len(sent))
	}
	for _, m := range sent {
		if m.Sealed != nil || m.SentTime == nil || !m.SentTime.Equal(clk.Now()) {
			t.Errorf("sent message %s: sealed %v, sent time %v", m.ID, m.Sealed, m.SentTime)
		}
	}
	s := d.Stats()
	if s.Sent != 3 || s.Failed != 0 || s.Queued != 0 {
		t.Fatalf("Stats = %+v", s)
	}
	// Nothing is due any more.
	if n, err := d.DrainOnce(context.Background()); n != 0 || err != nil {
		t.Fatalf("second DrainOnce = %d, %v", n, err)
	}
}

func TestDispatcherBackoff(t *testing.T) {
	st := memstore.New()
	clk := newClock()
	queueMails(t, st, mustSealer(t), queueSpec{N: 1, Now: clk.Now()})
	rec := &recorder{fail: func(_ mailer.Message, call int) error {
		if call <= 4 {
			return errors.New("451 try again later")
		}
		return nil
	}}
	var jitterArgs []time.Duration
	d := mustDispatcher(t, st, rec, mailer.DispatcherConfig{
		Now: clk.Now, BaseBackoff: time.Minute, MaxBackoff: 5 * time.Minute,
		Jitter: func(max time.Duration) time.Duration { jitterArgs = append(jitterArgs, max); return max / 2 },
	})
	wantWindows := []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 5 * time.Minute}
	for attempt, window := range wantWindows {
		if n, err := d.DrainOnce(context.Background()); n != 0 || err != nil {
			t.Fatalf("attempt %d: DrainOnce = %d, %v", attempt+1, n, err)
		}
		q := listOutbox(t, st, "org_mail", store.OutboxQueued)
		if len(q) != 1 {
			t.Fatalf("attempt %d: %d queued", attempt+1, len(q))
		}
		m := q[0]
		if m.Attempts != attempt+1 || m.LastError != "451 try again later" || !m.NextAttemptTime.Equal(clk.Now().Add(window/2)) {
			t.Fatalf("attempt %d: attempts %d, error %q, next %v (now %v, window %v)", attempt+1, m.Attempts, m.LastError, m.NextAttemptTime, clk.Now(), window)
		}
		if m.Sealed == nil {
			t.Fatal("sealed link erased before delivery")
		}
		// Not due yet: nothing happens.
		if n, _ := d.DrainOnce(context.Background()); n != 0 || len(rec.Sent()) != 0 {
			t.Fatal("message retried before its next attempt time")
		}
		clk.Add(window / 2)
	}
	if n, err := d.DrainOnce(context.Background()); n != 1 || err != nil {
		t.Fatalf("final DrainOnce = %d, %v", n, err)
	}
	if got := jitterArgs; len(got) != 4 || got[0] != time.Minute || got[3] != 5*time.Minute {
		t.Fatalf("jitter windows %v", got)
	}
	s := d.Stats()
	if s.Sent != 1 || s.Failed != 4 || s.Retried != 4 || s.Dead != 0 || s.Queued != 0 {
		t.Fatalf("Stats = %+v", s)
	}
}

func TestDispatcherDeadLetter(t *testing.T) {
	tests := []struct {
		name         string
		maxAttempts  int
		err          error
		wantAttempts int
		corruptSeal  bool
	}{
		{name: "after MaxAttempts", maxAttempts: 3, err: errors.New("connection refused"), wantAttempts: 3},
		{name: "permanent error at once", maxAttempts: 8, err: mailer.Permanent(errors.New("550 no such user")), wantAttempts: 1},
		{name: "unopenable seal at once", maxAttempts: 8, corruptSeal: true, wantAttempts: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := memstore.New()
			clk := newClock()
			sealer := mustSealer(t)
			if tt.corruptSeal {
				other, _ := outbox.NewSealer([]byte("another key, 32 bytes long......"))
				sealer = other
			}
			msg := queueMails(t, st, sealer, queueSpec{N: 1, Now: clk.Now()})[0]
			rec := &recorder{fail: func(mailer.Message, int) error { return tt.err }}
			var dead []store.OutboxMessage
			d := mustDispatcher(t, st, rec, mailer.DispatcherConfig{
				Now: clk.Now, MaxAttempts: tt.maxAttempts, BaseBackoff: time.Second,
				OnDead: func(m store.OutboxMessage, err error) { dead = append(dead, m) },
			})
			for range tt.wantAttempts {
				if _, err := d.DrainOnce(context.Background()); err != nil {
					t.Fatal(err)
				}
				clk.Add(time.Hour)
			}
			got := listOutbox(t, st, "org_mail", store.OutboxDead)
			if len(got) != 1 {
				t.Fatalf("%d DEAD messages, want 1 (queued: %d)", len(got), len(listOutbox(t, st, "org_mail", store.OutboxQueued)))
			}
			m := got[0]
			if m.Attempts != tt.wantAttempts || m.Sealed != nil || m.LastError == "" {
				t.Fatalf("dead message: attempts %d, sealed %v, error %q", m.Attempts, m.Sealed, m.LastError)
			}
			if len(dead) != 1 || dead[0].ID != msg.ID || dead[0].Attempts != tt.wantAttempts {
				t.Fatalf("OnDead calls: %+v", dead)
			}
			evs, err := st.ListEvents(context.Background(), "org_mail", 0, 1000)
			if err != nil {
				t.Fatal(err)
			}
			var found *store.Event
			for i := range evs {
				if evs[i].Type == store.EventMailDeadLettered {
					found = &evs[i]
				}
			}
			if found == nil {
				t.Fatal("no mail.dead_lettered event")
			}
			if found.Data["message_id"] != msg.ID || found.Data["kind"] != outbox.KindInvitation || found.Data["to"] != msg.To || found.Data["last_error"] != m.LastError {
				t.Fatalf("event data %v", found.Data)
			}
			if s := d.Stats(); s.Dead != 1 || s.Failed != int64(tt.wantAttempts) || s.Sent != 0 {
				t.Fatalf("Stats = %+v", s)
			}
			if tt.corruptSeal && len(rec.Sent())+rec.call != 0 {
				t.Fatal("a message whose link could not be unsealed reached the mailer")
			}
		})
	}
}

// flakyStore fails MarkOutboxSent a given number of times.
type flakyStore struct {
	store.Store
	failSent atomic.Int32
}

func (f *flakyStore) MarkOutboxSent(ctx context.Context, id string, at time.Time) error {
	if f.failSent.Add(-1) >= 0 {
		return errors.New("disk full")
	}
	return f.Store.MarkOutboxSent(ctx, id, at)
}

func TestDispatcherAtLeastOnceWithStableMessageID(t *testing.T) {
	st := &flakyStore{Store: memstore.New()}
	st.failSent.Store(1)
	clk := newClock()
	msg := queueMails(t, st, mustSealer(t), queueSpec{N: 1, Now: clk.Now()})[0]
	rec := &recorder{}
	d := mustDispatcher(t, st, rec, mailer.DispatcherConfig{Now: clk.Now, Lease: time.Minute})
	if _, err := d.DrainOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Delivered, but the store could not record it: still queued and leased.
	if q := listOutbox(t, st, "org_mail", store.OutboxQueued); len(q) != 1 {
		t.Fatalf("queued = %d", len(q))
	}
	if n, _ := d.DrainOnce(context.Background()); n != 0 {
		t.Fatal("leased message delivered again before its lease ended")
	}
	clk.Add(time.Minute)
	if n, err := d.DrainOnce(context.Background()); n != 1 || err != nil {
		t.Fatalf("DrainOnce after lease = %d, %v", n, err)
	}
	sent := rec.Sent()
	if len(sent) != 2 || sent[0].MessageID != msg.MessageID || sent[1].MessageID != msg.MessageID {
		t.Fatalf("sends: %d, Message-IDs %q; want 2 with %q", len(sent), []string{sent[0].MessageID}, msg.MessageID)
	}
	if len(listOutbox(t, st, "org_mail", store.OutboxSent)) != 1 {
		t.Fatal("message not SENT after the second delivery")
	}
}

func TestDispatcherConcurrency(t *testing.T) {
	st := memstore.New()
	queueMails(t, st, mustSealer(t), queueSpec{N: 40})
	var inFlight, peak atomic.Int32
	m := mailer.MailerFunc(func(ctx context.Context, _ mailer.Message) error {
		n := inFlight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(2 * time.Millisecond)
		inFlight.Add(-1)
		return nil
	})
	d := mustDispatcher(t, st, m, mailer.DispatcherConfig{Concurrency: 3, BatchSize: 7})
	n, err := d.DrainOnce(context.Background())
	if err != nil || n != 40 {
		t.Fatalf("DrainOnce = %d, %v", n, err)
	}
	if p := peak.Load(); p != 3 {
		t.Fatalf("peak concurrency %d, want 3", p)
	}
}

func TestDispatcherRunWakeAndShutdown(t *testing.T) {
	st := memstore.New()
	release := make(chan struct{})
	var started atomic.Int32
	m := mailer.MailerFunc(func(ctx context.Context, _ mailer.Message) error {
		started.Add(1)
		<-release // an in-flight send that outlives the cancellation
		return nil
	})
	d := mustDispatcher(t, st, m, mailer.DispatcherConfig{Concurrency: 2, BatchSize: 10, PollInterval: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()

	// Queued after Run started: Wake makes it look without waiting an hour.
	queueMails(t, st, mustSealer(t), queueSpec{N: 10})
	d.Wake()
	waitFor(t, "two sends in flight", func() bool { return started.Load() == 2 })
	cancel()
	select {
	case err := <-done:
		t.Fatalf("Run returned %v while sends were in flight", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("Run = %v, want nil after a clean shutdown", err)
	}
	if got := len(listOutbox(t, st, "org_mail", store.OutboxSent)); got != 2 {
		t.Fatalf("%d SENT, want the 2 in flight", got)
	}
	// The 8 claimed but unstarted messages were handed back: claimable now,
	// no attempt counted.
	q := listOutbox(t, st, "org_mail", store.OutboxQueued)
	if len(q) != 8 {
		t.Fatalf("%d queued, want 8", len(q))
	}
	for _, m := range q {
		if m.Attempts != 0 || m.LeaseUntil.After(time.Now()) {
			t.Fatalf("released message: attempts %d lease %v", m.Attempts, m.LeaseUntil)
		}
	}
	if started.Load() != 2 {
		t.Fatalf("%d sends started after cancel", started.Load())
	}
}

func TestDispatcherShutdownTimeout(t *testing.T) {
	st := memstore.New()
	queueMails(t, st, mustSealer(t), queueSpec{N: 1})
	var started sync.WaitGroup
	started.Add(1)
	m := mailer.MailerFunc(func(ctx context.Context, _ mailer.Message) error {
		started.Done()
		<-ctx.Done() // a send that only ends when aborted
		return ctx.Err()
	})
	d := mustDispatcher(t, st, m, mailer.DispatcherConfig{ShutdownTimeout: 20 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	started.Wait()
	cancel()
	if err := <-done; !errors.Is(err, mailer.ErrShutdownTimeout) {
		t.Fatalf("Run = %v, want ErrShutdownTimeout", err)
	}
	q := listOutbox(t, st, "org_mail", store.OutboxQueued)
	if len(q) != 1 || q[0].Attempts != 0 || q[0].Sealed == nil {
		t.Fatalf("aborted message: %+v", q)
	}
	if s := d.Stats(); s.Failed != 0 || s.Queued != 1 {
		t.Fatalf("Stats = %+v", s)
	}
}

func TestDispatcherDrainOnceCancelled(t *testing.T) {
	st := memstore.New()
	queueMails(t, st, mustSealer(t), queueSpec{N: 2})
	d := mustDispatcher(t, st, mailer.NewDevInbox(nil), mailer.DispatcherConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := d.DrainOnce(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("DrainOnce = %v", err)
	}
	if got := len(listOutbox(t, st, "org_mail", store.OutboxQueued)); got != 2 {
		t.Fatalf("%d queued after a cancelled drain, want 2", got)
	}
}

func TestNewDispatcherErrors(t *testing.T) {
	st := memstore.New()
	in := mailer.NewDevInbox(nil)
	if _, err := mailer.NewDispatcher(nil, in, nil, nil, mailer.DispatcherConfig{}); err == nil {
		t.Error("nil outbox accepted")
	}
	if _, err := mailer.NewDispatcher(st, nil, nil, nil, mailer.DispatcherConfig{}); err == nil {
		t.Error("nil mailer accepted")
	}
	if _, err := mailer.NewDispatcher(st, in, nil, nil, mailer.DispatcherConfig{Concurrency: -1}); err == nil {
		t.Error("negative concurrency accepted")
	}
	for _, cfg := range []mailer.DispatcherConfig{{RateLimit: -1}, {RateLimit: 10, Burst: -1}} {
		if _, err := mailer.NewDispatcher(st, in, nil, nil, cfg); err == nil {
			t.Errorf("%+v accepted", cfg)
		}
	}
	d, err := mailer.NewDispatcher(st, in, nil, nil, mailer.DispatcherConfig{})
	if err != nil {
		t.Fatal(err)
	}
	// Without a Sealer a sealed message cannot be opened: dead at once.
	queueMails(t, st, mustSealer(t), queueSpec{N: 1})
	if _, err := d.DrainOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(listOutbox(t, st, "org_mail", store.OutboxDead)) != 1 || len(in.Messages()) != 0 {
		t.Fatal("sealed message without a Sealer was not dead-lettered")
	}
}

// retrySpy records MarkOutboxRetry calls.
type retrySpy struct {
	store.Store
	mu      sync.Mutex
	retries []string
}

func (s *retrySpy) MarkOutboxRetry(ctx context.Context, id string, attempts int, next time.Time, lastErr string) error {
	s.mu.Lock()
	s.retries = append(s.retries, id)
	s.mu.Unlock()
	return s.Store.MarkOutboxRetry(ctx, id, attempts, next, lastErr)
}

func TestDispatcherNeverStartsASendItsLeaseCannotCover(t *testing.T) {
	st := &retrySpy{Store: memstore.New()}
	clk := newClock()
	msgs := queueMails(t, st, mustSealer(t), queueSpec{N: 2, Now: clk.Now()})
	// The first send is slow: 8s of a 10s lease pass.
	m := mailer.MailerFunc(func(ctx context.Context, msg mailer.Message) error {
		if msg.MessageID == msgs[0].MessageID {
			clk.Add(8 * time.Second)
		}
		return nil
	})
	d := mustDispatcher(t, st, m, mailer.DispatcherConfig{Now: clk.Now, Concurrency: 1, BatchSize: 2, Lease: 10 * time.Second, SendTimeout: 4 * time.Second})
	n, err := d.DrainOnce(context.Background())
	if err != nil || n != 2 {
		t.Fatalf("DrainOnce = %d, %v", n, err)
	}
	// The second message was handed back (no attempt counted) and claimed
	// again with a fresh lease before it was sent.
	if len(st.retries) != 1 || st.retries[0] != msgs[1].ID {
		t.Fatalf("released %v, want [%s]", st.retries, msgs[1].ID)
	}
	for _, m := range listOutbox(t, st, "org_mail", store.OutboxSent) {
		if m.Attempts != 0 {
			t.Fatalf("message %s: %d attempts counted", m.ID, m.Attempts)
		}
	}
	if _, err := mailer.NewDispatcher(st, m, nil, nil, mailer.DispatcherConfig{Lease: time.Second, SendTimeout: time.Second}); err == nil {
		t.Fatal("Lease not longer than SendTimeout accepted")
	}
}

// TestDispatcherRateLimit: with RateLimit every message is still delivered
// exactly once, and never faster than the limit. (A lower bound on the
// time between sends: load can only make it longer, never break it.)
func TestDispatcherRateLimit(t *testing.T) {
	st := memstore.New()
	queueMails(t, st, mustSealer(t), queueSpec{N: 21})
	var (
		mu    sync.Mutex
		times []time.Time
		ids   = map[string]int{}
	)
	m := mailer.MailerFunc(func(ctx context.Context, msg mailer.Message) error {
		mu.Lock()
		defer mu.Unlock()
		times = append(times, time.Now())
		ids[msg.MessageID]++
		return nil
	})
	const perSecond = 200
	d := mustDispatcher(t, st, m, mailer.DispatcherConfig{Concurrency: 8, RateLimit: perSecond})
	n, err := d.DrainOnce(context.Background())
	if err != nil || n != 21 {
		t.Fatalf("DrainOnce = %d, %v", n, err)
	}
	if len(ids) != 21 {
		t.Fatalf("%d distinct messages sent, want 21", len(ids))
	}
	for id, c := range ids {
		if c != 1 {
			t.Fatalf("%s sent %d times", id, c)
		}
	}
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	// Burst 1: 20 gaps of at least 1/200 s (the limiter's own slack aside).
	if span, min := times[20].Sub(times[0]), 20*time.Second/perSecond-5*time.Millisecond; span < min {
		t.Fatalf("21 sends took %v, the limit allows no less than %v", span, min)
	}
}

func TestDispatcherRateLimitCancel(t *testing.T) {
	st := memstore.New()
	queueMails(t, st, mustSealer(t), queueSpec{N: 10})
	var sent atomic.Int32
	ctx, cancel := context.WithCancel(context.Background())
	m := mailer.MailerFunc(func(context.Context, mailer.Message) error {
		if sent.Add(1) == 1 {
			cancel()
		}
		return nil
	})
	d := mustDispatcher(t, st, m, mailer.DispatcherConfig{RateLimit: 0.5}) // one every 2 s
	n, err := d.DrainOnce(ctx)
	if !errors.Is(err, context.Canceled) || n != 1 {
		t.Fatalf("DrainOnce = %d, %v", n, err)
	}
	// The messages it had leased but not started are back in the queue, due now.
	q, err := st.ClaimOutbox(context.Background(), time.Now(), time.Now().Add(time.Minute), 100)
	if err != nil || len(q)+n != 10 {
		t.Fatalf("%d claimable after cancel + %d sent, want 10 (%v)", len(q), n, err)
	}
}
