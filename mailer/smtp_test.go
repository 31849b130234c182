package mailer_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/invitekit/invitekit/mailer"
	"github.com/invitekit/invitekit/mailer/mailpittest"
	"github.com/invitekit/invitekit/mailer/outbox"
)

func plainSMTP(t testing.TB, host string, port int, mod func(*mailer.SMTPConfig)) *mailer.SMTPMailer {
	t.Helper()
	cfg := mailer.SMTPConfig{
		Host: host, Port: port, TLS: mailer.InsecureTLSNone,
		Username: "kit", Password: "secret", From: "Acme Invites <noreply@acme.test>",
		Timeout: 10 * time.Second, HELO: "invitekit.test",
	}
	if mod != nil {
		mod(&cfg)
	}
	m, err := mailer.NewSMTP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func TestSMTPSendToMailpit(t *testing.T) {
	mp := mailpittest.Start(t, mailpittest.Config{})
	m := plainSMTP(t, mp.Host, mp.SMTPPort, nil)
	ctx := context.Background()

	err := m.Send(ctx, mailer.Message{
		To:        "Ann Example <ann@example.com>",
		Subject:   "Welcome, Ann\r\nBcc: evil@attacker.test",
		Text:      "Hello Ann,\nhttps://app.example/accept?token=abc\n",
		HTML:      `<p>Hello Ann, <a href="https://app.example/accept?token=abc">accept</a></p>`,
		MessageID: "msg_01test@invitekit",
		Headers:   map[string]string{"X-Invitekit-Kind": "invitation"},
	})
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := mp.Messages(ctx)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("Mailpit has %d messages (%v), want 1", len(msgs), err)
	}
	s := msgs[0]
	if s.MessageID != "msg_01test@invitekit" || s.From.Address != "noreply@acme.test" || s.From.Name != "Acme Invites" ||
		len(s.To) != 1 || s.To[0].Address != "ann@example.com" || s.Subject != "Welcome, Ann Bcc: evil@attacker.test" {
		t.Fatalf("summary = %+v", s)
	}
	full, err := mp.Message(ctx, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(full.Text, "https://app.example/accept?token=abc") || !strings.Contains(full.HTML, `href="https://app.example/accept?token=abc"`) {
		t.Fatalf("parts: text %q html %q", full.Text, full.HTML)
	}
	h, err := mp.Headers(ctx, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(h["Bcc"]) != 0 || len(h["Cc"]) != 0 {
		t.Fatalf("injected recipient header: %v", h)
	}
	if got := h["X-Invitekit-Kind"]; len(got) != 1 || got[0] != "invitation" {
		t.Fatalf("extra header = %v", got)
	}
	if got := h["Message-Id"]; len(got) != 1 || got[0] != "<msg_01test@invitekit>" {
		t.Fatalf("Message-ID header = %v (all: %v)", got, h)
	}
}

func TestSMTPRefusesInjection(t *testing.T) {
	mp := mailpittest.Start(t, mailpittest.Config{})
	m := plainSMTP(t, mp.Host, mp.SMTPPort, nil)
	ctx := context.Background()
	base := mailer.Message{To: "ann@example.com", Subject: "hi", Text: "x"}
	tests := []struct {
		name    string
		mod     func(*mailer.Message)
		wantErr error
	}{
		{"CRLF in To", func(m *mailer.Message) { m.To = "ann@example.com\r\nBcc: evil@x" }, mailer.ErrHeaderInjection},
		{"two recipients", func(m *mailer.Message) { m.To = "ann@example.com, evil@x.test" }, mailer.ErrBadAddress},
		{"CRLF in From", func(m *mailer.Message) { m.From = "Ann\r\nBcc: evil@x <a@b.c>" }, mailer.ErrHeaderInjection},
		{"CRLF in extra header", func(m *mailer.Message) { m.Headers = map[string]string{"X-A": "1\r\nBcc: evil@x"} }, mailer.ErrHeaderInjection},
		{"reserved extra header", func(m *mailer.Message) { m.Headers = map[string]string{"Bcc": "evil@x"} }, mailer.ErrReservedHeader},
		{"CRLF in Message-ID", func(m *mailer.Message) { m.MessageID = "a@b>\r\nBcc: <evil@x" }, mailer.ErrBadMessageID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := base
			tt.mod(&msg)
			err := m.Send(ctx, msg)
			if !errors.Is(err, tt.wantErr) || !mailer.IsPermanent(err) {
				t.Fatalf("Send = %v, want permanent %v", err, tt.wantErr)
			}
		})
	}
	if n, err := mp.Count(ctx); err != nil || n != 0 {
		t.Fatalf("Mailpit caught %d messages (%v), want 0", n, err)
	}
	// The display name of From is flattened, not refused, when it was
	// RFC 2047-encoded with a line break inside.
	msg := base
	msg.From = "=?utf-8?q?Acme=0D=0ABcc=3A_evil=40x?= <noreply@acme.test>"
	if err := m.Send(ctx, msg); err != nil {
		t.Fatal(err)
	}
	msgs, _ := mp.Messages(ctx)
	if len(msgs) != 1 || msgs[0].From.Name != "Acme Bcc: evil@x" {
		t.Fatalf("From = %+v", msgs)
	}
	h, _ := mp.Headers(ctx, msgs[0].ID)
	if len(h["Bcc"]) != 0 {
		t.Fatalf("Bcc header reached the mail: %v", h["Bcc"])
	}
}

// countingProxy forwards TCP connections to target and counts them.
type countingProxy struct {
	l        net.Listener
	accepted atomic.Int32
	mu       sync.Mutex
	conns    []net.Conn
}

func newCountingProxy(t testing.TB, target string) *countingProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &countingProxy{l: l}
	t.Cleanup(func() { l.Close(); p.CloseAll() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			p.accepted.Add(1)
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
	return p
}

func (p *countingProxy) Port() int { return p.l.Addr().(*net.TCPAddr).Port }

// CloseAll drops every proxied connection, as a server restart would.
func (p *countingProxy) CloseAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func TestSMTPConnectionReuse(t *testing.T) {
	mp := mailpittest.Start(t, mailpittest.Config{})
	proxy := newCountingProxy(t, mp.SMTPAddr())
	m := plainSMTP(t, "127.0.0.1", proxy.Port(), func(c *mailer.SMTPConfig) { c.MaxConns = 2 })
	ctx := context.Background()
	msg := func(i int) mailer.Message {
		return mailer.Message{To: fmt.Sprintf("u%d@example.com", i), Subject: "s", Text: "t", MessageID: fmt.Sprintf("reuse%d@invitekit", i)}
	}
	for i := range 10 {
		if err := m.Send(ctx, msg(i)); err != nil {
			t.Fatal(err)
		}
	}
	if n := proxy.accepted.Load(); n != 1 {
		t.Fatalf("10 sequential sends used %d connections, want 1", n)
	}
	batch := make([]mailer.Message, 10)
	for i := range batch {
		batch[i] = msg(10 + i)
	}
	batch[3].To = "broken\r\nBcc: x@y"
	errs := m.SendBatch(ctx, batch)
	for i, err := range errs {
		if (i == 3) != (err != nil) {
			t.Fatalf("batch error %d = %v", i, err)
		}
	}
	if n := proxy.accepted.Load(); n != 1 {
		t.Fatalf("a batch after sequential sends used %d connections in all, want 1", n)
	}
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			if err := m.Send(ctx, msg(100+i)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := proxy.accepted.Load(); n > 2 {
		t.Fatalf("20 concurrent sends with MaxConns 2 opened %d connections", n)
	}

	// The server drops the pooled connections: the next send reconnects
	// transparently (nothing was sent on the dead connection).
	proxy.CloseAll()
	if err := m.Send(ctx, msg(200)); err != nil {
		t.Fatalf("send after the connection dropped: %v", err)
	}
	if n, err := mp.WaitCount(ctx, 40); err != nil || n != 40 {
		t.Fatalf("Mailpit caught %d (%v), want 40", n, err)
	}
}

// silentServer accepts TCP connections and never answers.
func silentServer(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	return l.Addr().(*net.TCPAddr).Port
}

func TestSMTPTimeoutAndCancel(t *testing.T) {
	port := silentServer(t)
	msg := mailer.Message{To: "ann@example.com", Subject: "s", Text: "t"}
	t.Run("timeout", func(t *testing.T) {
		m := plainSMTP(t, "127.0.0.1", port, func(c *mailer.SMTPConfig) { c.Timeout = 200 * time.Millisecond })
		err := m.Send(context.Background(), msg)
		if err == nil || mailer.IsPermanent(err) {
			t.Fatalf("Send to a silent server = %v, want a retryable error", err)
		}
	})
	t.Run("cancel", func(t *testing.T) {
		m := plainSMTP(t, "127.0.0.1", port, func(c *mailer.SMTPConfig) { c.Timeout = time.Hour })
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		if err := m.Send(ctx, msg); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Send = %v, want context.DeadlineExceeded", err)
		}
	})
	t.Run("refused", func(t *testing.T) {
		m := plainSMTP(t, "127.0.0.1", mailpittest.FreePort(t), nil)
		if err := m.Send(context.Background(), msg); err == nil || mailer.IsPermanent(err) {
			t.Fatalf("Send to a closed port = %v, want a retryable error", err)
		}
	})
	t.Run("closed", func(t *testing.T) {
		m := plainSMTP(t, "127.0.0.1", port, nil)
		m.Close()
		if err := m.Send(context.Background(), msg); !errors.Is(err, mailer.ErrSMTPClosed) {
			t.Fatalf("Send after Close = %v", err)
		}
	})
}

// writeCert writes a self-signed certificate for 127.0.0.1 and returns its
// files and a pool trusting it.
func writeCert(t testing.TB) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:     []string{"localhost"},
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func TestSMTPTLSModes(t *testing.T) {
	certFile, keyFile, pool := writeCert(t)
	ctx := context.Background()
	msg := mailer.Message{To: "ann@example.com", Subject: "tls", Text: "secure"}

	t.Run("starttls", func(t *testing.T) {
		mp := mailpittest.Start(t, mailpittest.Config{TLSCertFile: certFile, TLSKeyFile: keyFile, RequireSTARTTLS: true})
		ok := plainSMTP(t, mp.Host, mp.SMTPPort, func(c *mailer.SMTPConfig) {
			c.TLS = mailer.TLSStartTLS
			c.TLSConfig = &tls.Config{RootCAs: pool}
		})
		if err := ok.Send(ctx, msg); err != nil {
			t.Fatalf("STARTTLS send: %v", err)
		}
		untrusted := plainSMTP(t, mp.Host, mp.SMTPPort, func(c *mailer.SMTPConfig) { c.TLS = mailer.TLSStartTLS })
		if err := untrusted.Send(ctx, msg); err == nil {
			t.Fatal("STARTTLS with an untrusted certificate succeeded")
		}
		plain := plainSMTP(t, mp.Host, mp.SMTPPort, nil)
		if err := plain.Send(ctx, msg); err == nil {
			t.Fatal("plain-text send to a server requiring STARTTLS succeeded")
		}
		opportunistic := plainSMTP(t, mp.Host, mp.SMTPPort, func(c *mailer.SMTPConfig) {
			c.TLS = mailer.InsecureTLSOpportunistic
			c.TLSConfig = &tls.Config{RootCAs: pool}
		})
		if err := opportunistic.Send(ctx, msg); err != nil {
			t.Fatalf("opportunistic send: %v", err)
		}
		if n, _ := mp.Count(ctx); n != 2 {
			t.Fatalf("Mailpit caught %d, want 2", n)
		}
	})
	t.Run("starttls required but not offered", func(t *testing.T) {
		mp := mailpittest.Start(t, mailpittest.Config{})
		m := plainSMTP(t, mp.Host, mp.SMTPPort, func(c *mailer.SMTPConfig) { c.TLS = mailer.TLSStartTLS })
		if err := m.Send(ctx, msg); err == nil || !strings.Contains(err.Error(), "STARTTLS") {
			t.Fatalf("Send = %v, want a STARTTLS error", err)
		}
	})
	t.Run("implicit", func(t *testing.T) {
		mp := mailpittest.Start(t, mailpittest.Config{TLSCertFile: certFile, TLSKeyFile: keyFile, RequireTLS: true})
		m := plainSMTP(t, mp.Host, mp.SMTPPort, func(c *mailer.SMTPConfig) {
			c.TLS = mailer.TLSImplicit
			c.TLSConfig = &tls.Config{RootCAs: pool}
		})
		if err := m.Send(ctx, msg); err != nil {
			t.Fatalf("implicit TLS send: %v", err)
		}
		if n, _ := mp.Count(ctx); n != 1 {
			t.Fatalf("Mailpit caught %d, want 1", n)
		}
	})
}

func TestNewSMTPErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  mailer.SMTPConfig
	}{
		{"no host", mailer.SMTPConfig{From: "a@b.c"}},
		{"no from", mailer.SMTPConfig{Host: "smtp.example"}},
		{"bad from", mailer.SMTPConfig{Host: "smtp.example", From: "a@b.c\r\nBcc: x@y"}},
		{"unknown tls mode", mailer.SMTPConfig{Host: "smtp.example", From: "a@b.c", TLS: "sometimes"}},
		{"negative timeout", mailer.SMTPConfig{Host: "smtp.example", From: "a@b.c", Timeout: -1}},
		{"bad port", mailer.SMTPConfig{Host: "smtp.example", From: "a@b.c", Port: 70000}},
		{"bad helo", mailer.SMTPConfig{Host: "smtp.example", From: "a@b.c", HELO: "x\r\nMAIL FROM:<a@b>"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := mailer.NewSMTP(tt.cfg); err == nil {
				t.Fatal("NewSMTP succeeded, want an error")
			}
		})
	}
}

