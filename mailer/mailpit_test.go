package mailer_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/mailer"
	"github.com/invitekit/invitekit/mailer/mailpittest"
	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/store/sqlitestore"
)

func openSQLite(t testing.TB) *sqlitestore.Store {
	t.Helper()
	st, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "kit.db"), sqlitestore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// acmeOnSQLite opens a SQLite store and a service on it, with an
// organization "Acme".
func acmeOnSQLite(t testing.TB) (*sqlitestore.Store, *invite.Service, store.Organization) {
	t.Helper()
	st := openSQLite(t)
	svc := newService(t, st, "https://app.example/accept")
	org, _, err := svc.CreateOrganization(context.Background(), invite.CreateOrganizationRequest{Name: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	return st, svc, org
}

// acceptPage is a tiny accept page backed by the real invite service: it
// answers 200 only for a token LookupInvitation accepts.
func acceptPage(t testing.TB, svc **invite.Service) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info, err := (*svc).LookupInvitation(r.Context(), r.URL.Query().Get("token"))
		if err != nil {
			http.Error(w, "invalid invitation", http.StatusNotFound)
			return
		}
		fmt.Fprintf(w, "join %s as %s", info.Organization.Name, info.User.Email)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func newService(t testing.TB, st store.Store, acceptURL string) *invite.Service {
	t.Helper()
	svc, err := invite.New(st, invite.Config{SecretKey: testKey, AcceptURL: acceptURL})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// TestInvitationThroughMailpit sends real invitations from a SQLite store
// through the dispatcher and the SMTP mailer to Mailpit and checks what
// arrived: headers, both parts, the locale, and that the accept link works.
func TestInvitationThroughMailpit(t *testing.T) {
	mp := mailpittest.Start(t, mailpittest.Config{})
	ctx := context.Background()
	st := openSQLite(t)
	var svc *invite.Service
	page := acceptPage(t, &svc)
	svc = newService(t, st, page.URL+"/accept")

	org, _, err := svc.CreateOrganization(ctx, invite.CreateOrganizationRequest{Name: "Acme <GmbH>"})
	if err != nil {
		t.Fatal(err)
	}
	invitees := []struct {
		email, first, locale, wantSubject, wantText string
	}{
		{"ann@example.com", "Ann", "de-AT", "Einladung zu Acme <GmbH>", "Hallo Ann,"},
		{"bob@example.com", "Bob", "", "You're invited to join Acme <GmbH>", "Hello Bob,"},
	}
	for _, in := range invitees {
		_, err := svc.CreateUserAndMembership(ctx, org.ID, invite.InviteRequest{
			Email: in.email, UserProfile: &invite.ProfileInput{FirstName: in.first, LastName: "Example", Locale: in.locale},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	queued := listOutbox(t, st, org.ID, store.OutboxQueued)
	if len(queued) != 2 {
		t.Fatalf("%d mails queued, want 2", len(queued))
	}
	for _, q := range queued {
		if strings.Contains(string(q.Sealed), "token=") {
			t.Fatal("accept link stored in clear text")
		}
	}

	sm := plainSMTP(t, mp.Host, mp.SMTPPort, nil)
	r, err := mailer.NewRenderer(mailer.RenderConfig{Branding: mailer.Branding{AppName: "Acme Portal"}})
	if err != nil {
		t.Fatal(err)
	}
	d, err := mailer.NewDispatcher(st, sm, r, mustSealer(t), mailer.DispatcherConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := d.DrainOnce(ctx); err != nil || n != 2 {
		t.Fatalf("DrainOnce = %d, %v", n, err)
	}

	caught, err := mp.Messages(ctx)
	if err != nil || len(caught) != 2 {
		t.Fatalf("Mailpit has %d messages (%v)", len(caught), err)
	}
	for _, in := range invitees {
		t.Run(in.email, func(t *testing.T) {
			i := slices.IndexFunc(caught, func(s mailpittest.Summary) bool { return len(s.To) == 1 && s.To[0].Address == in.email })
			if i < 0 {
				t.Fatalf("no mail to %s", in.email)
			}
			s := caught[i]
			q := queued[slices.IndexFunc(queued, func(m store.OutboxMessage) bool { return m.To == in.email })]
			if s.MessageID != q.MessageID {
				t.Errorf("Message-ID %q, want the outbox's %q", s.MessageID, q.MessageID)
			}
			if s.From.Address != "noreply@acme.test" || s.From.Name != "Acme Invites" {
				t.Errorf("From = %+v", s.From)
			}
			if s.Subject != in.wantSubject {
				t.Errorf("Subject = %q, want %q", s.Subject, in.wantSubject)
			}
			full, err := mp.Message(ctx, s.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(full.Text, in.wantText) || !strings.Contains(full.HTML, "Acme &lt;GmbH&gt;") || !strings.Contains(full.HTML, "Acme Portal") {
				t.Errorf("parts:\n%s\n%s", full.Text, full.HTML)
			}
			links := mailer.Links(full.Text)
			var link string
			for _, l := range links {
				if strings.HasPrefix(l, page.URL+"/accept?token=") {
					link = l
				}
			}
			if link == "" {
				t.Fatalf("no accept link in the text part: %v", links)
			}
			if !strings.Contains(full.HTML, `href="`+link+`"`) {
				t.Errorf("HTML part lacks the same link")
			}
			// The link works: the accept page (the real service) knows it.
			resp, err := http.Get(link)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET accept link: %s", resp.Status)
			}
			u, _ := url.Parse(link)
			info, err := svc.LookupInvitation(ctx, u.Query().Get("token"))
			if err != nil || info.User.Email != in.email {
				t.Fatalf("LookupInvitation = %+v, %v", info.User.Email, err)
			}
			// A tampered token is refused by the same page.
			resp, err = http.Get(link + "x")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusNotFound {
				t.Fatalf("tampered link: %s", resp.Status)
			}
		})
	}
	// Delivered: the sealed link is erased from the store.
	for _, m := range listOutbox(t, st, org.ID, store.OutboxSent) {
		if m.Sealed != nil {
			t.Fatalf("sent message %s still holds its sealed link", m.ID)
		}
	}
}

// TestOutboxSurvivesSMTPOutage queues invitations while the SMTP server is
// down, lets the dispatcher fail and retry, then starts the server, stops it
// in the middle and starts it again: every mail arrives, none twice.
func TestOutboxSurvivesSMTPOutage(t *testing.T) {
	if _, ok := mailpittest.Binary(); !ok {
		t.Skipf("mailpit binary not found (set INVITEKIT_MAILPIT or run %q)", mailpittest.Install)
	}
	ctx := context.Background()
	st, svc, org := acmeOnSQLite(t)
	inviteRange := func(from, to int) {
		for i := from; i < to; i++ {
			_, err := svc.CreateUserAndMembership(ctx, org.ID, invite.InviteRequest{Email: fmt.Sprintf("user%03d@example.com", i)})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	port := mailpittest.FreePort(t)
	dbFile := filepath.Join(t.TempDir(), "mailpit.db")
	sm := plainSMTP(t, "127.0.0.1", port, func(c *mailer.SMTPConfig) { c.Timeout = 2 * time.Second })
	d, err := mailer.NewDispatcher(st, sm, nil, mustSealer(t), mailer.DispatcherConfig{
		Concurrency: 4, BaseBackoff: 50 * time.Millisecond, MaxBackoff: 500 * time.Millisecond,
		MaxAttempts: 10000, PollInterval: 10 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- d.Run(runCtx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
	}()

	// Phase 1: server down. Invitations are created and queued; every mail
	// fails at least once and the failure is recorded.
	inviteRange(0, 50)
	waitFor(t, "every queued mail to fail once", func() bool {
		q := listOutbox(t, st, org.ID, store.OutboxQueued)
		return len(q) == 50 && !slices.ContainsFunc(q, func(m store.OutboxMessage) bool { return m.Attempts == 0 || m.LastError == "" })
	})
	if s := d.Stats(); s.Sent != 0 || s.Retried < 50 || s.Queued != 50 || s.Dead != 0 {
		t.Fatalf("Stats while down = %+v", s)
	}

	// Phase 2: server up; stop it again once some mail got through.
	mp := mailpittest.Start(t, mailpittest.Config{SMTPPort: port, Database: dbFile})
	waitFor(t, "some deliveries", func() bool { return d.Stats().Sent >= 10 })
	mp.Stop()
	inviteRange(50, 100) // queued while the server is down again
	waitFor(t, "failures after the second outage", func() bool {
		q := listOutbox(t, st, org.ID, store.OutboxQueued)
		return len(q) > 0 && !slices.ContainsFunc(q, func(m store.OutboxMessage) bool { return m.Attempts == 0 })
	})

	// Phase 3: the server comes back with its mail.
	mp = mailpittest.Start(t, mailpittest.Config{SMTPPort: port, Database: dbFile})
	waitFor(t, "the outbox to drain", func() bool { return d.Stats().Queued == 0 })

	caught, err := mp.Messages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sent := listOutbox(t, st, org.ID, store.OutboxSent)
	if len(sent) != 100 {
		t.Fatalf("%d SENT in the store, want 100", len(sent))
	}
	want := map[string]bool{}
	for _, m := range sent {
		want[m.MessageID] = true
	}
	seen := map[string]int{}
	for _, c := range caught {
		seen[c.MessageID]++
	}
	var lost, dup []string
	for id := range want {
		if seen[id] == 0 {
			lost = append(lost, id)
		}
	}
	for id, n := range seen {
		if n > 1 || !want[id] {
			dup = append(dup, id)
		}
	}
	if len(lost) != 0 || len(dup) != 0 || len(caught) != 100 {
		t.Fatalf("caught %d: lost %v, duplicated or unknown %v", len(caught), lost, dup)
	}
	s := d.Stats()
	if s.Sent != 100 || s.Dead != 0 || s.Failed < 100 {
		t.Fatalf("Stats = %+v", s)
	}
	t.Logf("stats after the outages: %+v", s)
}

// BenchmarkOutboxToMailpit measures outbox → SMTP → Mailpit throughput:
// b.N invitations (half English, half German) are queued (not timed), then
// DrainOnce renders and delivers them over pooled SMTP connections with 8
// deliveries in flight. Afterwards Mailpit must hold exactly b.N mails.
//
//	go test -run '^$' -bench OutboxToMailpit -benchtime 2000x ./mailer/
func BenchmarkOutboxToMailpit(b *testing.B) {
	for _, storeName := range []string{"sqlitestore", "memstore"} {
		b.Run(storeName, func(b *testing.B) {
			mp := mailpittest.Start(b, mailpittest.Config{})
			m := plainSMTP(b, mp.Host, mp.SMTPPort, func(c *mailer.SMTPConfig) { c.MaxConns = benchConcurrency })
			benchOutbox(b, storeName, m, mp)
			if n, err := mp.Count(context.Background()); err != nil || n != b.N {
				b.Fatalf("Mailpit holds %d mails (%v), want %d", n, err, b.N)
			}
		})
	}
	// The same pipeline without SMTP: the dispatcher's and store's own ceiling.
	b.Run("sqlitestore-devinbox", func(b *testing.B) {
		benchOutbox(b, "sqlitestore", mailer.NewDevInbox(nil), nil)
	})
}

// benchConcurrency is the dispatcher's Concurrency and the SMTP pool size.
const benchConcurrency = 8

// benchOutbox queues b.N mails, drains them and reports mails/s plus the
// CPU each side spent per mail: this process (store, dispatcher, templates,
// SMTP client) and, when mp is set, Mailpit.
func benchOutbox(b *testing.B, storeName string, m mailer.Mailer, mp *mailpittest.Server) {
	var st store.Store
	if storeName == "sqlitestore" {
		st = openSQLite(b)
	} else {
		st = newMemstore()
	}
	d, err := mailer.NewDispatcher(st, m, nil, mustSealer(b), mailer.DispatcherConfig{Concurrency: benchConcurrency, BatchSize: 64})
	if err != nil {
		b.Fatal(err)
	}
	queueMails(b, st, mustSealer(b), queueSpec{N: b.N, OrgID: "org_bench", Locale: func(i int) string { return []string{"en", "de"}[i%2] }})
	kit0 := processCPU()
	var mp0 time.Duration
	if mp != nil {
		mp0, _ = mp.CPUTime()
	}
	b.ResetTimer()
	start := time.Now()
	n, err := d.DrainOnce(context.Background())
	elapsed := time.Since(start)
	b.StopTimer()
	if err != nil || n != b.N {
		b.Fatalf("DrainOnce = %d, %v; want %d", n, err, b.N)
	}
	b.ReportMetric(float64(n)/elapsed.Seconds(), "mails/s")
	b.ReportMetric(float64((processCPU()-kit0).Microseconds())/float64(n), "kit-cpu-µs/mail")
	if mp != nil {
		if mp1, err := mp.CPUTime(); err == nil {
			b.ReportMetric(float64((mp1-mp0).Microseconds())/float64(n), "mailpit-cpu-µs/mail")
		}
	}
}

// processCPU is this process's user + system CPU time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestBulkImportThrottledThroughMailpit: a bulk import queues its
// invitations in the outbox; a dispatcher with RateLimit delivers every
// one of them to Mailpit over SMTP, once, no faster than the limit.
func TestBulkImportThrottledThroughMailpit(t *testing.T) {
	mp := mailpittest.Start(t, mailpittest.Config{})
	ctx := context.Background()
	st, svc, org := acmeOnSQLite(t)
	var csv strings.Builder
	csv.WriteString("email,first_name\n")
	for i := range 30 {
		fmt.Fprintf(&csv, "bulk%02d@example.com,Person %d\n", i, i)
	}
	rep, err := svc.BulkInvite(ctx, org.ID, strings.NewReader(csv.String()), invite.BulkOptions{BatchSize: 8})
	if err != nil || rep.Summary.Created != 30 {
		t.Fatalf("BulkInvite: %+v, %v", rep.Summary, err)
	}

	sm := plainSMTP(t, mp.Host, mp.SMTPPort, nil)
	var (
		mu     sync.Mutex
		starts []time.Time
	)
	timed := mailer.MailerFunc(func(ctx context.Context, msg mailer.Message) error {
		mu.Lock()
		starts = append(starts, time.Now())
		mu.Unlock()
		return sm.Send(ctx, msg)
	})
	const perSecond = 100
	d, err := mailer.NewDispatcher(st, timed, nil, mustSealer(t), mailer.DispatcherConfig{Concurrency: 8, RateLimit: perSecond})
	if err != nil {
		t.Fatal(err)
	}
	// The bound is measured from before the first token is taken: a late
	// first goroutine cannot shrink it (the span between two recorded
	// starts can be, when the first send's goroutine ran late).
	begin := time.Now()
	if n, err := d.DrainOnce(ctx); err != nil || n != 30 {
		t.Fatalf("DrainOnce = %d, %v", n, err)
	}
	slices.SortFunc(starts, func(a, b time.Time) int { return a.Compare(b) })
	if span, min := starts[29].Sub(begin), 29*time.Second/perSecond-5*time.Millisecond; span < min {
		t.Fatalf("30 sends started within %v; the limit allows no less than %v", span, min)
	}

	caught, err := mp.Messages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, c := range caught {
		seen[c.MessageID]++
	}
	sent := listOutbox(t, st, org.ID, store.OutboxSent)
	if len(caught) != 30 || len(sent) != 30 {
		t.Fatalf("Mailpit caught %d, store marked %d sent; want 30", len(caught), len(sent))
	}
	for _, m := range sent {
		if seen[m.MessageID] != 1 {
			t.Fatalf("%s arrived %d times", m.MessageID, seen[m.MessageID])
		}
	}
}
