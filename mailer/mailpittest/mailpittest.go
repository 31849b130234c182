// Package mailpittest runs a real Mailpit (https://mailpit.axllent.org)
// SMTP server for tests and reads the caught mail back through its HTTP API.
//
// Start launches the mailpit binary on free loopback ports (or a given SMTP
// port), with a temporary database, accepting any SMTP credentials over
// plain text, and waits until it answers. The binary is found through the
// INVITEKIT_MAILPIT environment variable, then $PATH, then
// $GOPATH/bin/mailpit and /root/go/bin/mailpit; when it is absent Start
// skips the test with a message saying how to install it
// (go install github.com/axllent/mailpit@v1.27.11).
//
// A Server is safe for concurrent use. Start registers Stop with t.Cleanup.
package mailpittest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Install is the command that installs the Mailpit version the kit is
// tested with.
const Install = "go install github.com/axllent/mailpit@v1.27.11"

// Config configures Start. The zero value is a plain-text server on free
// ports.
type Config struct {
	// SMTPPort is the SMTP port to listen on (0 = a free port). A fault
	// test uses it to start Mailpit on a port a client already targets.
	SMTPPort int
	// TLSCertFile and TLSKeyFile (PEM) enable STARTTLS.
	TLSCertFile string
	TLSKeyFile  string
	// RequireTLS makes the SMTP port speak TLS from the first byte
	// (implicit TLS); it needs the certificate.
	RequireTLS bool
	// RequireSTARTTLS refuses mail until the client used STARTTLS.
	RequireSTARTTLS bool
	// Database is the database file (default: a new file in t.TempDir()).
	// Starting a second Mailpit on the same file and port after Stop
	// simulates a server restart that keeps the caught mail.
	Database string
	// Args are extra mailpit arguments.
	Args []string
}

// Server is a running Mailpit.
type Server struct {
	Host     string // "127.0.0.1"
	SMTPPort int
	HTTPURL  string // base URL of the web UI and API, e.g. "http://127.0.0.1:41234"

	client *http.Client

	mu      sync.Mutex
	cmd     *exec.Cmd
	done    chan struct{}
	stopped bool
	output  *bytes.Buffer
}

// Binary returns the path of the mailpit binary, or false when none is found.
func Binary() (string, bool) {
	if p := os.Getenv("INVITEKIT_MAILPIT"); p != "" {
		if _, err := os.Stat(p); err == nil {
			return p, true
		}
		return "", false
	}
	if p, err := exec.LookPath("mailpit"); err == nil {
		return p, true
	}
	var cands []string
	if gp := os.Getenv("GOPATH"); gp != "" {
		cands = append(cands, filepath.Join(gp, "bin", "mailpit"))
	}
	if home, err := os.UserHomeDir(); err == nil {
		cands = append(cands, filepath.Join(home, "go", "bin", "mailpit"))
	}
	cands = append(cands, "/root/go/bin/mailpit")
	for _, p := range cands {
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, true
		}
	}
	return "", false
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("mailpittest: free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Start runs Mailpit and waits until both its SMTP port and its API answer.
// It skips t when the binary is missing and fails t when Mailpit does not
// come up within 20 seconds.
func Start(t testing.TB, cfg Config) *Server {
	t.Helper()
	bin, ok := Binary()
	if !ok {
		t.Skipf("mailpittest: mailpit binary not found (set INVITEKIT_MAILPIT or run %q)", Install)
	}
	smtpPort := cfg.SMTPPort
	if smtpPort == 0 {
		smtpPort = FreePort(t)
	}
	httpPort := FreePort(t)
	dir := t.TempDir()
	db := cfg.Database
	if db == "" {
		db = filepath.Join(dir, "mailpit.db")
	}
	s := &Server{
		Host:     "127.0.0.1",
		SMTPPort: smtpPort,
		HTTPURL:  "http://127.0.0.1:" + strconv.Itoa(httpPort),
		client:   &http.Client{Timeout: 30 * time.Second},
	}
	args := []string{
		"--smtp", net.JoinHostPort(s.Host, strconv.Itoa(smtpPort)),
		"--listen", net.JoinHostPort(s.Host, strconv.Itoa(httpPort)),
		"--database", db,
		"--smtp-auth-accept-any", "--smtp-disable-rdns",
		"--disable-version-check", "--max", "0", "--quiet", "--compression", "0",
	}
	if cfg.TLSCertFile != "" {
		args = append(args, "--smtp-tls-cert", cfg.TLSCertFile, "--smtp-tls-key", cfg.TLSKeyFile)
	}
	if !cfg.RequireTLS && !cfg.RequireSTARTTLS {
		// Mailpit refuses plain-text AUTH unless told; it refuses that
		// flag together with required TLS.
		args = append(args, "--smtp-auth-allow-insecure")
	}
	if cfg.RequireTLS {
		args = append(args, "--smtp-require-tls")
	}
	if cfg.RequireSTARTTLS {
		args = append(args, "--smtp-require-starttls")
	}
	args = append(args, cfg.Args...)
	s.output = &bytes.Buffer{}
	cmd := exec.Command(bin, args...)
	cmd.Stdout = &lockedWriter{w: s.output, mu: &s.mu}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatalf("mailpittest: start %s: %v", bin, err)
	}
	s.cmd = cmd
	s.done = make(chan struct{})
	go func() {
		cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(s.Stop)

	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case <-s.done:
			t.Fatalf("mailpittest: mailpit exited at start: %s", s.Output())
		default:
		}
		if s.ready() {
			return s
		}
		if time.Now().After(deadline) {
			s.Stop()
			t.Fatalf("mailpittest: mailpit not ready after 20s: %s", s.Output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *Server) ready() bool {
	c, err := net.DialTimeout("tcp", s.SMTPAddr(), time.Second)
	if err != nil {
		return false
	}
	c.Close()
	resp, err := s.client.Get(s.HTTPURL + "/api/v1/messages?limit=1")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// SMTPAddr is "host:port" of the SMTP server.
func (s *Server) SMTPAddr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.SMTPPort)) }

