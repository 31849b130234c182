package authflow

import (
	"net/http"
	"net/url"

	"github.com/invitekit/invitekit/internal/sessionkeys"
)

// LogoutHandler signs out. GET shows a confirmation form (no JavaScript
// needed); POST (behind http.CrossOriginProtection) destroys the session
// and, when the provider has an end_session_endpoint, redirects there
// (RP-initiated logout, with id_token_hint, client_id and
// post_logout_redirect_uri = Config.EndSessionRedirect); otherwise it
// redirects to Config.EndSessionRedirect or "/".
func (f *Flow) LogoutHandler() http.Handler {
	post := f.cop.Handler(http.HandlerFunc(f.logoutPost))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			p := f.page("Sign out")
			p.EndSession = f.endSess != ""
			f.render(w, r, "logout", p)
		case http.MethodPost:
			post.ServeHTTP(w, r)
		default:
			f.methodNotAllowed(w, r, "GET, HEAD, POST")
		}
	})
}

func (f *Flow) logoutPost(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	hint, err := f.sess.getString(ctx, sessionkeys.IDToken)
	if err != nil {
		f.renderError(w, r, err)
		return
	}
	if err := f.sess.destroy(ctx); err != nil {
		f.renderError(w, r, err)
		return
	}
	target := f.cfg.EndSessionRedirect
	if target == "" {
		target = "/"
	}
	if f.endSess != "" {
		u, err := url.Parse(f.endSess)
		if err == nil {
			q := u.Query()
			if hint != "" {
				q.Set("id_token_hint", hint)
			}
			q.Set("client_id", f.cfg.ClientID)
			if f.cfg.EndSessionRedirect != "" {
				q.Set("post_logout_redirect_uri", f.cfg.EndSessionRedirect)
			}
			u.RawQuery = q.Encode()
			target = u.String()
		}
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}
