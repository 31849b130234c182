package mailer_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/invitekit/invitekit/internal/pages/pagetest"
	"github.com/invitekit/invitekit/mailer"
	"github.com/invitekit/invitekit/mailer/mailpittest"
	"github.com/invitekit/invitekit/mailer/outbox"
)

// mailWidth is how wide a mail client shows a mail (the layout's card is
// 560 px plus margins).
const mailWidth = 600

// longMailData is a message with the longest values the kit accepts: a
// 100-character first and last name, a 200-character organization name,
// a 254-character email, a long inviter name and a long link.
func longMailData(locale string) (data, secret map[string]string) {
	data = map[string]string{
		outbox.DataOrgID:       "org_long",
		outbox.DataOrgName:     strings.Repeat("O", 200),
		outbox.DataFirstName:   pagetest.LongName,
		outbox.DataLastName:    pagetest.LongName,
		outbox.DataName:        pagetest.LongName + " " + pagetest.LongName,
		outbox.DataInviterName: strings.Repeat("I", 100) + " " + strings.Repeat("N", 100),
		outbox.DataEmail:       pagetest.LongEmail,
		outbox.DataLocale:      locale,
		outbox.DataOrgLocale:   locale,
		outbox.DataExpireTime:  time.Date(2026, 12, 24, 18, 30, 0, 0, time.UTC).Format(time.RFC3339),
		outbox.DataReason:      strings.Repeat("R", 300),
		outbox.DataInvitee:     pagetest.LongEmail,
	}
	secret = map[string]string{outbox.SecretAcceptURL: "https://app.example.com/accept?token=inv_" + strings.Repeat("t", 40) + "." + strings.Repeat("v", 64)}
	return data, secret
}

// overflowJS reports the document's and every element's horizontal
// overflow: scrollWidth > clientWidth.
const overflowJS = `(() => {
  const d = document.documentElement, out = [];
  if (d.scrollWidth > d.clientWidth) out.push('document ' + d.scrollWidth + ' > ' + d.clientWidth);
  for (const el of document.body.querySelectorAll('*')) {
    if (el.clientWidth > 0 && el.scrollWidth > el.clientWidth + 1)
      out.push(el.tagName.toLowerCase() + (el.className ? '.' + el.className : '') + ' ' + el.scrollWidth + ' > ' + el.clientWidth + ': ' + (el.textContent || '').trim().slice(0, 30));
    const r = el.getBoundingClientRect();
    if (r.right > d.clientWidth + 1) out.push(el.tagName.toLowerCase() + ' ends at ' + Math.round(r.right) + ' px');
  }
  return JSON.stringify(out);
})()`

// TestMailHTMLKeepsItsWidth renders every kind of mail from the real
// templates (English and German) with the longest values, shows its HTML
// part in Chromium at 600 px and requires that nothing overflows: the
// document and every element have scrollWidth ≤ clientWidth. The same
// mails, sent through SMTP to Mailpit, arrive with the same HTML, which
// passes the same check there (that part skips without Mailpit).
func TestMailHTMLKeepsItsWidth(t *testing.T) {
	tab := mailTab(t)
	r, err := mailer.NewRenderer(mailer.RenderConfig{Branding: mailer.Branding{AppName: "Acme Portal " + strings.Repeat("A", 60)}})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	serving := ""
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, serving)
	}))
	t.Cleanup(srv.Close)
	check := func(t *testing.T, name, html string) {
		t.Helper()
		mu.Lock()
		serving = html
		mu.Unlock()
		if err := chromedp.Do(tab, chromedp.Navigate(srv.URL+"/"+name)); err != nil {
			t.Fatal(err)
		}
		js, err := chromedp.Run(tab, chromedp.Evaluate[string](overflowJS))
		if err != nil {
			t.Fatal(err)
		}
		var over []string
		if err := json.Unmarshal([]byte(js), &over); err != nil {
			t.Fatal(err)
		}
		if len(over) > 0 {
			t.Errorf("%s overflows at %d px:\n  %s", name, mailWidth, strings.Join(over, "\n  "))
		}
	}

	type sent struct{ name, to, html string }
	var mails []sent
	for _, locale := range []string{"en", "de"} {
		for _, kind := range outbox.Kinds() {
			data, secret := longMailData(locale)
			out, err := r.Render(kind, locale, data, secret)
			if err != nil {
				t.Fatalf("%s/%s: %v", locale, kind, err)
			}
			name := locale + "-" + kind
			if !strings.Contains(out.HTML, pagetest.LongName) && !strings.Contains(out.HTML, strings.Repeat("O", 200)) {
				t.Errorf("%s: the long values are not in the mail", name)
			}
			check(t, name, out.HTML)
			mails = append(mails, sent{name, fmt.Sprintf("%s-%s@example.com", locale, strings.ReplaceAll(kind, "_", "-")), out.HTML})
		}
	}

	// Through SMTP and Mailpit: the HTML arrives as rendered.
	if _, ok := mailpittest.Binary(); !ok {
		t.Logf("mailpit not installed: the Mailpit part is skipped (%s)", mailpittest.Install)
		return
	}
	mp := mailpittest.Start(t, mailpittest.Config{})
	sm := plainSMTP(t, mp.Host, mp.SMTPPort, nil)
	ctx := context.Background()
	for _, m := range mails {
		msg := mailer.Message{To: m.to, Subject: m.name, Text: m.name, HTML: m.html}
		if err := sm.Send(ctx, msg); err != nil {
			t.Fatalf("%s: send: %v", m.name, err)
		}
	}
	if _, err := mp.WaitCount(ctx, len(mails)); err != nil {
		t.Fatal(err)
	}
	caught, err := mp.Messages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range mails {
		id := ""
		for _, s := range caught {
			if len(s.To) == 1 && s.To[0].Address == m.to {
				id = s.ID
			}
		}
		if id == "" {
			t.Fatalf("%s: not in Mailpit", m.name)
		}
		full, err := mp.Message(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if norm(full.HTML) != norm(m.html) {
			t.Errorf("%s: Mailpit's HTML differs from the rendered HTML", m.name)
		}
		check(t, "mailpit-"+m.name, full.HTML)
	}
}

// norm folds line endings and trailing space, which SMTP may change.
func norm(s string) string {
	return strings.TrimSpace(strings.ReplaceAll(s, "\r\n", "\n"))
}

// mailTab is a Chromium tab 600 px wide, or skips without Chromium.
func mailTab(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if _, serr := os.Stat("/usr/bin/chromium"); serr != nil {
			t.Skip("chromium not found (install Debian's chromium, /usr/bin/chromium): skipping the browser test")
		}
		path = "/usr/bin/chromium"
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()))
	t.Cleanup(cancelAlloc)
	tab, cancel := chromedp.NewContext(alloc)
	t.Cleanup(cancel)
	tab, cancelTimeout := context.WithTimeout(tab, 2*time.Minute)
	t.Cleanup(cancelTimeout)
	if err := chromedp.Do(tab); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	if _, err := chromedp.Call(tab, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{Width: mailWidth, Height: 900, DeviceScaleFactor: 1}); err != nil {
		t.Fatal(err)
	}
	return tab
}
