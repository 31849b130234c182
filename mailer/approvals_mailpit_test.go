package mailer_test

import (
	"context"
	"strings"
	"testing"

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/mailer"
	"github.com/invitekit/invitekit/mailer/mailpittest"
)

// TestApprovalMailsThroughMailpit: a held invitation sends nothing; its
// rejection tells the inviter (in their language, the reason escaped in
// HTML), its approval sends the invitation; through the dispatcher and
// SMTP to Mailpit.
func TestApprovalMailsThroughMailpit(t *testing.T) {
	mp := mailpittest.Start(t, mailpittest.Config{})
	ctx := context.Background()
	st := openSQLite(t)
	svc := newService(t, st, "https://app.example/accept")
	no := false
	org, admin, err := svc.CreateOrganization(ctx, invite.CreateOrganizationRequest{Name: "Acme",
		Admin: &invite.InviteRequest{Email: "boss@acme.example", SendInvitationEmail: &no}})
	if err != nil {
		t.Fatal(err)
	}
	mia, err := svc.CreateUserAndMembership(ctx, org.ID, invite.InviteRequest{Email: "mia@acme.example", Roles: []string{"member"},
		SendInvitationEmail: &no, UserProfile: &invite.ProfileInput{FirstName: "Mia", Locale: "de"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SetApprovalRules(ctx, org.ID, invite.ApprovalRulesInput{InviterRoles: []string{"member"}}, admin.User.ID); err != nil {
		t.Fatal(err)
	}
	var held []string
	for _, email := range []string{"rex@else.example", "hal@else.example"} {
		res, err := svc.CreateUserAndMembership(ctx, org.ID, invite.InviteRequest{Email: email, InvitedBy: mia.User.ID})
		if err != nil || res.Approval == nil {
			t.Fatalf("hold %s: %+v %v", email, res, err)
		}
		held = append(held, res.Approval.ID)
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
	if n, err := d.DrainOnce(ctx); err != nil || n != 0 {
		t.Fatalf("held invitations sent %d mails (%v)", n, err)
	}

	if _, err := svc.RejectInvite(ctx, org.ID, held[0], admin.User.ID, invite.RejectRequest{Reason: "Kein Kunde <b>bitte</b>"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.ApproveInvite(ctx, org.ID, held[1], admin.User.ID, invite.ApproveRequest{}); err != nil {
		t.Fatal(err)
	}
	if n, err := d.DrainOnce(ctx); err != nil || n != 2 {
		t.Fatalf("DrainOnce = %d, %v", n, err)
	}
	caught, err := mp.Messages(ctx)
	if err != nil || len(caught) != 2 {
		t.Fatalf("Mailpit has %d messages (%v)", len(caught), err)
	}
	for _, s := range caught {
		full, err := mp.Message(ctx, s.ID)
		if err != nil {
			t.Fatal(err)
		}
		switch s.To[0].Address {
		case "mia@acme.example":
			if s.Subject != "Ihre Einladung zu Acme wurde nicht freigegeben" {
				t.Errorf("notice subject %q", s.Subject)
			}
			if !strings.Contains(full.Text, "Hallo Mia,") || !strings.Contains(full.Text, "rex@else.example") || !strings.Contains(full.Text, "Kein Kunde <b>bitte</b>") {
				t.Errorf("notice text:\n%s", full.Text)
			}
			if !strings.Contains(full.HTML, "Kein Kunde &lt;b&gt;bitte&lt;/b&gt;") {
				t.Errorf("notice HTML does not escape the reason:\n%s", full.HTML)
			}
			if strings.Contains(full.Text, "token=") {
				t.Error("the notice carries a link")
			}
		case "hal@else.example":
			if !strings.Contains(s.Subject, "Acme") || !strings.Contains(full.Text, "https://app.example/accept?token=") {
				t.Errorf("approved invitation: %q\n%s", s.Subject, full.Text)
			}
		default:
			t.Errorf("mail to %v", s.To)
		}
	}
}
