package authflow

import (
	"bytes"
	"embed"
	"errors"
	"html/template"
	"net/http"
	"time"

	"github.com/invitekit/invitekit/internal/httpx"
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
}

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
	var buf bytes.Buffer
	if err := f.tmpl.ExecuteTemplate(&buf, name, p); err != nil {
		f.log.ErrorContext(r.Context(), "authflow: render page", "template", name, "err", err)
		securityHeaders(w.Header())
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte("internal error\n"))
		return
	}
	securityHeaders(w.Header())
	w.WriteHeader(p.Status)
	_, _ = w.Write(buf.Bytes())
}

// titles for error pages, by code.
var errorTitles = map[string]string{
	CodeInvalidToken:        "Invitation link not valid",
	CodeInviteExpired:       "Invitation expired",
	CodeInviteRevoked:       "Invitation withdrawn",
	CodeInviteUsed:          "Invitation already used",
	CodeInvitationRequired:  "Invitation required",
	CodeEmailMismatch:       "Wrong account",
	CodeEmailNotVerified:    "Email address not verified",
	CodeProviderError:       "Sign-in was not completed",
	CodeProviderUnavailable: "Sign-in is unavailable for a moment",
	CodeRateLimited:         "Too many attempts",
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
	title := errorTitles[e.Code]
	if title == "" {
		title = http.StatusText(e.Status)
	}
	p := f.page(title)
	p.Status = e.Status
	p.Error = e
	p.Message = e.Message
	if fill != nil {
		fill(p)
	}
	f.render(w, r, "message", p)
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
