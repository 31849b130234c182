// Package mailer delivers invitekit's mail: the Mailer interface and its
// adapters, the SMTP and dev mailers, the embedded templates and the outbox
// dispatcher that drains the store's outbox.
package mailer

import (
	"context"
)

// Message is one rendered mail.
type Message struct {
	From      string // "Name <addr>" or addr; the mailer's default when empty
	To        string
	Subject   string
	Text      string // plain-text part (required)
	HTML      string // HTML part ("" for text-only)
	MessageID string // RFC 5322 Message-ID without angle brackets; stable across retries
	Headers   map[string]string
}

// Mailer sends one message. Send must be safe for concurrent use. An error
// means the message may not have been delivered; the dispatcher retries it
// with the same MessageID, so receivers can drop duplicates.
type Mailer interface {
	Send(ctx context.Context, m Message) error
}

// MailerFunc adapts a function to the Mailer interface.
type MailerFunc func(ctx context.Context, m Message) error

// Send calls f(ctx, m).
func (f MailerFunc) Send(ctx context.Context, m Message) error { return f(ctx, m) }
