package mailer

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"strings"
	"sync"
	"time"

	gomail "github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"
)

// TLSMode selects how the SMTP mailer secures its connection.
type TLSMode string

// TLS modes. The two secure ones verify the server certificate.
const (
	// TLSStartTLS connects in plain text and requires STARTTLS before
	// anything else is sent (submission port 587). The default.
	TLSStartTLS TLSMode = "starttls"
	// TLSImplicit speaks TLS from the first byte (SMTPS, port 465).
	TLSImplicit TLSMode = "implicit"
	// InsecureTLSOpportunistic uses STARTTLS when the server offers it and
	// plain text otherwise, so an attacker on the path can downgrade it.
	InsecureTLSOpportunistic TLSMode = "opportunistic"
	// InsecureTLSNone never encrypts: mail and credentials cross the network
	// in plain text. Only for a local catcher such as Mailpit.
	InsecureTLSNone TLSMode = "none"
)

// SMTP defaults.
const (
	DefaultSMTPTimeout     = 15 * time.Second
	DefaultSMTPMaxConns    = 4
	DefaultSMTPIdleTimeout = 30 * time.Second
)

// ErrSMTPClosed is returned by Send after Close.
var ErrSMTPClosed = errors.New("mailer: smtp mailer closed")

// SMTPConfig configures NewSMTP. Host and From are required; every other
// zero value is a safe default.
type SMTPConfig struct {
	Host string // SMTP server host name (required)
	// Port defaults to 587 (TLSStartTLS), 465 (TLSImplicit) or 25.
	Port int
	// Username and Password authenticate when Username is not empty. Over
	// TLS the strongest mechanism the server offers is picked (SCRAM,
	// CRAM-MD5, PLAIN, LOGIN); with InsecureTLSNone PLAIN is sent in the
	// clear; with InsecureTLSOpportunistic on a plain connection only the
	// challenge-response mechanisms are used.
	Username string
	Password string
	// From is the default sender, "Name <addr>" or "addr" (required). A
	// Message's own From overrides it.
	From string
	// TLS defaults to TLSStartTLS.
	TLS TLSMode
	// TLSConfig customizes certificate checks (RootCAs, ServerName, …);
	// it is cloned. Default: system roots, ServerName = Host, TLS 1.2+.
	TLSConfig *tls.Config
	// Timeout bounds the dial and every SMTP command (default 15s).
	Timeout time.Duration
	// MaxConns bounds the open connections (default 4). Send blocks while
	// all are busy; SendBatch uses one for the whole batch.
	MaxConns int
	// IdleTimeout closes a pooled connection unused for this long (default
	// 30s). A connection idle for more than a second is checked with NOOP
	// before it is reused.
	IdleTimeout time.Duration
	// HELO is the name sent in EHLO (default: the machine's host name).
	HELO   string
	Logger *slog.Logger
}

// SMTPMailer sends mail over SMTP (github.com/wneessen/go-mail). It keeps up
// to MaxConns connections and reuses them across Send calls, so a busy
// dispatcher pays the TCP, TLS and AUTH handshakes once per connection, not
// once per mail.
//
// Before sending, every header value is checked: the subject and display
// names are flattened to one line (SanitizeHeaderText), addresses must parse
// as exactly one address, and extra headers with a line break are refused
// with ErrHeaderInjection. The Message-ID is Message.MessageID, so a retried
// mail carries the same id.
//
// An SMTPMailer is safe for concurrent use. Call Close when done to send QUIT
// on the pooled connections.
type SMTPMailer struct {
	client      *gomail.Client
	from        *mail.Address
	idleTimeout time.Duration
	log         *slog.Logger

	slots chan struct{} // one token per allowed open connection

	mu     sync.Mutex
	idle   []*smtpConn // LIFO
	closed bool
}

type smtpConn struct {
	c        *smtp.Client
	lastUsed time.Time
}

// staleAfter is how long a pooled connection may idle before it is checked
// with NOOP.
const staleAfter = time.Second

