// Package mailer delivers invitekit's mail: the Mailer interface and its
// adapters, the SMTP and dev mailers, the embedded templates and the outbox
// dispatcher that drains the store's outbox.
//
// The pieces, each safe for concurrent use:
//
//   - Mailer / MailerFunc: what the dispatcher sends through. Return
//     Permanent(err) for a failure that retrying cannot fix.
//   - SMTPMailer (NewSMTP): SMTP over STARTTLS (default), implicit TLS or,
//     for a local catcher, InsecureTLSNone; authentication; timeouts; a pool
//     of reused connections (MaxConns, default 4). Call Close when done.
//   - DevInbox (NewDevInbox): sends nothing; writes a summary to an
//     io.Writer, keeps the mail in memory and shows it on an HTML page
//     (Handler). Development and tests only: it shows accept links.
//   - Renderer (NewRenderer): the embedded html/template + text/template
//     templates per mail kind and locale ("en", "de"), overridable file by
//     file (RenderConfig.Overrides) and branded (Branding).
//   - Dispatcher (NewDispatcher): leases due outbox messages, unseals
//     (with the outbox.Sealer of package mailer/outbox, AES-256-GCM),
//     renders and sends them with Concurrency (default 4) deliveries in
//     flight, retries with exponential backoff and full jitter (30s doubling
//     up to 1h), dead-letters after MaxAttempts (default 8) with a
//     store.EventMailDeadLettered event. Delivery is at least once; every
//     attempt of a message carries the same Message-ID.
//
// The contract with the code that queues mail (kinds, data keys, the Sealer)
// is package mailer/outbox, which depends on the standard library only.
//
// The caller wires them: the invite service queues mail in the store and
// seals its links with the key of invite.Config.SecretKey; the app hands
// that service's Sealer() to NewDispatcher, runs one Dispatcher per process
// (several may share a store) with Run(ctx) and cancels ctx on shutdown.
//
// No header ever carries a user-provided line break: subjects and display
// names are flattened (SanitizeHeaderText), addresses must parse as exactly
// one address (ParseAddress), extra headers with a line break are refused.
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
