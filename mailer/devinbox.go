package mailer

import (
	"context"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"net"
	"net/http"
	"net/netip"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/invitekit/invitekit/internal/pages"
)

// DevInboxLimit is how many messages a DevInbox keeps; older ones are dropped.
const DevInboxLimit = 1000

//go:embed devinbox.html
var devInboxPage string

// DevInbox is a Mailer for development and tests: it sends nothing. Each
// message is written as a short readable summary (to, subject, text part
// with its links) to an io.Writer and kept in memory (the newest
// DevInboxLimit), where Messages, Last and the HTML page of Handler show it.
//
// Never use it in production: the summaries contain the accept links, which
// are secrets. A DevInbox is safe for concurrent use.
type DevInbox struct {
	w    io.Writer
	page *template.Template

	mu   sync.Mutex
	msgs []devMail // oldest first
	seq  int
}

type devMail struct {
	Message
	N    int
	Time time.Time
}

// NewDevInbox returns a DevInbox writing summaries to w (nil discards them).
func NewDevInbox(w io.Writer) *DevInbox {
	if w == nil {
		w = io.Discard
	}
	return &DevInbox{
		w:    w,
		page: template.Must(template.New("devinbox").Funcs(template.FuncMap{"kitStyle": pages.StyleTag}).Parse(devInboxPage)),
	}
}

// Send records m and writes its summary. It fails only when ctx is done or
// the writer fails (the message is kept either way).
func (d *DevInbox) Send(ctx context.Context, m Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if m.Headers != nil {
		h := make(map[string]string, len(m.Headers))
		for k, v := range m.Headers {
			h[k] = v
		}
		m.Headers = h
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.seq++
	d.msgs = append(d.msgs, devMail{Message: m, N: d.seq, Time: time.Now()})
	if len(d.msgs) >= 2*DevInboxLimit {
		// Compact rarely, so Send stays O(1) amortized.
		d.msgs = append(d.msgs[:0:0], d.msgs[len(d.msgs)-DevInboxLimit:]...)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "──── dev inbox: mail #%d (not sent) ────\n", d.seq)
	if m.From != "" {
		fmt.Fprintf(&b, "From:       %s\n", SanitizeHeaderText(m.From))
	}
	fmt.Fprintf(&b, "To:         %s\n", SanitizeHeaderText(m.To))
	fmt.Fprintf(&b, "Subject:    %s\n", SanitizeHeaderText(m.Subject))
	if m.MessageID != "" {
		fmt.Fprintf(&b, "Message-ID: <%s>\n", SanitizeHeaderText(m.MessageID))
	}
	b.WriteString("\n")
	b.WriteString(strings.TrimRight(m.Text, "\n"))
	b.WriteString("\n\n")
	if _, err := io.WriteString(d.w, b.String()); err != nil {
		return fmt.Errorf("mailer: dev inbox: %w", err)
	}
	return nil
}

// Messages returns a copy of the kept messages, oldest first.
func (d *DevInbox) Messages() []Message {
	d.mu.Lock()
	defer d.mu.Unlock()
	kept := d.kept()
	out := make([]Message, len(kept))
	for i, m := range kept {
		out[i] = m.Message
	}
	return out
}

// kept returns the newest DevInboxLimit messages. d.mu must be held.
func (d *DevInbox) kept() []devMail {
	return d.msgs[max(0, len(d.msgs)-DevInboxLimit):]
}

// Last returns the newest message; ok is false when there is none.
func (d *DevInbox) Last() (m Message, ok bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.msgs) == 0 {
		return Message{}, false
	}
	return d.msgs[len(d.msgs)-1].Message, true
}

// Reset forgets every message.
func (d *DevInbox) Reset() {
	d.mu.Lock()
	d.msgs = nil
	d.mu.Unlock()
}

// linkPattern finds http(s) links in a text part.
func linkPattern() *regexp.Regexp {
	return regexp.MustCompile(`https?://[^\s<>"']+`)
}

// Links returns the http(s) links in text, in order, without duplicates.
func Links(text string) []string {
	var out []string
	seen := map[string]bool{}
	for _, l := range linkPattern().FindAllString(text, -1) {
		l = strings.TrimRight(l, ".,;:!?)")
		if !seen[l] {
			seen[l] = true
			out = append(out, l)
		}
	}
	return out
}

type devPageMail struct {
	devMail
	TextParts []devTextPart
	Links     []string
}

// devTextPart is a run of text or a link of a text part.
type devTextPart struct {
	Text string
	Link bool
}

func splitLinks(text string) []devTextPart {
	var parts []devTextPart
	re := linkPattern()
	last := 0
	for _, loc := range re.FindAllStringIndex(text, -1) {
		start, end := loc[0], loc[1]
		link := strings.TrimRight(text[start:end], ".,;:!?)")
		end = start + len(link)
		if start > last {
			parts = append(parts, devTextPart{Text: text[last:start]})
		}
		parts = append(parts, devTextPart{Text: link, Link: true})
		last = end
	}
	if last < len(text) {
		parts = append(parts, devTextPart{Text: text[last:]})
	}
	return parts
}

// Handler returns an http.Handler that renders the kept messages as an HTML
// page, newest first, for development. Each mail shows its headers, its text
// part with clickable links, a list of its links (class "mail-link") and its
// HTML part in a sandboxed iframe (no scripts). Everything is escaped by
// html/template. The page is marked as a development inbox; do not mount it
// in production (it shows accept links).
//
// It answers only requests from this machine (see IsLocalRequest); any
// other gets 403. HandlerWith configures that.
func (d *DevInbox) Handler() http.Handler { return d.HandlerWith(DevInboxHandlerConfig{}) }

// DevInboxHandlerConfig configures DevInbox.HandlerWith. The zero value is
// Handler's: local requests only.
type DevInboxHandlerConfig struct {
	// AllowRemote serves the page to every client, not only to this
	// machine's. For tests whose requests do not come from loopback
	// (httptest.NewRequest's come from 192.0.2.1); never in production.
	AllowRemote bool
}

// HandlerWith is Handler with cfg.
func (d *DevInbox) HandlerWith(cfg DevInboxHandlerConfig) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !cfg.AllowRemote && !IsLocalRequest(r) {
			w.Header().Set("Cache-Control", "no-store")
			http.Error(w, "The dev inbox answers requests from this machine only.", http.StatusForbidden)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
			return
		}
		d.mu.Lock()
		kept := d.kept()
		mails := make([]devPageMail, 0, len(kept))
		for i := len(kept) - 1; i >= 0; i-- {
			m := kept[i]
			mails = append(mails, devPageMail{devMail: m, TextParts: splitLinks(m.Text), Links: Links(m.Text)})
		}
		d.mu.Unlock()
		var b strings.Builder
		lang := pages.RequestLang(r, nil, "")
		if err := d.page.Execute(&b, devPage{Mails: mails, Lang: lang}); err != nil {
			http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Language", lang)
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Referrer-Policy", "no-referrer")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Content-Security-Policy", "script-src 'none'; object-src 'none'; base-uri 'none'; form-action 'none'")
		io.WriteString(w, b.String())
	})
}

// IsLocalRequest reports whether r comes from this machine: its RemoteAddr
// is a loopback address (127.0.0.0/8, ::1) and it carries no proxy header
// (Forwarded, X-Forwarded-For, X-Real-Ip), since a reverse proxy on the
// same machine relays every client's request from loopback.
func IsLocalRequest(r *http.Request) bool {
	for _, h := range []string{"Forwarded", "X-Forwarded-For", "X-Real-Ip"} {
		if _, ok := r.Header[h]; ok {
			return false
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}
