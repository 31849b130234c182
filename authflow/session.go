package authflow

import (
	"context"
	"strconv"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/invitekit/invitekit/internal/sessionkeys"
)

// Session keys written by authflow. Values are strings (scs's gob codec
// needs no registration). Every key the kit uses is declared once, in
// internal/sessionkeys; these are aliases. middleware.SessionKeyUserID
// holds the signed-in user.
const (
	// SessionKeyInvitationID holds the pending invitation's id (never the token).
	SessionKeyInvitationID = sessionkeys.InvitationID
	// SessionKeyOrgID holds the organization just joined, or for a
	// returning member their first ACTIVE organization.
	SessionKeyOrgID = sessionkeys.OrgID
)

// sess wraps an scs.SessionManager so that a request outside LoadAndSave
// (where scs panics) becomes ErrNoSession instead.
type sess struct{ sm *scs.SessionManager }

func (s sess) guard(err *error) {
	if recover() != nil {
		*err = ErrNoSession
	}
}

func (s sess) getString(ctx context.Context, key string) (v string, err error) {
	defer s.guard(&err)
	return s.sm.GetString(ctx, key), nil
}

func (s sess) put(ctx context.Context, kv ...string) (err error) {
	defer s.guard(&err)
	for i := 0; i+1 < len(kv); i += 2 {
		s.sm.Put(ctx, kv[i], kv[i+1])
	}
	return nil
}

func (s sess) remove(ctx context.Context, keys ...string) (err error) {
	defer s.guard(&err)
	for _, k := range keys {
		s.sm.Remove(ctx, k)
	}
	return nil
}

// popLogin reads and removes the in-flight login (state, nonce, verifier,
// return_to, start time), so a callback URL can be used at most once.
type loginState struct {
	state, nonce, verifier, returnTo string
	started                          time.Time
	// connID and connOrg name the SSO connection the login went through
	// ("" for the app's provider).
	connID, connOrg string
}

func (s sess) popLogin(ctx context.Context) (ls loginState, err error) {
	defer s.guard(&err)
	ls.state = s.sm.PopString(ctx, sessionkeys.OIDCState)
	ls.nonce = s.sm.PopString(ctx, sessionkeys.OIDCNonce)
	ls.verifier = s.sm.PopString(ctx, sessionkeys.OIDCVerifier)
	ls.returnTo = s.sm.PopString(ctx, sessionkeys.ReturnTo)
	ls.connID = s.sm.PopString(ctx, sessionkeys.LoginConnection)
	ls.connOrg = s.sm.PopString(ctx, sessionkeys.LoginOrg)
	if sec, perr := strconv.ParseInt(s.sm.PopString(ctx, sessionkeys.LoginStarted), 10, 64); perr == nil {
		ls.started = time.Unix(sec, 0)
	}
	return ls, nil
}

// logoutState is what logout needs of the session: the ID token (the
// hint) and the SSO connection it signed in through ("" for the app's
// provider).
type logoutState struct{ idToken, connID, connOrg string }

func (s sess) logoutState(ctx context.Context) (ls logoutState, err error) {
	defer s.guard(&err)
	ls.idToken = s.sm.GetString(ctx, sessionkeys.IDToken)
	ls.connID = s.sm.GetString(ctx, sessionkeys.SSOConnection)
	ls.connOrg = s.sm.GetString(ctx, sessionkeys.SSOOrg)
	return ls, nil
}

func (s sess) renew(ctx context.Context) (err error) {
	defer s.guard(&err)
	return s.sm.RenewToken(ctx)
}

func (s sess) destroy(ctx context.Context) (err error) {
	defer s.guard(&err)
	return s.sm.Destroy(ctx)
}
