package teampage_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/invitekit/invitekit/store"
)

// One Chromium per test package; every test opens its own tab.
var browser struct {
	ctx   context.Context // browser context (nil: no chromium)
	once  sync.Once
	err   error
	path  string
	clean func()
}

func TestMain(m *testing.M) {
	flag.Parse()
	code := func() int {
		path, err := exec.LookPath("chromium")
		if err != nil {
			if _, serr := os.Stat("/usr/bin/chromium"); serr == nil {
				path = "/usr/bin/chromium"
			}
		}
		if path != "" {
			dir, err := os.MkdirTemp("", "teampage-chromium-")
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
				chromedp.ExecPath(path),
				chromedp.Headless,
				chromedp.NoSandbox,
				chromedp.DisableGPU,
				chromedp.NoFirstRun,
				chromedp.Flag("disable-quic", true),
				chromedp.Flag("disable-background-networking", true),
				chromedp.Flag("disable-component-update", true),
				chromedp.Flag("disable-sync", true),
				chromedp.UserDataDir(dir),
				chromedp.WindowSize(1280, 900),
			)
			ctx, cancelBrowser := chromedp.NewContext(allocCtx)
			browser.ctx, browser.path = ctx, path
			browser.clean = func() {
				cancelBrowser()
				cancelAlloc()
				os.RemoveAll(dir)
			}
		}
		defer func() {
			if browser.clean != nil {
				browser.clean()
			}
		}()
		return m.Run()
	}()
	os.Exit(code)
}

// newTab returns a fresh tab of the package's browser, or skips the test
// when Chromium is not installed.
func newTab(t *testing.T) context.Context {
	t.Helper()
	if browser.ctx == nil {
		t.Skip("chromium not found (install Debian's chromium, /usr/bin/chromium): skipping the browser test")
	}
	browser.once.Do(func() { browser.err = chromedp.Do(browser.ctx) }) // starts the browser
	if browser.err != nil {
		t.Fatalf("starting %s: %v", browser.path, browser.err)
	}
	tab, cancel := chromedp.NewContext(browser.ctx)
	t.Cleanup(cancel)
	tab, cancelTimeout := context.WithTimeout(tab, 90*time.Second)
	t.Cleanup(cancelTimeout)
	if err := chromedp.Do(tab); err != nil { // opens the tab
		t.Fatal(err)
	}
	return tab
}

// acceptDialogs accepts every confirm() of the tab (the page asks before
// revoking), recording the messages.
func acceptDialogs(t *testing.T, tab context.Context) func() []string {
	var mu sync.Mutex
	var seen []string
	dialogs := chromedp.Events(tab, page.JavascriptDialogOpening)
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			mu.Lock()
			seen = append(seen, ev.Message)
			mu.Unlock()
			chromedp.Call(tab, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	}()
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), seen...)
	}
}

func text(t *testing.T, tab context.Context, sel chromedp.CSS) string {
	t.Helper()
	s, err := chromedp.Run(tab, chromedp.Text(sel))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// waitText polls the trimmed text of the element matching css until it is
// want or 30 s pass, and returns the last text seen ("" while absent).
func waitText(t *testing.T, tab context.Context, css, want string) string {
	t.Helper()
	js := fmt.Sprintf(`(document.querySelector(%q)?.textContent || "").trim()`, css)
	var got string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		s, err := chromedp.Run(tab, chromedp.Evaluate[string](js))
		if err != nil {
			continue // the page is navigating
		}
		if got = s; got == want {
			break
		}
	}
	return got
}

func do(t *testing.T, tab context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(tab, steps...); err != nil {
		t.Fatal(err)
	}
}

// unlabeled counts form controls without an accessible label.
const unlabeled = `[...document.querySelectorAll('.ik-team input:not([type=hidden]), .ik-team select, .ik-team button')]
  .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !(e.textContent || '').trim()).length`

func checkLabels(t *testing.T, tab context.Context) {
	t.Helper()
	n, err := chromedp.Run(tab, chromedp.Evaluate[int](unlabeled))
	if err != nil || n != 0 {
		t.Fatalf("%d form controls without a label (%v)", n, err)
	}
}

