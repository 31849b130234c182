package authflow

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/invitekit/invitekit/internal/httpx"
	"github.com/invitekit/invitekit/internal/ratelimit"
	"github.com/invitekit/invitekit/internal/sessionkeys"
	"github.com/invitekit/invitekit/invite"
)

// maxDetail bounds how much of a provider's error text a page shows.
const maxDetail = 300

// CallbackHandler completes login (GET): it checks state, reports a
// provider error, exchanges the code with the PKCE verifier, verifies the
// ID token and nonce, gets the email (ID token, else UserInfo), accepts the
// pending invitation or signs a returning member in, renews the session
// token, stores the user id and redirects. Every refusal renders a page
// with a code (see Error) and leaves memberships unchanged.
func (f *Flow) CallbackHandler() http.Handler {
	return f.methods(map[string]http.HandlerFunc{http.MethodGet: func(w http.ResponseWriter, r *http.Request) {
		if !f.allow(ratelimit.RouteCallback, w, r) {
			return
		}
		if err := f.callback(w, r); err != nil {
			f.renderErrorPage(w, r, err, func(p *Page) {
				var e *Error
				if errors.As(err, &e) {
					if e.Code == CodeProviderError || e.Code == CodeAccessDenied {
						p.Detail = providerDetail(r)
					}
					if e.Code != CodeInvitationRequired && e.Code != CodeInternal && e.Code != CodeSessionUnavailable {
						p.LoginURL = f.cfg.LoginPath
					}
				}
			})
		}
	}})
}

// identity is who the provider says signed in.
type identity struct {
	issuer, subject, email string
	emailVerified          bool
	rawIDToken             string
	name                   string // a connection's NameClaim ("" when absent)
}

