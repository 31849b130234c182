package mailer_test

import (
	"context"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/invitekit/invitekit/mailer"
	"github.com/invitekit/invitekit/mailer/outbox"
	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/store/memstore"
)

// TestDispatcherHoldsMailItsTemplatesCannotRender: a template that fails at
// send time never costs a message its accept link. The message is not
// dead-lettered (even with MaxAttempts 1, over several tries), stays queued
// with its sealed link and a LastError naming the template and the field,
// and goes out with that link once the templates are fixed.
func TestDispatcherHoldsMailItsTemplatesCannotRender(t *testing.T) {
	// Only this message's data reaches the typo ("User0"), so NewRenderer's
	// sample data passes.
	brokenText := "{{if eq .FirstName \"User0\"}}{{.Frist}}{{end}}\n{{.AcceptURL}}\n"
	welcome := fstest.MapFS{
		"en/welcome.subject.txt": {Data: []byte("Welcome to {{.OrgName}}")},
		"en/welcome.txt":         {Data: []byte("Start here: {{.AcceptURL}}")},
		"en/welcome.html":        {Data: []byte(`<a href="{{.AcceptURL}}">Start</a>`)},
	}
	tests := []struct {
		name      string
		kind      string
		broken    fstest.MapFS // the templates deployed at first
		fixed     fstest.MapFS // and after the fix
		wantError []string     // in LastError
	}{
		{"field typo behind a data-dependent branch", outbox.KindInvitation,
			fstest.MapFS{"en/invitation.txt": {Data: []byte(brokenText)}}, nil,
			[]string{"en/invitation.txt:1", "<.Frist>", "can't evaluate field Frist"}},
		{"kind without templates in this process", "welcome",
			nil, welcome,
			[]string{`no templates for this mail kind: "welcome"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := memstore.New()
			clk := newClock()
			sealer := mustSealer(t)
			msg := queueMails(t, st, sealer, queueSpec{N: 1, Kind: tt.kind, Now: clk.Now()})[0]
			link := acceptLink("https://app.example/accept", 0)

			broken, err := mailer.NewRenderer(mailer.RenderConfig{Overrides: tt.broken})
			if err != nil {
				t.Fatalf("NewRenderer: %v (the samples must not reach the fault)", err)
			}
			rec := &recorder{}
			var dead []store.OutboxMessage
			d, err := mailer.NewDispatcher(st, rec, broken, sealer, mailer.DispatcherConfig{
				Now: clk.Now, MaxAttempts: 1, BaseBackoff: time.Minute, MaxBackoff: time.Hour,
				OnDead: func(m store.OutboxMessage, err error) { dead = append(dead, m) },
			})
			if err != nil {
				t.Fatal(err)
			}
			const tries = 3
			for range tries {
				if n, err := d.DrainOnce(context.Background()); n != 0 || err != nil {
					t.Fatalf("DrainOnce = %d, %v; want 0, nil", n, err)
				}
				clk.Add(time.Hour) // MaxBackoff: due again
			}
			if len(rec.Sent()) != 0 || len(dead) != 0 {
				t.Fatalf("sent %d, OnDead called %d times; want neither", len(rec.Sent()), len(dead))
			}
			checkHeld(t, st, sealer, msg.ID, link, clk.Now(), tt.wantError)
			if s := d.Stats(); s.Failed != tries || s.Retried != tries || s.Dead != 0 || s.Sent != 0 || s.Queued != 1 {
				t.Fatalf("Stats = %+v", s)
			}

			// The fix is deployed: the next dispatcher sends it, with its link.
			fixed, err := mailer.NewRenderer(mailer.RenderConfig{Overrides: tt.fixed})
			if err != nil {
				t.Fatal(err)
			}
			d2, err := mailer.NewDispatcher(st, rec, fixed, sealer, mailer.DispatcherConfig{Now: clk.Now})
			if err != nil {
				t.Fatal(err)
			}
			if n, err := d2.DrainOnce(context.Background()); n != 1 || err != nil {
				t.Fatalf("DrainOnce after the fix = %d, %v; want 1", n, err)
			}
			sent := rec.Sent()
			if len(sent) != 1 || sent[0].MessageID != msg.MessageID || !strings.Contains(sent[0].Text, link) {
				t.Fatalf("sent after the fix: %+v; want the message with %s", sent, link)
			}
		})
	}
}

// A message without a usable link stays a permanent failure: there is no
// link to keep, and no template fix would give it one.
func TestDispatcherDeadLettersMailWithoutLink(t *testing.T) {
	st := memstore.New()
	clk := newClock()
	queueMails(t, st, mustSealer(t), queueSpec{N: 1, Now: clk.Now(), AcceptBase: "javascript:alert(1)//"})
	d := mustDispatcher(t, st, &recorder{}, mailer.DispatcherConfig{Now: clk.Now})
	if _, err := d.DrainOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	dead := listOutbox(t, st, "org_mail", store.OutboxDead)
	if len(dead) != 1 || !strings.Contains(dead[0].LastError, "accept_url") {
		t.Fatalf("DEAD = %+v, want the message without a link", dead)
	}
}

// checkHeld checks that message id is held: queued, not dead-lettered (no
// event either), no attempt counted, due again at next, its LastError
// containing wantError, its sealed link still link.
func checkHeld(t *testing.T, st store.Store, sealer *outbox.Sealer, id, link string, next time.Time, wantError []string) {
	t.Helper()
	if dead := listOutbox(t, st, "org_mail", store.OutboxDead); len(dead) != 0 {
		t.Fatalf("%d DEAD messages, want none", len(dead))
	}
	q := listOutbox(t, st, "org_mail", store.OutboxQueued)
	if len(q) != 1 || q[0].ID != id {
		t.Fatalf("queued = %+v, want message %s", q, id)
	}
	held := q[0]
	if held.Attempts != 0 || !held.NextAttemptTime.Equal(next) {
		t.Fatalf("held message: attempts %d, next attempt %v; want 0 and %v (every MaxBackoff)", held.Attempts, held.NextAttemptTime, next)
	}
	for _, want := range wantError {
		if !strings.Contains(held.LastError, want) {
			t.Errorf("LastError %q lacks %q", held.LastError, want)
		}
	}
	secret, err := sealer.Open(held.ID, held.Sealed)
	if err != nil || secret[outbox.SecretAcceptURL] != link {
		t.Fatalf("sealed link of the held message: %v, %v; want %s", secret, err, link)
	}
	evs, err := st.ListEvents(context.Background(), "org_mail", 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		if ev.Type == store.EventMailDeadLettered {
			t.Fatalf("dead-letter event %v", ev.Data)
		}
	}
}