func TestBrowserAddResendRevoke(t *testing.T) {
	tab := newTab(t)
	f := newFixture(t, nil)
	dialogs := acceptDialogs(t, tab)

	// 1. Add a user through the form — with JavaScript off: the page must
	// work without it.
	if _, err := chromedp.Call(tab, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		t.Fatal(err)
	}
	do(t, tab,
		chromedp.Navigate(f.base+"/"),
		chromedp.WaitVisible(chromedp.ID("ik-add-email")),
	)
	checkLabels(t, tab)
	do(t, tab,
		chromedp.SendKeys(chromedp.ID("ik-add-email"), "newbie@example.com"),
		chromedp.SendKeys(chromedp.ID("ik-add-first"), "Nora"),
		chromedp.SendKeys(chromedp.ID("ik-add-last"), "Newbie"),
		chromedp.Click(chromedp.CSS(`#ik-add input[name=roles][value=billing]`)),
		chromedp.Click(chromedp.ID("ik-add-submit")),
		chromedp.WaitVisible(chromedp.ID("ik-flash")),
	)
	if got := text(t, tab, chromedp.CSS("#ik-flash")); got != "Invitation sent to newbie@example.com." {
		t.Fatalf("flash %q", got)
	}
	// 2. The pending row.
	row := chromedp.CSS(`tr[data-email="newbie@example.com"]`)
	rowText := text(t, tab, row)
	for _, want := range []string{"newbie@example.com", "Nora Newbie", "billing", "Pending", "admin@acme.example"} {
		if !strings.Contains(rowText, want) {
			t.Fatalf("row %q lacks %q", rowText, want)
		}
	}
	m, ok := f.member(t, "newbie@example.com")
	if !ok || m.Membership.Status != store.StatusPendingInvite {
		t.Fatalf("store: %+v", m)
	}

	// A bad email is shown next to the field, nothing written.
	do(t, tab,
		chromedp.SendKeys(chromedp.ID("ik-add-email"), "broken.example.com"),
		chromedp.Click(chromedp.ID("ik-add-submit")),
		chromedp.WaitVisible(chromedp.ID("ik-add-email-error")),
	)
	if got := text(t, tab, chromedp.CSS("#ik-add-email-error")); !strings.Contains(got, "@") {
		t.Fatalf("field error %q", got)
	}
	if inv, err := chromedp.Run(tab, chromedp.AttributeValue(chromedp.ID("ik-add-email"), "aria-invalid")); err != nil || inv.Value != "true" {
		t.Fatalf("aria-invalid %+v %v", inv, err)
	}

	// 3. Resend and revoke, with JavaScript on (the revoke asks first).
	if _, err := chromedp.Call(tab, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: false}); err != nil {
		t.Fatal(err)
	}
	do(t, tab,
		chromedp.Navigate(f.base+"/"),
		chromedp.Click(chromedp.CSS(`tr[data-email="newbie@example.com"] form[action$="/resend"] button`)),
		chromedp.WaitVisible(chromedp.ID("ik-flash")),
	)
	if got := text(t, tab, chromedp.CSS("#ik-flash")); got != "Invitation resent to newbie@example.com." {
		t.Fatalf("flash %q", got)
	}
	evs, err := f.svc.Events(context.Background(), "org_acme", 0, 100)
	if err != nil || evs[len(evs)-1].Type != store.EventInvitationResent {
		t.Fatalf("events %v %v", evs, err)
	}
	shot(t, tab, "teampage-members")
	do(t, tab,
		chromedp.Click(chromedp.CSS(`tr[data-email="newbie@example.com"] form[action$="/revoke"] button`)),
		chromedp.WaitVisible(chromedp.ID("ik-flash")),
		chromedp.WaitNotPresent(row),
	)
	if got := text(t, tab, chromedp.CSS("#ik-flash")); got != "Invitation for newbie@example.com revoked." {
		t.Fatalf("flash %q", got)
	}
	if d := dialogs(); len(d) != 1 || !strings.Contains(d[0], "Revoke the invitation for newbie@example.com") {
		t.Fatalf("dialogs %q", d)
	}
	if _, ok := f.member(t, "newbie@example.com"); ok {
		t.Fatal("revoked member still in the store")
	}
}

