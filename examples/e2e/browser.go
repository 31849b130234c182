package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// ErrNoBrowser is returned by FindBrowser and Start when no Chromium
// executable is found.
var ErrNoBrowser = errors.New("e2e: no Chromium found (install chromium, or set INVITEKIT_CHROMIUM to its path)")

// DefaultTabTimeout bounds everything one tab does (Shared.Tab).
const DefaultTabTimeout = 3 * time.Minute

// FindBrowser returns the Chromium executable to use: $INVITEKIT_CHROMIUM,
// else /usr/bin/chromium, else the first of chromium, chromium-browser,
// google-chrome and google-chrome-stable on $PATH.
func FindBrowser() (string, error) {
	if p := os.Getenv("INVITEKIT_CHROMIUM"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%w: INVITEKIT_CHROMIUM=%s: %v", ErrNoBrowser, p, err)
		}
		return p, nil
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium", nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", ErrNoBrowser
}

// Browser is one running headless Chromium.
type Browser struct {
	ctx         context.Context // the browser's chromedp context
	cancel      context.CancelFunc
	cancelAlloc context.CancelFunc
}

// Start launches Chromium at execPath with a fresh profile in userDataDir
// (a temporary directory when empty) and waits until it answers. Close
// stops it.
func Start(execPath, userDataDir string) (*Browser, error) {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(execPath),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.WindowSize(1280, 900),
	)
	if userDataDir != "" {
		opts = append(opts, chromedp.UserDataDir(userDataDir))
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	// The first Do starts the browser and binds it to ctx (no deadline
	// here: a deadline would end the browser with it).
	startErr := make(chan error, 1)
	go func() { startErr <- chromedp.Do(ctx) }()
	select {
	case err := <-startErr:
		if err != nil {
			cancel()
			cancelAlloc()
			return nil, fmt.Errorf("e2e: start %s: %w", execPath, err)
		}
	case <-time.After(time.Minute):
		cancel()
		cancelAlloc()
		return nil, fmt.Errorf("e2e: start %s: no answer within a minute", execPath)
	}
	return &Browser{ctx: ctx, cancel: cancel, cancelAlloc: cancelAlloc}, nil
}

// NewTab opens a new tab; with isolated it lives in a new browser context
// (its own cookies and storage, like an incognito window), disposed with
// the tab. The tab closes when parent is done or cancel is called; parent
// bounds its actions (for example a deadline) but not the browser.
func (b *Browser) NewTab(parent context.Context, isolated bool) (context.Context, context.CancelFunc, error) {
	// chromedp finds the browser through b.ctx's values; parent's end
	// (cancel or deadline) is forwarded to it.
	ctx, cancelParent := context.WithCancel(b.ctx)
	stop := context.AfterFunc(parent, cancelParent)
	var opts []chromedp.ContextOption
	if isolated {
		opts = append(opts, chromedp.WithNewBrowserContext())
	}
	tab, cancelTab := chromedp.NewContext(ctx, opts...)
	cancel := func() {
		cancelTab()
		stop()
		cancelParent()
	}
	if err := chromedp.Do(tab); err != nil { // opens the tab
		cancel()
		return nil, nil, fmt.Errorf("e2e: open tab: %w", err)
	}
	return tab, cancel, nil
}

// Close stops the browser and removes its temporary profile.
func (b *Browser) Close() {
	b.cancel()
	b.cancelAlloc()
}

// Shared starts one browser on first use and hands out tabs; its zero
// value is ready. Keep one per test package and Close it in TestMain.
type Shared struct {
	once    sync.Once
	browser *Browser
	err     error // ErrNoBrowser (skip) or a start failure (fail)
}

// Browser returns the shared browser, starting it on first call. It skips
// t when no Chromium is installed and fails t when it does not start.
func (s *Shared) Browser(t testing.TB) *Browser {
	t.Helper()
	s.once.Do(func() {
		path, err := FindBrowser()
		if err != nil {
			s.err = err
			return
		}
		s.browser, s.err = Start(path, "")
	})
	switch {
	case errors.Is(s.err, ErrNoBrowser):
		t.Skipf("skipping browser test: %v", s.err)
	case s.err != nil:
		t.Fatal(s.err)
	}
	return s.browser
}

// Tab opens a tab for t (see Browser.NewTab), bounded by
// DefaultTabTimeout and closed at the end of the test. It skips t when no
// Chromium is installed.
func (s *Shared) Tab(t testing.TB, isolated bool) context.Context {
	t.Helper()
	b := s.Browser(t)
	parent, cancelParent := context.WithTimeout(context.Background(), DefaultTabTimeout)
	tab, cancel, err := b.NewTab(parent, isolated)
	if err != nil {
		cancelParent()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		cancelParent()
	})
	return tab
}

// Close stops the browser if it was started.
func (s *Shared) Close() {
	if s.browser != nil {
		s.browser.Close()
	}
}