// NewSMTP validates cfg and returns an SMTP mailer. It does not connect
// (nor resolve Host): the first Send does.
func NewSMTP(cfg SMTPConfig) (*SMTPMailer, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	from, err := ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("mailer: smtp: From: %w", err)
	}
	client, err := gomail.NewClient(cfg.Host, cfg.clientOptions()...)
	if err != nil {
		return nil, fmt.Errorf("mailer: smtp: %w", err)
	}
	return &SMTPMailer{
		client:      client,
		from:        from,
		idleTimeout: cfg.IdleTimeout,
		log:         cfg.Logger,
		slots:       make(chan struct{}, cfg.MaxConns),
	}, nil
}

// tlsMode is how go-mail implements a TLSMode.
type tlsMode struct {
	policy gomail.TLSPolicy
	ssl    bool // TLS from the first byte
	port   int  // default port
}

var tlsModes = map[TLSMode]tlsMode{
	TLSStartTLS:              {policy: gomail.TLSMandatory, port: gomail.DefaultPortTLS},
	TLSImplicit:              {policy: gomail.NoTLS, ssl: true, port: gomail.DefaultPortSSL},
	InsecureTLSOpportunistic: {policy: gomail.TLSOpportunistic, port: gomail.DefaultPortTLS},
	InsecureTLSNone:          {policy: gomail.NoTLS, port: gomail.DefaultPort},
}

