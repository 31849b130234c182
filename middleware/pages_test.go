package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/invitekit/invitekit/middleware"
	"github.com/invitekit/invitekit/store/memstore"
)

// The default refusal pages are chosen by the error table's code: they
// say what happened, offer the next steps that fit (with the links of
// Config.Pages) and speak the request's language.
func TestRefusalPages(t *testing.T) {
	st := memstore.New()
	seed(t, st)
	app, sm, _ := newApp(t, st, middleware.Config{Now: func() time.Time { return t0 },
		Pages: middleware.PageLinks{Home: "/home", Logout: "/auth/logout", Organizations: "/my/orgs"}})
	for _, tt := range []struct {
		name, user, lang, code string
		want, notWant          []string
	}{
		{"pending invitee", "usr_pat", "", "invitation_pending",
			[]string{"not accepted yet", `href="/my/orgs"`, `href="/auth/logout"`, `href="/home"`, `lang="en"`},
			[]string{"Ask an administrator for an invitation"}},
		{"deactivated member", "usr_ina", "", "membership_inactive",
			[]string{"deactivated", "reactivate", `data-step="orgs"`, `data-step="signout"`},
			[]string{"for an invitation"}},
		{"not a member, German", "usr_zed", "de-DE,de;q=0.9,en;q=0.5", "not_member",
			[]string{`lang="de"`, "Kein Mitglied dieser Organisation", "Organisation wechseln", "Zur Startseite"},
			[]string{"Go to the home page"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/orgs/org_a/dash", nil)
			req.Header.Set("Accept", "text/html")
			if tt.lang != "" {
				req.Header.Set("Accept-Language", tt.lang)
			}
			req.AddCookie(sessionCookie(t, sm, tt.user))
			rec := httptest.NewRecorder()
			app.ServeHTTP(rec, req)
			body := rec.Body.String()
			if rec.Code != http.StatusForbidden || !strings.Contains(body, `id="error-code">`+tt.code+`<`) {
				t.Fatalf("status %d, body %s", rec.Code, body)
			}
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("page lacks %q", w)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(body, w) {
					t.Errorf("page says %q", w)
				}
			}
			if !strings.Contains(body, "prefers-color-scheme") {
				t.Error("page lacks the shared stylesheet")
			}
		})
	}
}

// Config.Locale (the person's own locale) comes first, then
// Accept-Language, then Pages.OrgDefaultLang: the one negotiation of every
// kit page (internal/pages.RequestLang).
func TestRefusalPagesLocale(t *testing.T) {
	st := memstore.New()
	seed(t, st)
	own := map[string]string{"usr_zed": "de-CH"}
	app, sm, _ := newApp(t, st, middleware.Config{Now: func() time.Time { return t0 },
		Locale: func(r *http.Request) string { return own[r.Header.Get("X-Test-User")] },
		Pages:  middleware.PageLinks{OrgDefaultLang: func(*http.Request) string { return "de" }}})
	for _, tt := range []struct {
		name, user, acceptLanguage, want string
	}{
		{"own locale beats Accept-Language", "usr_zed", "en", "de"},
		{"no own locale: Accept-Language", "usr_pat", "en-US", "en"},
		{"neither: the organization's", "usr_pat", "", "de"},
		{"an unsupported own locale is passed over", "usr_ina", "en", "en"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			own["usr_ina"] = "fr"
			req := httptest.NewRequest(http.MethodGet, "/orgs/org_a/dash", nil)
			req.Header.Set("Accept", "text/html")
			req.Header.Set("X-Test-User", tt.user)
			if tt.acceptLanguage != "" {
				req.Header.Set("Accept-Language", tt.acceptLanguage)
			}
			req.AddCookie(sessionCookie(t, sm, tt.user))
			rec := httptest.NewRecorder()
			app.ServeHTTP(rec, req)
			if rec.Code != http.StatusForbidden {
				t.Fatalf("status %d", rec.Code)
			}
			if got := rec.Header().Get("Content-Language"); got != tt.want || !strings.Contains(rec.Body.String(), `lang="`+tt.want+`"`) {
				t.Errorf("Content-Language %q, want %q", got, tt.want)
			}
		})
	}
}
