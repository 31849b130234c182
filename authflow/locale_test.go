package authflow_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// Config.Locale — the person's own locale, here from a header the test
// sets — comes before Accept-Language on every page of the flow: the Join
// page, a sign-in error, a refusal and sign-out (the one negotiation of
// every kit page, internal/pages.RequestLang).
func TestConfigLocaleFirst(t *testing.T) {
	e := newEnv(t, envOptions{locale: func(r *http.Request) string { return r.Header.Get("X-Own-Locale") }})
	_, link := e.invite("lea@example.com")
	b := newBrowser(t)
	get := func(u, own, acceptLanguage string) page {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		if own != "" {
			req.Header.Set("X-Own-Locale", own)
		}
		req.Header.Set("Accept-Language", acceptLanguage)
		return b.do(req)
	}
	for _, tc := range []struct {
		name, url, own, acceptLanguage, want, words string
	}{
		{"join page, own German", link, "de", "en", "de", "Acme beitreten"},
		{"join page, no own locale", link, "", "en", "en", "Join Acme"},
		{"join page, own locale unsupported", link, "fr", "de", "de", "Acme beitreten"},
		{"sign-in error", e.app.URL + "/auth/callback?state=nope&code=x", "de", "en", "de", "Anmeldung neu beginnen"},
		{"refusal", e.app.URL + "/accept?token=" + url.QueryEscape("inv_x.y"), "de-AT", "en", "de", "Einladungslink ungültig"},
		{"sign-out", e.app.URL + "/logout", "de", "en", "de", "Abmelden"},
		{"sign-out, English", e.app.URL + "/logout", "en", "de", "en", "Sign out"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := get(tc.url, tc.own, tc.acceptLanguage)
			if got := p.header.Get("Content-Language"); got != tc.want {
				t.Errorf("Content-Language %q, want %q (%d)", got, tc.want, p.status)
			}
			if !strings.Contains(p.body, `lang="`+tc.want+`"`) || !strings.Contains(p.body, tc.words) {
				t.Errorf("page lacks lang=%s or %q:\n%s", tc.want, tc.words, p.body)
			}
		})
	}
}
