package mailer_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/invitekit/invitekit/mailer"
)

func TestDevInboxSendAndSummary(t *testing.T) {
	var buf bytes.Buffer
	in := mailer.NewDevInbox(&buf)
	if _, ok := in.Last(); ok {
		t.Fatal("Last on an empty inbox reported a message")
	}
	m := mailer.Message{
		To: "ann@example.com", Subject: "You're invited\r\nBcc: evil@x",
		Text: "Accept: https://app.example/accept?token=inv_1.abc\n", HTML: "<p>hi</p>",
		MessageID: "msg_1@invitekit", Headers: map[string]string{"X-A": "1"},
	}
	if err := in.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	m.Headers["X-A"] = "changed after send"
	out := buf.String()
	for _, want := range []string{"To:         ann@example.com", "Subject:    You're invited Bcc: evil@x", "https://app.example/accept?token=inv_1.abc", "Message-ID: <msg_1@invitekit>", "not sent"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\nBcc:") {
		t.Errorf("summary subject spans lines:\n%s", out)
	}
	last, ok := in.Last()
	if !ok || last.To != "ann@example.com" || last.Headers["X-A"] != "1" {
		t.Fatalf("Last = %+v, %v (headers must be copied on Send)", last, ok)
	}
	if err := in.Send(context.Background(), mailer.Message{To: "bob@example.com", Text: "2"}); err != nil {
		t.Fatal(err)
	}
	msgs := in.Messages()
	if len(msgs) != 2 || msgs[0].To != "ann@example.com" || msgs[1].To != "bob@example.com" {
		t.Fatalf("Messages = %+v", msgs)
	}
	in.Reset()
	if len(in.Messages()) != 0 {
		t.Fatal("Reset kept messages")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := in.Send(ctx, m); err == nil {
		t.Fatal("Send with a cancelled context succeeded")
	}
}

func TestDevInboxConcurrentAndBounded(t *testing.T) {
	in := mailer.NewDevInbox(nil)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				if err := in.Send(context.Background(), mailer.Message{To: fmt.Sprintf("u%d-%d@example.com", g, i), Text: "x"}); err != nil {
					t.Error(err)
				}
				in.Messages()
				in.Last()
			}
		})
	}
	wg.Wait()
	if n := len(in.Messages()); n != mailer.DevInboxLimit {
		t.Fatalf("kept %d messages, want the newest %d", n, mailer.DevInboxLimit)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, io.ErrClosedPipe }

func TestDevInboxWriterError(t *testing.T) {
	in := mailer.NewDevInbox(failingWriter{})
	if err := in.Send(context.Background(), mailer.Message{To: "a@b.c", Text: "x"}); err == nil {
		t.Fatal("writer error not reported")
	}
	if len(in.Messages()) != 1 {
		t.Fatal("message not kept")
	}
}

