package authflow

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/invitekit/invitekit/internal/httpx"
	"github.com/invitekit/invitekit/internal/sessionkeys"
)

// LogoutHandler signs out. GET shows a confirmation form (no JavaScript
// needed); POST (behind http.CrossOriginProtection) destroys the session
// and, when the provider has an end_session_endpoint, redirects there
// (RP-initiated logout, with id_token_hint, client_id and
// post_logout_redirect_uri = Config.EndSessionRedirect); otherwise it
// redirects to Config.EndSessionRedirect or "/". Logout does not depend on
// the provider: while it cannot be discovered (logout waits at most 3 s for
// an attempt) the session still ends and the redirect stays local.
func (f *Flow) LogoutHandler() http.Handler {
	return f.methods(httpx.WithHead(map[string]http.HandlerFunc{
		http.MethodGet: func(w http.ResponseWriter, r *http.Request) {
			p := f.page("")
			p.Lang = f.lang(r, "")
			p.Title = p.T("logout.title")
			p.EndSession = f.endSession(r.Context()) != ""
			f.render(w, r, "logout", p)
		},
		http.MethodPost: f.cop.Handler(http.HandlerFunc(f.logoutPost)).ServeHTTP,
	}))
}

func (f *Flow) logoutPost(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	hint, err := f.sess.getString(ctx, sessionkeys.IDToken)
	if err != nil {
		f.renderError(w, r, err)
		return
	}
	ssoOrg, _ := f.sess.getString(ctx, sessionkeys.SSOOrg) // signed in through its connection: log out there
	if err := f.sess.destroy(ctx); err != nil {
		f.renderError(w, r, err)
		return
	}
	target := f.cfg.EndSessionRedirect
	if target == "" {
		target = "/"
	}
	if endSess, clientID := f.endSessionOf(ctx, ssoOrg); endSess != "" {
		u, err := url.Parse(endSess)
		if err == nil {
			q := u.Query()
			if hint != "" {
				q.Set("id_token_hint", hint)
			}
			q.Set("client_id", clientID)
			if f.cfg.EndSessionRedirect != "" {
				q.Set("post_logout_redirect_uri", f.cfg.EndSessionRedirect)
			}
			u.RawQuery = q.Encode()
			target = u.String()
		}
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// logoutWait bounds how long logout waits for a discovery attempt.
const logoutWait = 3 * time.Second

// endSession is the provider's end_session_endpoint ("" if it has none, or
// while it cannot be discovered).
func (f *Flow) endSession(ctx context.Context) string {
	if f.cfg.EndSessionEndpoint != "" {
		return f.cfg.EndSessionEndpoint
	}
	ctx, cancel := context.WithTimeout(ctx, logoutWait)
	defer cancel()
	rem, err := f.remote.get(ctx)
	if err != nil {
		return ""
	}
	return rem.endSess
}
