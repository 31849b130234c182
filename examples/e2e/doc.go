// Package e2e drives the examples in a real browser (Chromium through the
// Chrome DevTools Protocol, github.com/chromedp/chromedp) for end-to-end
// tests. It is test support for this examples module, not part of the kit.
//
// A test package starts one browser for all its tests and gives each test
// its own tab, usually in its own browser context (a fresh profile: no
// cookies shared with other tabs, like an incognito window):
//
//	var browser e2e.Shared // one per test package
//
//	func TestMain(m *testing.M) {
//		code := m.Run()
//		browser.Close()
//		os.Exit(code)
//	}
//
//	func TestX(t *testing.T) {
//		tab := browser.Tab(t, true) // skips the test when no Chromium is installed
//		...
//		e2e.Screenshot(t, tab, "home") // full page PNG, checked not blank
//	}
//
// Defaults: the browser is $INVITEKIT_CHROMIUM, else /usr/bin/chromium,
// else chromium, chromium-browser, google-chrome or google-chrome-stable on
// $PATH; it runs headless without sandbox (the test machines run as root)
// in a fresh temporary profile. Screenshots go to testdata/artifacts/<test
// name>/ of the test's package (gitignored), or $INVITEKIT_ARTIFACTS/<test
// name>/ when that is set.
//
// Shared and Browser are safe for concurrent use; a tab's context must be
// used by one goroutine at a time (chromedp's rule).
package e2e
