package mailpittest_test

import (
	"context"
	"net/smtp"
	"strings"
	"testing"

	"github.com/invitekit/invitekit/mailer/mailpittest"
)

func TestBinaryOverride(t *testing.T) {
	t.Setenv("INVITEKIT_MAILPIT", "/nonexistent/mailpit")
	if p, ok := mailpittest.Binary(); ok {
		t.Fatalf("Binary() = %q, true for a missing override", p)
	}
}

func TestStartSendReadDelete(t *testing.T) {
	mp := mailpittest.Start(t, mailpittest.Config{})
	ctx := context.Background()
	body := "From: a@example.com\r\nTo: b@example.com\r\nSubject: hello\r\nMessage-ID: <m1@test>\r\n\r\nbody text\r\n"
	if err := smtp.SendMail(mp.SMTPAddr(), nil, "a@example.com", []string{"b@example.com"}, []byte(body)); err != nil {
		t.Fatal(err)
	}
	if n, err := mp.WaitCount(ctx, 1); err != nil || n != 1 {
		t.Fatalf("WaitCount = %d, %v", n, err)
	}
	msgs, err := mp.Messages(ctx)
	if err != nil || len(msgs) != 1 || msgs[0].MessageID != "m1@test" || msgs[0].Subject != "hello" || msgs[0].To[0].Address != "b@example.com" {
		t.Fatalf("Messages = %+v, %v", msgs, err)
	}
	full, err := mp.Message(ctx, msgs[0].ID)
	if err != nil || !strings.Contains(full.Text, "body text") {
		t.Fatalf("Message = %+v, %v", full, err)
	}
	h, err := mp.Headers(ctx, msgs[0].ID)
	if err != nil || h["Subject"][0] != "hello" {
		t.Fatalf("Headers = %v, %v", h, err)
	}
	if err := mp.DeleteAll(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := mp.Count(ctx); err != nil || n != 0 {
		t.Fatalf("Count after DeleteAll = %d, %v", n, err)
	}
	mp.Stop()
	mp.Stop() // idempotent
	if _, err := mp.Count(ctx); err == nil {
		t.Fatal("API still answers after Stop")
	}
}