// withDefaults validates c and fills its zero fields with the defaults
// (Port by TLS mode). It does no I/O.
func (c SMTPConfig) withDefaults() (SMTPConfig, error) {
	if err := c.validate(); err != nil {
		return SMTPConfig{}, err
	}
	c.TLS = cmp.Or(c.TLS, TLSStartTLS)
	mode, ok := tlsModes[c.TLS]
	if !ok {
		return SMTPConfig{}, fmt.Errorf("mailer: smtp: unknown TLS mode %q (want %q, %q, %q or %q)",
			c.TLS, TLSStartTLS, TLSImplicit, InsecureTLSOpportunistic, InsecureTLSNone)
	}
	c.Port = cmp.Or(c.Port, mode.port)
	c.Timeout = cmp.Or(c.Timeout, DefaultSMTPTimeout)
	c.MaxConns = cmp.Or(c.MaxConns, DefaultSMTPMaxConns)
	c.IdleTimeout = cmp.Or(c.IdleTimeout, DefaultSMTPIdleTimeout)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// validate checks the fields that have no default.
func (c SMTPConfig) validate() error {
	switch {
	case strings.TrimSpace(c.Host) == "":
		return errors.New("mailer: smtp: Host is required")
	case hasControl(c.Host):
		return fmt.Errorf("mailer: smtp: Host: %w", ErrHeaderInjection)
	case c.Timeout < 0 || c.MaxConns < 0 || c.IdleTimeout < 0 || c.Port < 0 || c.Port > 65535:
		return errors.New("mailer: smtp: Port, Timeout, MaxConns and IdleTimeout must not be negative")
	case hasControl(c.HELO) || strings.Contains(c.HELO, " "):
		return fmt.Errorf("mailer: smtp: HELO: %w", ErrHeaderInjection)
	}
	if _, err := ParseAddress(c.From); err != nil {
		return fmt.Errorf("mailer: smtp: From: %w", err)
	}
	return nil
}

// tlsConfig is c.TLSConfig cloned (or a new one), at least TLS 1.2, with
// ServerName defaulting to Host.
func (c SMTPConfig) tlsConfig() *tls.Config {
	t := &tls.Config{}
	if c.TLSConfig != nil {
		t = c.TLSConfig.Clone()
	}
	t.MinVersion = cmp.Or(t.MinVersion, tls.VersionTLS12)
	t.ServerName = cmp.Or(t.ServerName, c.Host)
	return t
}

// clientOptions are go-mail's options for c, which withDefaults returned.
func (c SMTPConfig) clientOptions() []gomail.Option {
	mode := tlsModes[c.TLS]
	opts := []gomail.Option{
		gomail.WithTimeout(c.Timeout),
		gomail.WithTLSConfig(c.tlsConfig()),
		// The mailer checks idle connections itself and does not need a
		// RSET after a completed transaction: two round trips saved per mail.
		gomail.WithoutNoop(),
		gomail.WithoutRset(),
		gomail.WithTLSPolicy(mode.policy),
		gomail.WithPort(c.Port),
	}
	if mode.ssl {
		opts = append(opts, gomail.WithSSL())
	}
	if c.Username != "" {
		auth := gomail.SMTPAuthAutoDiscover
		if c.TLS == InsecureTLSNone {
			auth = gomail.SMTPAuthPlainNoEnc
		}
		opts = append(opts, gomail.WithSMTPAuth(auth), gomail.WithUsername(c.Username), gomail.WithPassword(c.Password))
	}
	if c.HELO != "" {
		opts = append(opts, gomail.WithHELO(c.HELO))
	}
	return opts
}

// Send delivers one message, reusing a pooled connection when one is idle.
// Invalid input (bad address, header injection, reserved header) fails with
// a Permanent error and nothing is sent. A recipient rejected for good by the
// server (5xx) is Permanent too; every other failure may be retried.
// Cancelling ctx aborts the transaction.
func (s *SMTPMailer) Send(ctx context.Context, m Message) error {
	return s.SendBatch(ctx, []Message{m})[0]
}

// SendBatch delivers ms over one connection (one dial, many transactions)
// and returns one error per message (nil = accepted by the server). When the
// connection breaks, the remaining messages are sent over a new one.
func (s *SMTPMailer) SendBatch(ctx context.Context, ms []Message) []error {
	errs := make([]error, len(ms))
	msgs := make([]*gomail.Msg, len(ms))
	pending := 0
	for i, m := range ms {
		msgs[i], errs[i] = s.build(m)
		if errs[i] == nil {
			pending++
		}
	}
	if pending == 0 {
		return errs
	}
	if err := s.acquire(ctx); err != nil {
		for i := range ms {
			if errs[i] == nil {
				errs[i] = err
			}
		}
		return errs
	}
	defer func() { <-s.slots }()

	var conn *smtpConn
	for i, msg := range msgs {
		if msg == nil {
			continue
		}
		if err := ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		var err error
		conn, err = s.sendOne(ctx, conn, msg)
		errs[i] = err
	}
	if conn != nil {
		s.release(conn)
	}
	return errs
}

// sendOne sends msg over conn (or a pooled or new connection when conn is
// nil) and returns the connection if it is still usable.
func (s *SMTPMailer) sendOne(ctx context.Context, conn *smtpConn, msg *gomail.Msg) (*smtpConn, error) {
	for {
		reused := conn != nil
		if conn == nil {
			var err error
			conn, reused, err = s.conn(ctx)
			if err != nil {
				return nil, fmt.Errorf("mailer: smtp: connect: %w", err)
			}
		}
		c := conn.c
		stop := context.AfterFunc(ctx, func() { c.Close() })
		err := s.client.SendWithSMTPClient(conn.c, msg)
		stop()
		if err == nil {
			conn.lastUsed = time.Now()
			return conn, nil
		}
		conn.c.Close()
		if msg.IsDelivered() {
			// The server accepted the data; only the clean-up failed.
			return nil, nil
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, fmt.Errorf("mailer: smtp: %w", ctxErr)
		}
		// A pooled connection the server dropped meanwhile fails before
		// any data is accepted: retry on another one. Each retry drops one
		// pooled connection; a fresh connection is not retried.
		if reused && brokenBeforeData(err) {
			conn = nil
			continue
		}
		if rejectedForGood(err) {
			return nil, Permanent(fmt.Errorf("mailer: smtp: %w", err))
		}
		return nil, fmt.Errorf("mailer: smtp: %w", err)
	}
}

// brokenBeforeData reports a failure before the DATA payload was sent that
// carries no SMTP reply (a network error on a stale connection).
func brokenBeforeData(err error) bool {
	var se *gomail.SendError
	if !errors.As(err, &se) || se.ErrorCode() != 0 {
		return false
	}
	switch se.Reason {
	case gomail.ErrConnCheck, gomail.ErrSMTPMailFrom, gomail.ErrSMTPRcptTo, gomail.ErrSMTPData:
		return true
	}
	return false
}

// rejectedForGood reports a recipient the server refused with a permanent
// (5xx) reply. Policy refusals (enhanced code 5.7.x: relaying denied, auth
// required) are often configuration problems and stay retryable.
func rejectedForGood(err error) bool {
	var se *gomail.SendError
	if !errors.As(err, &se) || se.Reason != gomail.ErrSMTPRcptTo {
		return false
	}
	code := se.ErrorCode()
	return code >= 500 && code < 600 && !strings.HasPrefix(se.EnhancedStatusCode(), "5.7.")
}

// acquire takes a connection slot.
func (s *SMTPMailer) acquire(ctx context.Context) error {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return ErrSMTPClosed
	}
	select {
	case s.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("mailer: smtp: %w", ctx.Err())
	}
}