func (f *Flow) callback(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	q := r.URL.Query()

	// The login in flight is consumed whatever happens next: a callback URL
	// works at most once.
	ls, err := f.sess.popLogin(ctx)
	if err != nil {
		return err
	}
	gotState := q.Get("state")
	switch {
	case gotState == "":
		return pageError(httpx.ErrStateMissing, "state",
			"The sign-in response has no state parameter, so it cannot be matched to a sign-in started here. Start again.", nil)
	case ls.state == "":
		return pageError(httpx.ErrLoginNotStarted, "state",
			"No sign-in was in progress in this browser (it may have finished already, or expired). Start again.", nil)
	case subtle.ConstantTimeCompare([]byte(gotState), []byte(ls.state)) != 1:
		return pageError(httpx.ErrStateMismatch, "state",
			"The sign-in response does not belong to the sign-in started in this browser. Start again.", nil)
	case f.cfg.Now().After(ls.started.Add(f.cfg.LoginTTL)):
		return pageError(httpx.ErrLoginExpired, "",
			"The sign-in took too long and has expired. Start again.", nil)
	}
	conn, err := f.loginConnection(ctx, ls) // nil: the app's provider
	if err != nil {
		return err
	}
	if iss, want := q.Get("iss"), f.issuerOf(conn); iss != "" && want != "" && iss != want {
		return pageError(httpx.ErrIssuerMismatch, "iss",
			"The sign-in response came from a different identity provider than the one the sign-in was started with.", nil)
	}
	if perr := q.Get("error"); perr != "" {
		kind := httpx.ErrProviderError
		if perr == "access_denied" || perr == "login_required" || perr == "consent_required" || perr == "interaction_required" {
			kind = httpx.ErrAccessDenied
		}
		return pageError(kind, "error",
			"The identity provider did not complete the sign-in ("+truncate(perr, 64)+").", nil)
	}
	code := q.Get("code")
	if code == "" {
		return pageError(httpx.ErrCodeMissing, "code",
			"The sign-in response has no authorization code. Start again.", nil)
	}

	id, err := f.exchange(ctx, code, ls, conn)
	if err != nil {
		if errors.Is(err, httpx.ErrIDTokenAuthTimeTooOld) {
			// The provider reused an old session despite max_age: ask it
			// to authenticate again next time.
			_ = f.sess.put(ctx, sessionkeys.ForceLogin, "1")
		}
		return err
	}

	pendingID, err := f.sess.getString(ctx, SessionKeyInvitationID)
	if err != nil {
		return err
	}
	joinAs, err := f.sess.getString(ctx, sessionkeys.JoinAsSignedIn)
	if err != nil {
		return err
	}
	accept := invite.AcceptIdentity{
		Issuer:         id.issuer,
		Subject:        id.subject,
		Email:          id.email,
		EmailVerified:  id.emailVerified,
		JoinAsSignedIn: joinAs == "1" && f.cfg.AllowJoinAsSignedIn,
		Provider:       f.cfg.ProviderName,
		TrustEmail:     f.trustsEmail(id.issuer),
	}
	connID, connOrg := "", ""
	if conn != nil {
		// The organization's own connection: its namespace, its
		// organization only.
		accept = ssoIdentity(conn, id, accept.JoinAsSignedIn)
		connID, connOrg = conn.id(), conn.orgID()
	}
	var userID, orgID string
	if pendingID != "" {
		m, err := f.svc.AcceptInvitationByID(ctx, pendingID, accept)
		if err != nil {
			e := inviteError(err)
			switch e.Code {
			case CodeEmailMismatch, CodeEmailNotVerified, CodeIdentityTaken, CodeIdentityBound:
				// A wrong or unverified account may retry with another one:
				// keep the invitation, and make the provider ask again
				// instead of silently reusing its session.
				if e.Code == CodeEmailMismatch {
					invited, _ := f.sess.getString(ctx, sessionkeys.InvitationEmail)
					e.Message = "You signed in as " + id.email + ", but this invitation was sent to " + invited +
						". Sign in again with the invited address."
				}
				_ = f.sess.put(ctx, sessionkeys.ForceLogin, "1")
			default:
				// A final answer about the invitation ends it in this session.
				_ = f.sess.remove(ctx, SessionKeyInvitationID, sessionkeys.InvitationEmail, sessionkeys.JoinAsSignedIn)
			}
			return e
		}
		userID, orgID = m.UserID, m.OrganizationID
		f.log.InfoContext(ctx, "authflow: invitation accepted", "org_id", orgID, "user_id", userID)
	} else {
		u, ms, err := f.svc.SignIn(ctx, accept)
		if errors.Is(err, invite.ErrNoMembership) {
			u, ms, err = f.noMembership(ctx, accept, err) // domain auto-join, or keep the email for the join page (join.go)
		}
		if err != nil {
			return inviteError(err)
		}
		userID = u.ID
		orgID = landingOrg(r, ms)
		f.log.InfoContext(ctx, "authflow: signed in", "user_id", userID)
	}

	// No session fixation: a new session token from here on.
	if err := f.sess.renew(ctx); err != nil {
		return err
	}
	if err := f.sess.remove(ctx, SessionKeyInvitationID, sessionkeys.InvitationEmail, sessionkeys.JoinAsSignedIn, sessionkeys.ForceLogin, sessionkeys.JoinEmail, sessionkeys.JoinOrg); err != nil {
		return err
	}
	if err := f.sess.put(ctx,
		sessionkeys.UserID, userID,
		sessionkeys.SessionGeneration, f.svc.LoginSessionGeneration(ctx, userID), // sign-out-everywhere: middleware refuses older sessions
		SessionKeyOrgID, orgID,
		sessionkeys.IDToken, id.rawIDToken,
		sessionkeys.SSOConnection, connID, // middleware: which organizations this session reaches
		sessionkeys.SSOOrg, connOrg,
	); err != nil {
		return err
	}
	target := ls.returnTo
	if target == "" || CheckReturnTo(target) != nil {
		target = f.dashboard(orgID)
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
	return nil
}

// trustsEmail reports whether issuer may assert emails for linking an
// unknown identity to the user with that email (Config.TrustedEmailIssuers;
// by default the configured provider, whose issuer go-oidc has checked).
func (f *Flow) trustsEmail(issuer string) bool {
	if f.cfg.TrustedEmailIssuers == nil {
		return true
	}
	return slices.Contains(f.cfg.TrustedEmailIssuers, issuer)
}

// exchange trades the code for tokens and verifies the ID token.
func (f *Flow) exchange(ctx context.Context, code string, ls loginState, conn *ssoConn) (identity, error) {
	rem, err := f.remoteFor(ctx, conn)
	if err != nil {
		return identity{}, err
	}
	ctx = oidc.ClientContext(ctx, f.cfg.HTTPClient)
	ctx = context.WithValue(ctx, oauth2.HTTPClient, f.cfg.HTTPClient)
	tok, err := rem.oauth.Exchange(ctx, code, oauth2.VerifierOption(ls.verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && (re.ErrorCode == "invalid_grant" || re.Response != nil && re.Response.StatusCode == http.StatusBadRequest) {
			return identity{}, pageError(httpx.ErrCodeRejected, "code",
				"The identity provider rejected the authorization code (it may have been used already, or expired). Start again.",
				errors.New("token endpoint: "+truncate(re.ErrorCode+" "+re.ErrorDescription, maxDetail)))
		}
		return identity{}, pageError(httpx.ErrTokenExchange, "",
			tokenExchangeMessage(err), err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return identity{}, pageError(httpx.ErrIDTokenMissing, "id_token",
			"The identity provider returned no ID token.", nil)
	}
	idt, err := rem.verifier.Verify(ctx, raw)
	if err != nil {
		return identity{}, idTokenError(err)
	}
	if ls.nonce == "" || subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(ls.nonce)) != 1 {
		return identity{}, pageError(httpx.ErrNonceMismatch, "nonce",
			"The ID token does not belong to the sign-in started in this browser (nonce mismatch). Start again.", nil)
	}
	var claims idTokenClaims
	if err := idt.Claims(&claims); err != nil {
		return identity{}, pageError(httpx.ErrIDTokenClaims, "id_token", "The ID token's claims could not be read.", err)
	}
	if err := f.checkIDToken(f.clientID(conn), idt, claims); err != nil {
		return identity{}, err
	}
	id := identity{issuer: idt.Issuer, subject: idt.Subject, email: claims.Email, emailVerified: bool(claims.EmailVerified), rawIDToken: raw}
	ui := &userInfo{ctx: ctx, p: rem.provider, tok: tok, subject: idt.Subject}
	if conn != nil {
		var all map[string]any
		_ = idt.Claims(&all)
		if id, err = mapClaims(conn, id, all, ui); err != nil {
			return identity{}, err
		}
	}
	if id.email == "" {
		if id.email, id.emailVerified, err = ui.email(); err != nil {
			return identity{}, err
		}
	}
	if id.email == "" {
		return identity{}, pageError(httpx.ErrEmailMissing, "email",
			"The identity provider did not share your email address. Allow the app to see your email and sign in again.", nil)
	}
	return id, nil
}

// idTokenClaims are the ID token's claims the callback reads beyond
// go-oidc's IDToken fields.
type idTokenClaims struct {
	Email         string       `json:"email"`
	EmailVerified flexBool     `json:"email_verified"`
	AZP           string       `json:"azp"`
	AuthTime      *numericDate `json:"auth_time"`
	NotBefore     *numericDate `json:"nbf"`
}

// checkIDToken enforces the ID-token rules of OpenID Connect Core 3.1.3.7
// and 3.1.3.8 that go-oidc's Verify leaves to the relying party (it checks
// issuer, audience, expiry and signature): azp, iat, nbf, and auth_time
// when max_age was sent. See Config.ClockSkew.
func (f *Flow) checkIDToken(clientID string, idt *oidc.IDToken, c idTokenClaims) error {
	now, skew := f.cfg.Now(), f.cfg.ClockSkew
	switch {
	case len(idt.Audience) > 1 && c.AZP == "":
		return pageError(httpx.ErrIDTokenAZPMissing, "azp",
			"The ID token was issued to several apps and does not say which one it is for (no azp).", nil)
	case c.AZP != "" && c.AZP != clientID:
		return pageError(httpx.ErrIDTokenAZPMismatch, "azp",
			"The ID token was issued to a different app (azp).", nil)
	case idt.IssuedAt.IsZero():
		return pageError(httpx.ErrIDTokenIATMissing, "iat",
			"The ID token does not say when it was issued (no iat).", nil)
	case idt.IssuedAt.After(now.Add(skew)):
		return pageError(httpx.ErrIDTokenIATFuture, "iat",
			"The ID token claims to be issued in the future; the identity provider's clock or ours is wrong. Try again later.",
			fmt.Errorf("iat %v, now %v", idt.IssuedAt.UTC(), now.UTC()))
	case idt.IssuedAt.Add(f.cfg.IDTokenMaxAge + skew).Before(now):
		return pageError(httpx.ErrIDTokenTooOld, "iat",
			"The ID token was issued too long ago. Start again.",
			fmt.Errorf("iat %v, now %v", idt.IssuedAt.UTC(), now.UTC()))
	case c.NotBefore != nil && now.Before(c.NotBefore.time().Add(-skew)):
		return pageError(httpx.ErrIDTokenNotYetValid, "nbf",
			"The ID token is not valid yet; the identity provider's clock or ours is wrong. Try again later.",
			fmt.Errorf("nbf %v, now %v", c.NotBefore.time().UTC(), now.UTC()))
	}
	if f.cfg.MaxAuthAge > 0 {
		switch {
		case c.AuthTime == nil:
			return pageError(httpx.ErrIDTokenAuthTimeMissing, "auth_time",
				"The identity provider did not say when you signed in there (no auth_time), which this app requires.", nil)
		case c.AuthTime.time().Add(f.cfg.MaxAuthAge + skew).Before(now):
			return pageError(httpx.ErrIDTokenAuthTimeTooOld, "auth_time",
				"Your sign-in at the identity provider is older than this app allows. Sign in again.",
				fmt.Errorf("auth_time %v, max_age %v, now %v", c.AuthTime.time().UTC(), f.cfg.MaxAuthAge, now.UTC()))
		}
	}
	return nil
}

// numericDate is a JWT NumericDate: seconds since the epoch, possibly
// fractional.
type numericDate float64

func (d numericDate) time() time.Time {
	sec, frac := math.Modf(float64(d))
	return time.Unix(int64(sec), int64(frac*1e9))
}

// userInfo reads the provider's UserInfo endpoint at most once per
// callback, for the claims the ID token lacks (the email, a connection's
// email or name claim). Every UserInfo read goes through it: an answer
// about another subject than the ID token's is refused (OpenID Connect
// Core 5.3.2), as a token substitution would be.
type userInfo struct {
	ctx     context.Context
	p       *oidc.Provider
	tok     *oauth2.Token
	subject string

	done     bool
	ui       *oidc.UserInfo
	claims   map[string]any
	err      error // the request failed
	mismatch error // the answer is about another subject
}

// get returns the answer, or why there is none: err when the request
// failed, mismatch (a page error) when it is about another subject.
func (u *userInfo) get() (ui *oidc.UserInfo, claims map[string]any, err, mismatch error) {
	if !u.done {
		u.done = true
		ui, err := u.p.UserInfo(u.ctx, oauth2.StaticTokenSource(u.tok))
		switch {
		case err != nil:
			u.err = err
		case ui.Subject != u.subject:
			u.mismatch = pageError(httpx.ErrUserInfoSubjectMismatch, "sub",
				"The identity provider's UserInfo answer is about a different account than the one that signed in.", nil)
		default:
			u.ui = ui
			_ = ui.Claims(&u.claims)
		}
	}
	return u.ui, u.claims, u.err, u.mismatch
}

// claim is the string claim name from UserInfo ("" when it has none or
// cannot be read), or the subject mismatch.
func (u *userInfo) claim(name string) (string, error) {
	_, claims, _, mismatch := u.get()
	if mismatch != nil {
		return "", mismatch
	}
	v, _ := claims[name].(string)
	return v, nil
}

// email asks UserInfo for the email (when the ID token has none).
func (u *userInfo) email() (string, bool, error) {
	ui, _, err, mismatch := u.get()
	switch {
	case mismatch != nil:
		return "", false, mismatch
	case err != nil:
		return "", false, pageError(httpx.ErrUserInfoFailed, "",
			"The identity provider did not share your email address (UserInfo request failed).", err)
	}
	return ui.Email, ui.EmailVerified, nil
}

// idTokenError classifies a go-oidc verification failure.
func idTokenError(err error) *Error {
	var exp *oidc.TokenExpiredError
	msg := err.Error()
	switch {
	case strings.Contains(msg, "fetching keys"):
		// The signing keys could not be fetched: the provider is down, the
		// token is not at fault.
		return pageError(httpx.ErrProviderUnavailable, "",
			"The sign-in service (identity provider) cannot be reached right now to check your sign-in. Please try again in a minute.",
			&unavailableError{cause: err, retryAfter: retryMin})
	case errors.As(err, &exp):
		return pageError(httpx.ErrIDTokenExpired, "id_token.exp", "The ID token has expired. Start again.", err)
	case strings.Contains(msg, "expected audience"):
		return pageError(httpx.ErrIDTokenAudience, "id_token.aud", "The ID token was issued for a different app.", err)
	case strings.Contains(msg, "issued by a different provider"):
		return pageError(httpx.ErrIDTokenIssuer, "id_token.iss", "The ID token was issued by a different identity provider.", err)
	case strings.Contains(msg, "signature"):
		return pageError(httpx.ErrIDTokenSignature, "id_token", "The ID token's signature is not valid.", err)
	}
	return pageError(httpx.ErrIDTokenInvalid, "id_token", "The ID token is not valid.", err)
}

// flexBool accepts true, "true" (some providers send a string) and false/absent.
type flexBool bool

func (b *flexBool) UnmarshalJSON(data []byte) error {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	switch t := v.(type) {
	case bool:
		*b = flexBool(t)
	case string:
		*b = flexBool(strings.EqualFold(t, "true"))
	default:
		*b = false
	}
	return nil
}

// providerDetail returns the provider's error_description for display
// (html/template escapes it), bounded and without control characters.
func providerDetail(r *http.Request) string {
	d := r.URL.Query().Get("error_description")
	d = strings.Map(func(c rune) rune {
		if c < 0x20 || c == 0x7f {
			return ' '
		}
		return c
	}, d)
	return truncate(d, maxDetail)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Cut on a rune boundary.
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}
