package mailer_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"os"
	"testing/fstest"
	"time"

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/mailer"
	"github.com/invitekit/invitekit/mailer/outbox"
	"github.com/invitekit/invitekit/store/memstore"
)

// A production SMTP mailer: STARTTLS on port 587 with authentication. The
// mailer connects lazily and keeps up to MaxConns connections for reuse.
func ExampleNewSMTP() {
	m, err := mailer.NewSMTP(mailer.SMTPConfig{
		Host:     "smtp.example.com",
		Username: "apikey",
		Password: os.Getenv("SMTP_PASSWORD"),
		From:     "Acme <no-reply@acme.example>",
		TLS:      mailer.TLSStartTLS, // the default; TLSImplicit for port 465
		Timeout:  10 * time.Second,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	_ = m // pass it to mailer.NewDispatcher
}

// A local catcher such as Mailpit speaks plain SMTP: say so explicitly.
func ExampleNewSMTP_mailpit() {
	m, err := mailer.NewSMTP(mailer.SMTPConfig{
		Host: "127.0.0.1", Port: 1025,
		From: "dev@localhost.test",
		TLS:  mailer.InsecureTLSNone,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
}

func ExampleNewDevInbox() {
	inbox := mailer.NewDevInbox(os.Stdout)
	inbox.Send(context.Background(), mailer.Message{
		To:        "ann@example.com",
		Subject:   "You're invited to join Acme",
		Text:      "Accept the invitation:\nhttps://app.example/accept?token=inv_1.abc\n",
		MessageID: "msg_1@invitekit",
	})
	last, _ := inbox.Last()
	fmt.Println(mailer.Links(last.Text))
	// Mount inbox.Handler() at, say, /dev/inbox in development only.
	_ = http.Handler(inbox.Handler())
	// Output:
	// ──── dev inbox: mail #1 (not sent) ────
	// To:         ann@example.com
	// Subject:    You're invited to join Acme
	// Message-ID: <msg_1@invitekit>
	//
	// Accept the invitation:
	// https://app.example/accept?token=inv_1.abc
	//
	// [https://app.example/accept?token=inv_1.abc]
}

func ExampleRenderer_Render() {
	r, err := mailer.NewRenderer(mailer.RenderConfig{
		Branding: mailer.Branding{AppName: "Acme Portal", PrimaryColor: "#0f766e"},
	})
	if err != nil {
		log.Fatal(err)
	}
	data := map[string]string{"first_name": "Jürgen", "org_name": "Acme", "inviter_name": "Ann", "locale": "de-AT"}
	secret := map[string]string{outbox.SecretAcceptURL: "https://app.example/accept?token=inv_1.abc"}
	out, err := r.Render("invitation", "", data, secret)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(out.Locale)
	fmt.Println(out.Subject)
	// Output:
	// de
	// Ann hat Sie zu Acme eingeladen
}

// Any embedded template file can be replaced; a new directory adds a locale.
func ExampleRenderConfig_overrides() {
	r, err := mailer.NewRenderer(mailer.RenderConfig{
		Overrides: fstest.MapFS{ // usually os.DirFS("mail-templates") or an embed.FS
			"en/invitation.subject.txt": {Data: []byte("{{.FirstName}}, join {{.OrgName}} on {{.App.AppName}}")},
		},
		Branding: mailer.Branding{AppName: "Shipyard"},
	})
	if err != nil {
		log.Fatal(err)
	}
	out, _ := r.Render("invitation", "en", map[string]string{"first_name": "Ann", "org_name": "Acme"},
		map[string]string{outbox.SecretAcceptURL: "https://app.example/accept?token=inv_1.abc"})
	fmt.Println(out.Subject)
	// Output: Ann, join Acme on Shipyard
}

// The dispatcher drains the outbox the invite service fills. In a server,
// run d.Run(ctx) in a goroutine; DrainOnce delivers what is due now.
func ExampleNewDispatcher() {
	key := []byte("0123456789abcdef0123456789abcdef") // 32 bytes; keep yours secret
	st := memstore.New()
	svc, err := invite.New(st, invite.Config{SecretKey: key, AcceptURL: "https://app.example/accept"})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	org, _, err := svc.CreateOrganization(ctx, invite.CreateOrganizationRequest{Name: "Acme"})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := svc.CreateUserAndMembership(ctx, org.ID, invite.InviteRequest{
		Email: "ann@example.com", UserProfile: &invite.ProfileInput{FirstName: "Ann", Locale: "de"},
	}); err != nil {
		log.Fatal(err)
	}

	inbox := mailer.NewDevInbox(nil) // or an *SMTPMailer
	// svc.Sealer() opens what svc sealed: the key is configured once.
	d, err := mailer.NewDispatcher(st, inbox, nil, svc.Sealer(), mailer.DispatcherConfig{})
	if err != nil {
		log.Fatal(err)
	}
	n, err := d.DrainOnce(ctx)
	if err != nil {
		log.Fatal(err)
	}
	last, _ := inbox.Last()
	fmt.Println(n, last.To, last.Subject)
	fmt.Printf("%+v\n", d.Stats())
	// Output:
	// 1 ann@example.com Einladung zu Acme
	// {Sent:1 Failed:0 Retried:0 Dead:0 Queued:0}
}