func TestDevInboxHandler(t *testing.T) {
	in := mailer.NewDevInbox(nil)
	ctx := context.Background()
	in.Send(ctx, mailer.Message{To: "old@example.com", Subject: "first", Text: "no links"})
	in.Send(ctx, mailer.Message{
		To:      "ann@example.com",
		Subject: `<script>alert("subject")</script>`,
		Text:    "Hello <b>Ann</b>,\naccept: https://app.example/accept?token=inv_1.abc&x=1.\nevil: javascript:alert(1)\n",
		HTML:    `<p>Hello</p><script>alert(1)</script><a href="https://app.example/accept?token=inv_1.abc">Accept</a>`,
	})
	srv := httptest.NewServer(in.Handler())
	defer srv.Close()

	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	page := string(body)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("status %d, type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if !strings.Contains(resp.Header.Get("Content-Security-Policy"), "script-src 'none'") {
		t.Errorf("no CSP blocking scripts")
	}
	checks := []struct{ what, want string }{
		{"development label", "Development inbox"},
		{"clickable accept link", `<a class="mail-link" href="https://app.example/accept?token=inv_1.abc&amp;x=1">`},
		{"link inside the text part", `<a href="https://app.example/accept?token=inv_1.abc&amp;x=1">`},
		{"escaped subject", `&lt;script&gt;alert(&#34;subject&#34;)&lt;/script&gt;`},
		{"escaped text", `Hello &lt;b&gt;Ann&lt;/b&gt;`},
		{"sandboxed html part", `sandbox="allow-popups allow-popups-to-escape-sandbox" srcdoc="&lt;p&gt;Hello&lt;/p&gt;&lt;script&gt;`},
	}
	for _, c := range checks {
		if !strings.Contains(page, c.want) {
			t.Errorf("%s: page lacks %q", c.what, c.want)
		}
	}
	if strings.Count(page, "<script") != 0 {
		t.Errorf("page contains a raw script tag:\n%s", page)
	}
	if strings.Contains(page, `href="javascript:`) {
		t.Errorf("javascript: link made clickable")
	}
	if i, j := strings.Index(page, "ann@example.com"), strings.Index(page, "old@example.com"); i < 0 || j < 0 || i > j {
		t.Errorf("mails not listed newest first (ann at %d, old at %d)", i, j)
	}

	resp, err = http.Post(srv.URL, "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST status %d", resp.StatusCode)
	}
}

func TestLinks(t *testing.T) {
	got := mailer.Links("a https://x.test/a?b=1. b (http://y.test/p) https://x.test/a?b=1 mailto:z@z")
	want := []string{"https://x.test/a?b=1", "http://y.test/p"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("Links = %q, want %q", got, want)
	}
}

// The page answers this machine only: a loopback RemoteAddr without proxy
// headers; HandlerWith(AllowRemote) serves everyone (tests).
func TestDevInboxHandlerLocalOnly(t *testing.T) {
	in := mailer.NewDevInbox(nil)
	in.Send(context.Background(), mailer.Message{To: "ann@example.com", Text: "accept: https://app.example/accept?token=inv_1.abc\n"})
	tests := []struct {
		remote string
		header string // a proxy header to set
		want   int
	}{
		{"127.0.0.1:5000", "", 200},
		{"127.8.9.10:5000", "", 200},
		{"[::1]:5000", "", 200},
		{"[::ffff:127.0.0.1]:5000", "", 200},
		{"192.0.2.1:1234", "", 403}, // httptest.NewRequest's
		{"10.0.0.7:5000", "", 403},
		{"[2001:db8::1]:5000", "", 403},
		{"127.0.0.1", "", 403}, // no port: not a connection's address
		{"", "", 403},
		{"127.0.0.1:5000", "X-Forwarded-For", 403}, // relayed by a proxy on this machine
		{"127.0.0.1:5000", "Forwarded", 403},
		{"127.0.0.1:5000", "X-Real-IP", 403},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/dev/inbox", nil)
		r.RemoteAddr = tt.remote
		if tt.header != "" {
			r.Header.Set(tt.header, "203.0.113.9")
		}
		rec := httptest.NewRecorder()
		in.Handler().ServeHTTP(rec, r)
		if rec.Code != tt.want {
			t.Errorf("RemoteAddr %q %s: status %d, want %d", tt.remote, tt.header, rec.Code, tt.want)
		}
		if got := strings.Contains(rec.Body.String(), "inv_1.abc"); got != (tt.want == 200) {
			t.Errorf("RemoteAddr %q %s: page shows the link: %v", tt.remote, tt.header, got)
		}
		if mailer.IsLocalRequest(r) != (tt.want == 200) {
			t.Errorf("IsLocalRequest(%q %s) = %v", tt.remote, tt.header, !(tt.want == 200))
		}
	}
	rec := httptest.NewRecorder()
	in.HandlerWith(mailer.DevInboxHandlerConfig{AllowRemote: true}).ServeHTTP(rec, httptest.NewRequest("GET", "/dev/inbox", nil))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "inv_1.abc") {
		t.Fatalf("AllowRemote: status %d", rec.Code)
	}
}