// BenchmarkSMTPToMailpit measures the SMTP mailer alone: a rendered
// invitation (and, for comparison, its text part only) sent to Mailpit by 1
// or 8 goroutines over pooled connections, without store or dispatcher. It
// is the ceiling BenchmarkOutboxToMailpit can reach on the same machine.
func BenchmarkSMTPToMailpit(b *testing.B) {
	r, err := mailer.NewRenderer(mailer.RenderConfig{})
	if err != nil {
		b.Fatal(err)
	}
	out, err := r.Render("invitation", "de", map[string]string{"first_name": "Ann", "org_name": "Acme", "email": "ann@example.com"},
		map[string]string{outbox.SecretAcceptURL: "https://app.example/accept?token=inv_x.y"})
	if err != nil {
		b.Fatal(err)
	}
	textOnly := mailer.Message{Subject: out.Subject, Text: out.Text}
	for _, bc := range []struct {
		name string
		msg  mailer.Message
		conc int
	}{{"invitation/conns=1", out.Message("", ""), 1}, {"invitation/conns=8", out.Message("", ""), 8}, {"text-only/conns=8", textOnly, 8}} {
		b.Run(bc.name, func(b *testing.B) {
			mp := mailpittest.Start(b, mailpittest.Config{})
			m := plainSMTP(b, mp.Host, mp.SMTPPort, func(c *mailer.SMTPConfig) { c.MaxConns = bc.conc })
			ids := make(chan int)
			var wg sync.WaitGroup
			mp0, _ := mp.CPUTime()
			b.ResetTimer()
			start := time.Now()
			for range bc.conc {
				wg.Go(func() {
					for i := range ids {
						msg := bc.msg
						msg.To, msg.MessageID = "ann@example.com", fmt.Sprintf("bench%d@invitekit", i)
						if err := m.Send(context.Background(), msg); err != nil {
							b.Error(err)
						}
					}
				})
			}
			for i := range b.N {
				ids <- i
			}
			close(ids)
			wg.Wait()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "mails/s")
			if mp1, err := mp.CPUTime(); err == nil {
				b.ReportMetric(float64((mp1-mp0).Microseconds())/float64(b.N), "mailpit-cpu-µs/mail")
			}
		})
	}
}
