// Package pagetest holds the browser checks every page test of the kit
// runs in Chromium (chromedp): the longest values the kit accepts, the
// DOM-geometry check (nothing scrolls horizontally, every action button
// inside the viewport, the page's language, its background) and axe-core
// (no serious or critical violation). It is for tests only; both the main
// module's and the examples' page tests use it, so the checks are the
// same everywhere.
package pagetest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// The longest values the kit accepts: a 100-character name and a
// 254-character email.
var (
	LongName  = strings.Repeat("L", 100)
	LongEmail = strings.Repeat("l", 64) + "@" + strings.Repeat("a", 63) + "." + strings.Repeat("b", 63) + "." + strings.Repeat("c", 57) + ".com"
)

// Geometry is what the layout check measures on a page.
type Geometry struct {
	ScrollWidth int      `json:"scrollWidth"` // the document's width
	Width       int      `json:"width"`       // the viewport's
	Off         []string `json:"off"`         // action buttons (partly) outside the viewport
	Buttons     int      `json:"buttons"`     // visible action buttons
	Lang        string   `json:"lang"`        // <html lang>
	Background  string   `json:"background"`  // the body's computed background colour
}

// Problems are the layout failures: horizontal scrolling, buttons out of
// view.
func (g Geometry) Problems() []string {
	var out []string
	if g.ScrollWidth > g.Width {
		out = append(out, fmt.Sprintf("scrolls horizontally (%d px of content in %d px)", g.ScrollWidth, g.Width))
	}
	if len(g.Off) > 0 {
		out = append(out, fmt.Sprintf("action buttons outside the viewport: %v", g.Off))
	}
	return out
}

const geometryJS = `(() => {
  const vw = document.documentElement.clientWidth;
  const off = []; let n = 0;
  for (const el of document.querySelectorAll('button, a.ik-btn, input[type=submit], .ik-button')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    if (getComputedStyle(el).visibility === 'hidden') continue;
    n++;
    if (r.left < -1 || r.right > vw + 1) off.push(el.textContent.trim().slice(0, 40) + ' [' + Math.round(r.left) + '..' + Math.round(r.right) + ']');
  }
  return JSON.stringify({scrollWidth: document.documentElement.scrollWidth, width: vw, off: off, buttons: n,
    lang: document.documentElement.lang, background: getComputedStyle(document.body).backgroundColor});
})()`

// Measure runs the geometry check on the tab's page.
func Measure(tab context.Context) (Geometry, error) {
	var g Geometry
	js, err := chromedp.Run(tab, chromedp.Evaluate[string](geometryJS))
	if err != nil {
		return g, err
	}
	err = json.Unmarshal([]byte(js), &g)
	return g, err
}

// AxePath is axe-core as scripts/test.sh installs it (npm ci in
// internal/pages/testdata/axe), found from this source file.
func AxePath() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "testdata", "axe", "node_modules", "axe-core", "axe.min.js")
}

// LoadAxe reads axe-core; the error says how to install it.
func LoadAxe() ([]byte, error) {
	b, err := os.ReadFile(AxePath())
	if err != nil {
		return nil, fmt.Errorf("axe-core not installed (%v): run `npm ci` in internal/pages/testdata/axe (scripts/test.sh does)", err)
	}
	return b, nil
}

const axeSeriousJS = `axe.run(document, {resultTypes: ['violations']}).then(r => JSON.stringify(
  r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
   .map(v => v.id + ' (' + v.impact + '): ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '))))`

// Axe injects axe (LoadAxe's script) into the tab's page and returns its
// serious and critical violations, one line each. A page whose
// Content-Security-Policy forbids scripts needs page.SetBypassCSP first.
func Axe(tab context.Context, axe []byte) ([]string, error) {
	if _, err := chromedp.Run(tab, chromedp.Evaluate[bool](string(axe)+";true")); err != nil {
		return nil, fmt.Errorf("inject axe: %w", err)
	}
	res, err := chromedp.Run(tab, chromedp.Evaluate[string](axeSeriousJS, chromedp.EvalAwaitPromise))
	if err != nil {
		return nil, err
	}
	var bad []string
	err = json.Unmarshal([]byte(res), &bad)
	return bad, err
}

// Emulate sets the tab's Accept-Language, viewport (a phone below 500 px)
// and colour scheme; bypassCSP lets axe be injected into pages whose
// Content-Security-Policy forbids scripts.
func Emulate(tab context.Context, lang string, w, h int64, dark, bypassCSP bool) error {
	scheme := "light"
	if dark {
		scheme = "dark"
	}
	calls := []func() error{
		func() error {
			_, err := chromedp.Call(tab, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Accept-Language": lang}})
			return err
		},
		func() error {
			_, err := chromedp.Call(tab, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{Width: w, Height: h, DeviceScaleFactor: 1, Mobile: w < 500})
			return err
		},
		func() error {
			_, err := chromedp.Call(tab, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}})
			return err
		},
	}
	if bypassCSP {
		calls = append(calls, func() error {
			_, err := chromedp.Call(tab, page.SetBypassCSP, page.SetBypassCSPParams{Enabled: true})
			return err
		})
	}
	for _, c := range calls {
		if err := c(); err != nil {
			return err
		}
	}
	return nil
}
