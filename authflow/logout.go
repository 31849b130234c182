package authflow

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/invitekit/invitekit/internal/httpx"
)

// LogoutHandler signs out. GET shows a confirmation form (no JavaScript
// needed); POST (behind http.CrossOriginProtection) destroys the session
// and, when the provider the session signed in through has an
// end_session_endpoint, redirects there (OpenID RP-Initiated Logout 1.0,
// with id_token_hint, client_id and post_logout_redirect_uri =
// Config.EndSessionRedirect); otherwise it redirects to
// Config.EndSessionRedirect or "/".
//
// That provider is the app's, or for a session signed in through an
// organization's SSO connection, that connection's, from its own
// discovery, with the connection's client id and the ID token it issued.
// A connection removed since the sign-in, replaced, or now naming another
// issuer logs out locally only: its provider is no longer the one the
// session came from. Logout does not depend on the provider: while it
// cannot be discovered (logout waits at most 3 s for an attempt) the
// session still ends and the redirect stays local.
func (f *Flow) LogoutHandler() http.Handler {
	return f.methods(httpx.WithHead(map[string]http.HandlerFunc{
		http.MethodGet: func(w http.ResponseWriter, r *http.Request) {
			p := f.page("")
			p.Lang = f.lang(r, "")
			p.Title = p.T("logout.title")
			if ls, err := f.sess.logoutState(r.Context()); err == nil {
				p.EndSession = f.logoutAt(r.Context(), ls) != nil
			}
			f.render(w, r, "logout", p)
		},
		http.MethodPost: f.cop.Handler(http.HandlerFunc(f.logoutPost)).ServeHTTP,
	}))
}

func (f *Flow) logoutPost(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	ls, err := f.sess.logoutState(ctx)
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
	if at := f.logoutAt(ctx, ls); at != nil {
		q := at.Query()
		if ls.idToken != "" {
			q.Set("id_token_hint", ls.idToken)
		}
		q.Set("client_id", at.clientID)
		if f.cfg.EndSessionRedirect != "" {
			q.Set("post_logout_redirect_uri", f.cfg.EndSessionRedirect)
		}
		at.RawQuery = q.Encode()
		target = at.String()
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// endSessionURL is a provider's end_session_endpoint and the client id
// logout names there.
type endSessionURL struct {
	url.URL
	clientID string
}

// logoutAt is where the logout of the session ls continues (see
// LogoutHandler), or nil to log out locally only.
func (f *Flow) logoutAt(ctx context.Context, ls logoutState) *endSessionURL {
	endpoint, clientID := f.endSession(ctx), f.cfg.ClientID
	if ls.connID != "" || ls.connOrg != "" {
		endpoint = ""
		conn, err := f.connection(ctx, ls.connOrg)
		if err == nil && conn != nil && conn.id() == ls.connID &&
			(ls.idToken == "" || tokenIssuer(ls.idToken) == conn.client.Connection.Issuer) {
			wctx, cancel := context.WithTimeout(ctx, logoutWait)
			defer cancel()
			if rem, err := conn.remote.get(wctx); err == nil {
				endpoint, clientID = rem.endSess, conn.client.Connection.ClientID
			}
		}
	}
	if endpoint == "" {
		return nil
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil
	}
	return &endSessionURL{URL: *u, clientID: clientID}
}

// tokenIssuer is the iss claim of a JWT, unverified ("" when it cannot be
// read): only to tell whether the ID token a session keeps came from the
// provider logout would go to.
func tokenIssuer(raw string) string {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return ""
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var c struct {
		Iss string `json:"iss"`
	}
	if json.Unmarshal(payload, &c) != nil {
		return ""
	}
	return c.Iss
}

// logoutWait bounds how long logout waits for a discovery attempt.
const logoutWait = 3 * time.Second

// endSession is the app's provider's end_session_endpoint ("" if it has
// none, or while it cannot be discovered).
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
