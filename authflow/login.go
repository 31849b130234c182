package authflow

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"strconv"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/invitekit/invitekit/internal/httpx"
	"github.com/invitekit/invitekit/internal/ratelimit"
	"github.com/invitekit/invitekit/internal/sessionkeys"
)

// LoginHandler initiates login (GET or HEAD): it validates return_to (a
// relative path only; anything else is refused with 400 and changes
// nothing), creates state, nonce and a PKCE S256 verifier, keeps them in
// the session and redirects to the provider's authorization endpoint,
// with login_hint set to the invited email when an invitation is pending
// and max_age when Config.MaxAuthAge is set.
// Starting a new login replaces one in flight in the same session. While
// the provider cannot be discovered it answers 503 (provider_unavailable,
// with Retry-After) and keeps nothing.
func (f *Flow) LoginHandler() http.Handler {
	return f.methods(httpx.WithHead(map[string]http.HandlerFunc{http.MethodGet: func(w http.ResponseWriter, r *http.Request) {
		if !f.allow(ratelimit.RouteLogin, w, r) {
			return
		}
		q := r.URL.Query()
		if len(q["return_to"]) > 1 {
			f.renderError(w, r, pageError(httpx.ErrReturnToInvalid, "return_to", "return_to is given more than once.", nil))
			return
		}
		returnTo := q.Get("return_to")
		if err := CheckReturnTo(returnTo); err != nil {
			f.renderError(w, r, err)
			return
		}
		ctx := r.Context()
		hint, err := f.sess.getString(ctx, sessionkeys.InvitationEmail)
		if err != nil {
			f.renderError(w, r, err)
			return
		}
		// ?org= signs in through the organization's own connection, if it
		// has one (else, and without org, through the app's provider).
		orgID, conn, err := f.loginOrg(r)
		if err != nil {
			f.renderError(w, r, err)
			return
		}
		if hint == "" {
			hint = emailHint(q.Get("login_hint"))
		}
		rem, err := f.remoteFor(ctx, conn)
		if err != nil {
			f.renderErrorPage(w, r, err, func(p *Page) { p.LoginURL = f.loginURLFor(orgID, returnTo) })
			return
		}
		connID, connOrg := "", ""
		if conn != nil {
			connID, connOrg = conn.id(), conn.orgID()
		}
		force, _ := f.sess.getString(ctx, sessionkeys.ForceLogin)
		state, nonce, verifier := randomString(), randomString(), oauth2.GenerateVerifier()
		if err := f.sess.put(ctx,
			sessionkeys.OIDCState, state,
			sessionkeys.OIDCNonce, nonce,
			sessionkeys.OIDCVerifier, verifier,
			sessionkeys.ReturnTo, returnTo,
			sessionkeys.LoginStarted, strconv.FormatInt(f.cfg.Now().Unix(), 10),
			sessionkeys.ForceLogin, "",
			sessionkeys.LoginConnection, connID,
			sessionkeys.LoginOrg, connOrg,
		); err != nil {
			f.renderError(w, r, err)
			return
		}
		opts := append([]oauth2.AuthCodeOption{oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)}, f.cfg.AuthCodeOptions...)
		if hint != "" {
			opts = append(opts, oauth2.SetAuthURLParam("login_hint", hint))
		}
		if f.cfg.MaxAuthAge > 0 {
			// After AuthCodeOptions: the max_age sent is the one checked.
			opts = append(opts, oauth2.SetAuthURLParam("max_age", strconv.FormatInt(int64(f.cfg.MaxAuthAge/time.Second), 10)))
		}
		if force == "1" {
			// The last sign-in was with the wrong account: ask the provider
			// to authenticate again rather than reuse its session.
			opts = append(opts, oauth2.SetAuthURLParam("prompt", "login"))
		}
		http.Redirect(w, r, rem.oauth.AuthCodeURL(state, opts...), http.StatusSeeOther)
	}}))
}

// randomString returns 256 random bits, base64url-encoded.
func randomString() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand, Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}
