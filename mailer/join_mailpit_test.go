package mailer_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/mailer"
	"github.com/invitekit/invitekit/mailer/mailpittest"
	"github.com/invitekit/invitekit/store"
)

// TestJoinOutcomeThroughMailpit: an approved and a declined request to
// join reach the person through the outbox, the dispatcher and SMTP
// (Mailpit): the approval says they are a member, the decline carries the
// admin's reason (escaped in HTML), in the organization's language.
func TestJoinOutcomeThroughMailpit(t *testing.T) {
	mp := mailpittest.Start(t, mailpittest.Config{})
	ctx := context.Background()
	st, svc, org := acmeOnSQLite(t)
	ann, err := svc.RequestToJoin(ctx, org.ID, invite.JoinRequestInput{Email: "ann@example.com", EmailVerified: true, Name: "Ann"})
	if err != nil {
		t.Fatal(err)
	}
	bob, err := svc.RequestToJoin(ctx, org.ID, invite.JoinRequestInput{Email: "bob@example.com", EmailVerified: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.ApproveJoinRequest(ctx, org.ID, ann.ID, "", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.DeclineJoinRequest(ctx, org.ID, bob.ID, "", "Only <staff>, sorry."); err != nil {
		t.Fatal(err)
	}
	r, err := mailer.NewRenderer(mailer.RenderConfig{Branding: mailer.Branding{AppName: "Acme Portal"}})
	if err != nil {
		t.Fatal(err)
	}
	d, err := mailer.NewDispatcher(st, plainSMTP(t, mp.Host, mp.SMTPPort, nil), r, mustSealer(t), mailer.DispatcherConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := d.DrainOnce(ctx); err != nil || n != 2 {
		t.Fatalf("DrainOnce = %d, %v", n, err)
	}
	if left := listOutbox(t, st, org.ID, store.OutboxQueued); len(left) != 0 {
		t.Fatalf("still queued: %v", left)
	}
	caught, err := mp.Messages(ctx)
	if err != nil || len(caught) != 2 {
		t.Fatalf("Mailpit has %d messages (%v)", len(caught), err)
	}
	for _, want := range []struct{ to, subject, text, html string }{
		{"ann@example.com", "You are now a member of Acme", "you are now a member of Acme on Acme Portal", "you are now a member of <strong>Acme</strong>"},
		{"bob@example.com", "Your request to join Acme", "Only <staff>, sorry.", "Only &lt;staff&gt;, sorry."},
	} {
		i := slices.IndexFunc(caught, func(s mailpittest.Summary) bool { return len(s.To) == 1 && s.To[0].Address == want.to })
		if i < 0 {
			t.Fatalf("no mail to %s", want.to)
		}
		if caught[i].Subject != want.subject {
			t.Errorf("%s: subject %q, want %q", want.to, caught[i].Subject, want.subject)
		}
		full, err := mp.Message(ctx, caught[i].ID)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(full.Text, want.text) || !strings.Contains(full.HTML, want.html) {
			t.Errorf("%s: parts:\n%s\n%s", want.to, full.Text, full.HTML)
		}
	}
}