// conn returns a pooled connection (reused=true) or dials a new one. The
// caller holds a slot.
func (s *SMTPMailer) conn(ctx context.Context) (*smtpConn, bool, error) {
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return nil, false, ErrSMTPClosed
		}
		var c *smtpConn
		if n := len(s.idle); n > 0 {
			c = s.idle[n-1]
			s.idle[n-1] = nil
			s.idle = s.idle[:n-1]
		}
		s.mu.Unlock()
		if c == nil {
			break
		}
		idle := time.Since(c.lastUsed)
		if idle > s.idleTimeout {
			c.c.Close()
			continue
		}
		if idle > staleAfter {
			if err := c.c.Noop(); err != nil {
				c.c.Close()
				continue
			}
		}
		return c, true, nil
	}
	c, err := s.dial(ctx)
	if err != nil {
		return nil, false, err
	}
	return &smtpConn{c: c, lastUsed: time.Now()}, false, nil
}

// dial connects, greets, secures and authenticates. go-mail honours ctx only
// while dialing TCP; the handshake after it is bounded by Timeout alone. So
// the handshake runs in its own goroutine and dial returns as soon as ctx
// is done; a connection finished after that is closed.
func (s *SMTPMailer) dial(ctx context.Context) (*smtp.Client, error) {
	type result struct {
		c   *smtp.Client
		err error
	}
	ch := make(chan result, 1)
	go func() {
		c, err := s.client.DialToSMTPClientWithContext(ctx)
		ch <- result{c, err}
	}()
	select {
	case r := <-ch:
		return r.c, r.err
	case <-ctx.Done():
		go func() {
			if r := <-ch; r.c != nil {
				r.c.Close()
			}
		}()
		return nil, ctx.Err()
	}
}

// release returns a healthy connection to the pool.
func (s *SMTPMailer) release(c *smtpConn) {
	s.mu.Lock()
	if !s.closed {
		s.idle = append(s.idle, c)
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	s.quit(c)
}

func (s *SMTPMailer) quit(c *smtpConn) {
	if err := c.c.Quit(); err != nil {
		c.c.Close()
	}
}

// Close sends QUIT on the idle connections and makes later sends fail with
// ErrSMTPClosed. Connections busy in a send are closed when it ends.
func (s *SMTPMailer) Close() error {
	s.mu.Lock()
	idle := s.idle
	s.idle = nil
	s.closed = true
	s.mu.Unlock()
	for _, c := range idle {
		s.quit(c)
	}
	return nil
}

// build turns m into a go-mail message, refusing anything that could
// inject a header.
func (s *SMTPMailer) build(m Message) (*gomail.Msg, error) {
	from := s.from
	if m.From != "" {
		f, err := ParseAddress(m.From)
		if err != nil {
			return nil, Permanent(fmt.Errorf("mailer: smtp: From: %w", err))
		}
		from = f
	}
	to, err := ParseAddress(m.To)
	if err != nil {
		return nil, Permanent(fmt.Errorf("mailer: smtp: To: %w", err))
	}
	if m.Text == "" && m.HTML == "" {
		return nil, Permanent(errors.New("mailer: smtp: message has no body"))
	}
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	msg.FromMailAddress(from)
	msg.ToMailAddress(to)
	msg.Subject(SanitizeHeaderText(m.Subject))
	if m.MessageID != "" {
		if err := checkMessageID(m.MessageID); err != nil {
			return nil, Permanent(err)
		}
		msg.SetMessageIDWithValue(m.MessageID)
	} else {
		msg.SetMessageID()
	}
	msg.SetDate()
	for name, value := range m.Headers {
		if err := checkHeader(name, value); err != nil {
			return nil, Permanent(err)
		}
		msg.SetGenHeader(gomail.Header(name), value)
	}
	switch {
	case m.Text != "" && m.HTML != "":
		msg.SetBodyString(gomail.TypeTextPlain, m.Text)
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	case m.Text != "":
		msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	default:
		msg.SetBodyString(gomail.TypeTextHTML, m.HTML)
	}
	return msg, nil
}
