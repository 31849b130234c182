package mailer_test

import (
	"context"
	"strings"
	"testing"

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/mailer"
	"github.com/invitekit/invitekit/mailer/mailpittest"
)

// TestJoinRequestNoticeThroughMailpit: a request to join reaches the
// organization's admin through the outbox, the dispatcher and SMTP
// (Mailpit), naming who asks and carrying their note (escaped in HTML);
// an organization whose locale is German gets the German mail.
func TestJoinRequestNoticeThroughMailpit(t *testing.T) {
	mp := mailpittest.Start(t, mailpittest.Config{})
	ctx := context.Background()
	st := openSQLite(t)
	svc := newService(t, st, "https://app.example/accept")
	no := false
	for _, o := range []struct{ name, locale, admin string }{{"Acme", "", "dan@acme.example"}, {"Beta", "de", "uwe@beta.example"}} {
		org, _, err := svc.CreateOrganization(ctx, invite.CreateOrganizationRequest{
			Name: o.name, Locale: o.locale, Admin: &invite.InviteRequest{Email: o.admin, SendInvitationEmail: &no},
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.RequestToJoin(ctx, org.ID, invite.JoinRequestInput{
			Email: "ann@example.com", EmailVerified: true, Name: "Ann Lee", Message: "I run <sales>.",
		}); err != nil {
			t.Fatal(err)
		}
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
	caught, err := mp.Messages(ctx)
	if err != nil || len(caught) != 2 {
		t.Fatalf("Mailpit has %d messages (%v)", len(caught), err)
	}
	for _, want := range []struct{ to, subject, text, html string }{
		{"dan@acme.example", "ann@example.com asks to join Acme", "Ann Lee (ann@example.com) asks to join Acme on Acme Portal", "I run &lt;sales&gt;."},
		{"uwe@beta.example", "ann@example.com möchte Beta beitreten", "Ann Lee (ann@example.com) möchte Beta bei Acme Portal beitreten", "I run &lt;sales&gt;."},
	} {
		var found bool
		for _, s := range caught {
			if len(s.To) != 1 || s.To[0].Address != want.to {
				continue
			}
			found = true
			if s.Subject != want.subject {
				t.Errorf("%s: subject %q, want %q", want.to, s.Subject, want.subject)
			}
			full, err := mp.Message(ctx, s.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(full.Text, want.text) || !strings.Contains(full.Text, "I run <sales>.") || !strings.Contains(full.HTML, want.html) {
				t.Errorf("%s: parts:\n%s\n%s", want.to, full.Text, full.HTML)
			}
		}
		if !found {
			t.Errorf("no mail to %s", want.to)
		}
	}
}
