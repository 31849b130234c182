package authflow

import (
	"bytes"
	"embed"
	"errors"
	"html/template"
	"net/http"
	"time"

	"github.com/invitekit/invitekit/internal/httpx"
	"github.com/invitekit/invitekit/internal/pages"
)

//go:embed templates/*.html
var templateFS embed.FS

// defaultTemplates parses the embedded pages. They are part of the binary,
// so a parse failure is a build defect caught by the package's tests.
func defaultTemplates() *template.Template {
	return template.Must(template.ParseFS(templateFS, "templates/*.html"))
}

// Page is the data every template receives.
type Page struct {
	Status  int
	Title   string
	Message string
	// Error is set on refusals: its Code and Field are machine-readable.
	Error *Error
	// Detail is the provider's error_description, when it sent one.
	Detail string

	// Invitation details (accept page, and pages about an invitation).
	OrgName     string
	InviterName string
	Email       string
	ExpireTime  time.Time
	// Token is the invitation token, only on pages that post it back
	// (these are sent with Cache-Control: no-store and no referrer).
	Token string
	// CanRequestNew offers "ask for a new invitation" (expired links).
	CanRequestNew bool
	// AllowJoinAsSignedIn offers the "join with the account I sign in with" button.
	AllowJoinAsSignedIn bool
	// EndSession is true when logout continues at the provider.
	EndSession bool

	AcceptPath, LoginPath, LogoutPath string
	// LoginURL, when set, is a "sign in (again)" link.
	LoginURL string
	// ReturnTo is where the email-first sign-in page continues to (a
	// relative path, or "").
	ReturnTo string

	// Lang is the page's language ("en" or "de"): Config.Locale, then
	// Accept-Language, then the organization's locale (see Config.Locale);
	// T and Tf give the page's words in it.
	Lang string
	// Style is the kit's shared stylesheet (a <style> element); a custom
	// template may leave it out and link its own.
	Style template.HTML
	// Steps are a refusal's next steps, chosen by its code (sign in again,
	// sign out, go home, …).
	Steps []Step
	// OrgLocale is the organization's default language, when known.
	OrgLocale string
	// Organizations are the person's organizations ("My organizations").
	Organizations []OrgChoice
	// Join is the join page's content (JoinHandler).
	Join *JoinView
}

// Step is one next step a refusal page offers.
type Step struct {
	Kind  string // home, signin, restart, signout, signout_other, orgs, retry
	Label string
	Href  string
}

// T is the page's text for key in p.Lang.
func (p *Page) T(key string) string { return pages.T(p.Lang, key) }

// Tf is T formatted with args.
func (p *Page) Tf(key string, args ...any) string { return pages.Tf(p.Lang, key, args...) }

// FormatTime renders t the one way of p.Lang (the mails' way).
func (p *Page) FormatTime(t time.Time) string { return pages.FormatTime(p.Lang, t) }

// securityHeaders are set on every page: pages may carry an invitation
// token, so nothing is cached or leaked through Referer, and the pages
// cannot be framed (the Join button must not be clickjacked).
func securityHeaders(h http.Header) {
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'")
}

func (f *Flow) page(title string) *Page {
	return &Page{
		Status:     http.StatusOK,
		Title:      title,
		AcceptPath: f.cfg.AcceptPath,
		LoginPath:  f.cfg.LoginPath,
		LogoutPath: f.cfg.LogoutPath,
	}
}

func (f *Flow) render(w http.ResponseWriter, r *http.Request, name string, p *Page) {
	if p.Lang == "" {
		p.Lang = f.lang(r, p.OrgLocale)
	}
	p.Style = pages.StyleTag()
	var buf bytes.Buffer
	t := f.tmpl
	if t.Lookup(name) == nil { // Config.Templates without the page: the built-in one
		t = f.builtin
	}
	if err := t.ExecuteTemplate(&buf, name, p); err != nil {
		f.log.ErrorContext(r.Context(), "authflow: render page", "template", name, "err", err)
		securityHeaders(w.Header())
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte("internal error\n"))
		return
	}
	securityHeaders(w.Header())
	pages.SetLangHeaders(w.Header(), p.Lang)
	w.WriteHeader(p.Status)
	_, _ = w.Write(buf.Bytes())
}

// renderError renders e (or, for a non-*Error, an internal error) on the
// message page, logging the cause.
func (f *Flow) renderError(w http.ResponseWriter, r *http.Request, err error) {
	f.renderErrorPage(w, r, err, nil)
}

// renderErrorPage is renderError with extra page fields filled by fill.
func (f *Flow) renderErrorPage(w http.ResponseWriter, r *http.Request, err error, fill func(*Page)) {
	var e *Error
	if !errors.As(err, &e) {
		e = internalError(err)
	}
	if errors.Is(err, ErrNoSession) {
		e = pageError(httpx.ErrSessionUnavailable, "",
			"Sessions are not set up for this page (the app must wrap these routes with the session manager's LoadAndSave).", err)
	}
	var ue *unavailableError
	var re *httpx.RetryError
	switch {
	case errors.As(e.Err, &ue):
		w.Header().Set("Retry-After", ue.retryAfterHeader())
	case errors.As(e.Err, &re):
		httpx.SetRetryAfter(w, re)
	}
	if e.Status >= 500 {
		f.log.ErrorContext(r.Context(), "authflow: request failed", "code", e.Code, "path", r.URL.Path, "err", e.Err)
	} else {
		f.log.InfoContext(r.Context(), "authflow: request refused", "code", e.Code, "field", e.Field, "path", r.URL.Path, "cause", errString(e.Err))
	}
	p := f.page("")
	p.Status = e.Status
	p.Error = e
	p.Message = e.Message
	if fill != nil {
		fill(p)
	}
	p.Lang = f.lang(r, p.OrgLocale)
	rf := pages.Refusal{Lang: p.Lang, Status: e.Status, Code: e.Code, Key: refusalVariant(e), Message: e.Message,
		Links: pages.Links{Home: "/", SignIn: p.LoginURL, SignOut: f.cfg.LogoutPath, Retry: p.LoginURL, Organizations: f.cfg.OrganizationsPath, Join: f.cfg.JoinPath}}
	p.Title = rf.Title()
	if rf.HasWords() || p.Lang != pages.DefaultLang {
		p.Message = rf.Body()
	}
	for _, s := range rf.Steps() {
		if s.Kind == "signin" || s.Kind == "restart" || s.Kind == "retry" {
			if p.LoginURL == "" {
				continue
			}
		}
		p.Steps = append(p.Steps, Step{Kind: s.Kind, Label: s.Label, Href: s.Href})
	}
	f.render(w, r, "message", p)
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// lang is a page's language: Config.Locale, then Accept-Language, then
// orgLocale (pages.RequestLang, the one negotiation of every kit page).
func (f *Flow) lang(r *http.Request, orgLocale string) string {
	return pages.RequestLang(r, f.cfg.Locale, orgLocale)
}