// Output returns what Mailpit printed (for failure messages).
func (s *Server) Output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.output.String()
}

// Stop terminates Mailpit (interrupt, then kill after 5s) and waits for it.
// It is idempotent.
func (s *Server) Stop() {
	s.mu.Lock()
	if s.stopped || s.cmd == nil {
		s.mu.Unlock()
		return
	}
	s.stopped = true
	p := s.cmd.Process
	s.mu.Unlock()
	p.Signal(os.Interrupt)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		p.Kill()
		<-s.done
	}
}

// CPUTime returns the CPU time (user + system) Mailpit has used so far. It
// reads /proc and so works on Linux only; benchmarks use it to tell the
// catcher's cost per mail from the sender's.
func (s *Server) CPUTime() (time.Duration, error) {
	s.mu.Lock()
	pid := s.cmd.Process.Pid
	s.mu.Unlock()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("mailpittest: %w", err)
	}
	// Fields after the parenthesised command name; utime and stime are
	// fields 14 and 15 of the whole line, in clock ticks (100 per second).
	rest := string(b)
	if i := strings.LastIndexByte(rest, ')'); i >= 0 {
		rest = rest[i+1:]
	}
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0, errors.New("mailpittest: unexpected /proc stat format")
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, errors.New("mailpittest: unexpected /proc stat format")
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
}

// Address is a mail address as the API shows it.
type Address struct {
	Name    string
	Address string
}

// Summary is one entry of GET /api/v1/messages.
type Summary struct {
	ID        string // Mailpit's database id
	MessageID string // the Message-ID header, without angle brackets
	From      Address
	To        []Address
	Subject   string
	Created   time.Time
	Snippet   string
}

// Message is GET /api/v1/message/{ID}.
type Message struct {
	ID        string
	MessageID string
	From      Address
	To        []Address
	Subject   string
	Date      time.Time
	Text      string
	HTML      string
}

// Messages returns every caught message, newest first.
func (s *Server) Messages(ctx context.Context) ([]Summary, error) {
	var all []Summary
	for start := 0; ; {
		var page struct {
			Total    int
			Messages []Summary
		}
		q := url.Values{"start": {strconv.Itoa(start)}, "limit": {"1000"}}
		if err := s.getJSON(ctx, "/api/v1/messages?"+q.Encode(), &page); err != nil {
			return nil, err
		}
		all = append(all, page.Messages...)
		start += len(page.Messages)
		if len(page.Messages) == 0 || start >= page.Total {
			return all, nil
		}
	}
}

// Count returns the number of caught messages.
func (s *Server) Count(ctx context.Context) (int, error) {
	var page struct{ Total int }
	if err := s.getJSON(ctx, "/api/v1/messages?limit=1", &page); err != nil {
		return 0, err
	}
	return page.Total, nil
}

// Message returns one message with its text and HTML parts.
func (s *Server) Message(ctx context.Context, id string) (Message, error) {
	var m Message
	err := s.getJSON(ctx, "/api/v1/message/"+url.PathEscape(id), &m)
	return m, err
}

// Headers returns the raw headers of one message.
func (s *Server) Headers(ctx context.Context, id string) (map[string][]string, error) {
	var h map[string][]string
	err := s.getJSON(ctx, "/api/v1/message/"+url.PathEscape(id)+"/headers", &h)
	return h, err
}

// WaitCount polls until at least n messages are caught or ctx ends.
func (s *Server) WaitCount(ctx context.Context, n int) (int, error) {
	for {
		c, err := s.Count(ctx)
		if err == nil && c >= n {
			return c, nil
		}
		select {
		case <-ctx.Done():
			return c, fmt.Errorf("mailpittest: %d of %d messages: %w", c, n, ctx.Err())
		case <-time.After(25 * time.Millisecond):
		}
	}
}

// DeleteAll deletes every caught message.
func (s *Server) DeleteAll(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, s.HTTPURL+"/api/v1/messages", nil)
	if err != nil {
		return err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("mailpittest: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("mailpittest: delete: %s", resp.Status)
	}
	return nil
}

func (s *Server) getJSON(ctx context.Context, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.HTTPURL+path, nil)
	if err != nil {
		return err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("mailpittest: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("mailpittest: GET %s: %s", path, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("mailpittest: GET %s: %w", path, err)
	}
	return nil
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.w.Len() > 1<<20 {
		return len(p), nil
	}
	return l.w.Write(p)
}