func TestBrowserImportCSV(t *testing.T) {
	tab := newTab(t)
	f := newFixture(t, nil)
	f.invite(t, "existing@example.com")
	csvPath := filepath.Join(t.TempDir(), "people.csv")
	csv := "\ufeffemail,first_name,last_name,roles,metadata.team\r\n" +
		"ann@example.com,Ann,Lee,member,blue\r\n" +
		"not-an-email,Bad,Row,,\r\n" +
		"\"bob@example.com\",\"Bob, Jr.\",Smith,admin;billing,red\r\n" +
		"existing@example.com,Ex,Isting,,\r\n" +
		"carl@example.com,Carl,,owner,\r\n" +
		"ANN@example.com,Ann,Again,,\r\n"
	if err := os.WriteFile(csvPath, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}

	// 4. Upload with the preview on (the default), see per-row results.
	do(t, tab,
		chromedp.Navigate(f.base+"/"),
		chromedp.WaitReady(chromedp.ID("ik-file")),
		chromedp.SetUploadFiles(chromedp.ID("ik-file"), []string{csvPath}),
		chromedp.Click(chromedp.ID("ik-import-submit")),
		chromedp.WaitVisible(chromedp.ID("ik-results")),
	)
	checkLabels(t, tab)
	want := map[string]string{
		"1": "created", "2": "invalid", "3": "created", "4": "already_member", "5": "invalid", "6": "duplicate_in_file",
	}
	checkResults := func(want map[string]string) {
		t.Helper()
		got, err := chromedp.Run(tab, chromedp.Evaluate[map[string]string](
			`Object.fromEntries([...document.querySelectorAll('#ik-results tbody tr')].map(tr => [tr.dataset.row, tr.dataset.status]))`))
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("results %v, want %v", got, want)
		}
	}
	checkResults(want)
	details := text(t, tab, chromedp.CSS(`#ik-results tr[data-row="5"]`))
	if !strings.Contains(details, "roles") || !strings.Contains(details, "unknown role") {
		t.Fatalf("row 5 details %q", details)
	}
	if got := text(t, tab, chromedp.CSS("#ik-job-done")); !strings.Contains(got, "nothing was changed") {
		t.Fatalf("status %q", got)
	}
	if _, ok := f.member(t, "ann@example.com"); ok {
		t.Fatal("the preview wrote a member")
	}

	// Import the previewed file for real. The preview page has its own
	// #ik-job-done, so wait for the status text, not the element.
	do(t, tab, chromedp.Click(chromedp.ID("ik-confirm")))
	if got := waitText(t, tab, "#ik-job-done", "Import finished."); got != "Import finished." {
		t.Fatalf("status %q", got)
	}
	checkResults(want)
	summary, err := chromedp.Run(tab, chromedp.Evaluate[string](
		`[...document.querySelectorAll('#ik-summary > div')].map(d => d.querySelector('dt').textContent + '=' + d.querySelector('dd').textContent).join(', ')`))
	if err != nil || summary != "Rows=6, Created=2, Already members=1, Invalid=2, Refused=0, Duplicates in file=1" {
		t.Fatalf("summary %q (%v)", summary, err)
	}
	shot(t, tab, "teampage-import")
	for _, e := range []string{"ann@example.com", "bob@example.com"} {
		m, ok := f.member(t, e)
		if !ok || m.Membership.Status != store.StatusPendingInvite {
			t.Fatalf("%s: %+v", e, m)
		}
	}
	bob, _ := f.member(t, "bob@example.com")
	if bob.User.Profile.FirstName != "Bob, Jr." || bob.Membership.Metadata["team"] != "red" || strings.Join(bob.Membership.Roles, ",") != "admin,billing" {
		t.Fatalf("bob %+v", bob)
	}
	msgs, _ := f.st.ListOutbox(context.Background(), "org_acme", store.OutboxQueued, 100)
	if len(msgs) != 3 { // existing@ + ann + bob
		t.Fatalf("%d queued mails", len(msgs))
	}
	// The list shows the new pending members.
	do(t, tab, chromedp.Navigate(f.base+"/?status=PENDING_INVITE"), chromedp.WaitVisible(chromedp.ID("ik-members")))
	n, err := chromedp.Run(tab, chromedp.Evaluate[int](`document.querySelectorAll('#ik-members tbody tr').length`))
	if err != nil || n != 3 {
		t.Fatalf("%d pending rows (%v)", n, err)
	}
}

// shot saves a full-page screenshot under testdata/artifacts (gitignored)
// and checks that it is not blank.
func shot(t *testing.T, tab context.Context, name string) {
	t.Helper()
	buf, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(buf))
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	if err := checkNotBlank(img); err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	dir := filepath.Join("testdata", "artifacts")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name+".png")
	if err := os.WriteFile(p, buf, 0o644); err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs(p)
	t.Logf("screenshot: %s (%dx%d)", abs, img.Bounds().Dx(), img.Bounds().Dy())
}

// checkNotBlank requires a real picture: many distinct colors and a
// luminance spread, on a page of a plausible size.
func checkNotBlank(img image.Image) error {
	b := img.Bounds()
	if b.Dx() < 320 || b.Dy() < 400 { // 320: a phone
		return fmt.Errorf("too small: %dx%d", b.Dx(), b.Dy())
	}
	colors := map[uint32]bool{}
	var n, sum, sumSq float64
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			colors[(r>>8)<<16|(g>>8)<<8|bl>>8] = true
			l := 0.299*float64(r>>8) + 0.587*float64(g>>8) + 0.114*float64(bl>>8)
			n++
			sum += l
			sumSq += l * l
		}
	}
	mean := sum / n
	variance := sumSq/n - mean*mean
	if len(colors) < 50 {
		return fmt.Errorf("only %d distinct colors", len(colors))
	}
	if variance < 100 {
		return errors.New("nearly uniform luminance")
	}
	return nil
}
