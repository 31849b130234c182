package middleware

import (
	"errors"
	"net/http"
	"strings"

	"github.com/invitekit/invitekit/internal/httpx"
)

func (m *Middleware) handleError(w http.ResponseWriter, r *http.Request, err error) {
	if m.onError != nil {
		m.onError(w, r, err)
		return
	}
	m.RenderError(w, r, err)
}

// RenderError writes the default response for an error from Check: a
// redirect to login (HTML) or 401 JSON for ErrNoSession, 400/403 for the
// other package errors, and 500 for anything else (logged, never shown).
// API requests (those accepting application/json but not text/html) get
// {"error":{"code":…,"message":…}}; others the refusal page for the error's code (internal/pages: what
// happened and what to do next, in English or German).
func (m *Middleware) RenderError(w http.ResponseWriter, r *http.Request, err error) {
	p := httpx.ProblemOf(err)
	switch {
	case p.Status >= 500:
		m.log.ErrorContext(r.Context(), "middleware: membership check failed", "err", err, "path", r.URL.Path)
	default:
		m.log.DebugContext(r.Context(), "middleware: request refused", "code", p.Code, "path", r.URL.Path)
	}
	api := WantsJSON(r)
	if errors.Is(err, ErrNoSession) && !api {
		http.Redirect(w, r, m.LoginURL(r), http.StatusSeeOther)
		return
	}
	if to, ok := m.ssoRedirect(r, err); ok && !api {
		http.Redirect(w, r, to, http.StatusSeeOther)
		return
	}
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if api {
		httpx.WriteError(w, err)
		return
	}
	m.writeRefusalPage(w, r, p)
}

// LoginURL returns Config.LoginURL with return_to set to r's relative
// request URI (path and query), where an HTML request without a session is
// redirected.
func (m *Middleware) LoginURL(r *http.Request) string {
	u := *m.login
	q := u.Query()
	q.Set("return_to", returnTo(r))
	u.RawQuery = q.Encode()
	return u.String()
}

// returnTo is the request's path and query when it is a plain relative
// path, else "/" (the login handler validates it again).
func returnTo(r *http.Request) string {
	uri := r.URL.RequestURI()
	if len(uri) == 0 || uri[0] != '/' || (len(uri) > 1 && (uri[1] == '/' || uri[1] == '\\')) {
		return "/"
	}
	return uri
}

// WantsJSON reports whether r is an API request: its Accept header names
// application/json (or a +json type) and not text/html.
func WantsJSON(r *http.Request) bool {
	accept := strings.ToLower(r.Header.Get("Accept"))
	if accept == "" || strings.Contains(accept, "text/html") {
		return false
	}
	return strings.Contains(accept, "application/json") || strings.Contains(accept, "+json")
}
