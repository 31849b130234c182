package middleware

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/invitekit/invitekit/internal/sessionkeys"
	"github.com/invitekit/invitekit/store"
)

// Errors of enterprise SSO (the values are store's, so errors.Is works
// with either name).
var (
	// ErrSSORequired: the organization requires its own SSO connection
	// and the session did not sign in through it (403 sso_required; an
	// HTML request is sent to sign in through the connection).
	ErrSSORequired = store.ErrSSORequired
	// ErrSSOWrongOrganization: the session signed in through another
	// organization's connection, which this organization does not trust
	// (403 sso_wrong_organization; an HTML request is sent to sign in
	// again for this organization).
	ErrSSOWrongOrganization = store.ErrSSOWrongOrganization
)

// Session keys of enterprise SSO, written by authflow at sign-in.
const (
	// SessionKeySSOConnection holds the SSO connection a session signed in
	// through ("" for the app's default provider).
	SessionKeySSOConnection = sessionkeys.SSOConnection
	// SessionKeySSOOrg holds that connection's organization (for logout;
	// the middleware needs the connection id only).
	SessionKeySSOOrg = sessionkeys.SSOOrg
)

// ssoPolicyTTL is how long an organization's SSO policy (its connection,
// whether it enforces it, whom it trusts) is kept in process: a change
// (enforcement turned on, a connection removed) takes effect on every
// replica within it.
const ssoPolicyTTL = DefaultFallbackTTL

// ssoPolicyMax bounds the organizations whose policy is kept.
const ssoPolicyMax = 10_000

// ssoError is an SSO refusal for an organization; it unwraps to its
// sentinel and carries the organization for the redirect.
type ssoError struct {
	err   error
	orgID string
}

func (e *ssoError) Error() string { return e.err.Error() }
func (e *ssoError) Unwrap() error { return e.err }

// ssoPolicy is what the middleware knows of an organization's SSO.
type ssoPolicy struct {
	connID  string   // its own connection, "" if none
	enforce bool     // members reach it only through connID
	trusted []string // other organizations' connections it admits
	until   time.Time
}

// ssoGuard checks sessions against organizations' SSO policies, read from
// a store.SSOConnectionStore and kept ssoPolicyTTL.
type ssoGuard struct {
	st  store.SSOConnectionStore // nil: the store has no SSO, nothing to check
	now func() time.Time

	mu  sync.RWMutex // a hit takes the read lock only
	pol map[string]ssoPolicy
}

func newSSOGuard(st MembershipReader, now func() time.Time) *ssoGuard {
	g := &ssoGuard{now: now, pol: map[string]ssoPolicy{}}
	g.st, _ = st.(store.SSOConnectionStore)
	return g
}

// check admits the session (signed in through connID; "" for the default
// provider) to orgID, or says why not (a connection id belongs to one
// organization, so the id alone tells whose it is):
//   - a session from an organization's connection reaches that
//     organization, and others that trust the connection and do not
//     enforce their own; anything else is ErrSSOWrongOrganization;
//   - an organization that enforces its connection admits only sessions
//     signed in through it: ErrSSORequired.
func (g *ssoGuard) check(ctx context.Context, orgID, connID string) error {
	if g.st == nil {
		return nil
	}
	p, err := g.policy(ctx, orgID)
	if err != nil {
		return err
	}
	switch {
	case connID != "" && connID == p.connID:
		return nil
	case p.enforce:
		return &ssoError{ErrSSORequired, orgID}
	case connID == "":
		return nil
	case slices.Contains(p.trusted, connID):
		return nil
	}
	return &ssoError{ErrSSOWrongOrganization, orgID}
}

func (g *ssoGuard) policy(ctx context.Context, orgID string) (ssoPolicy, error) {
	now := g.now()
	g.mu.RLock()
	p, ok := g.pol[orgID]
	g.mu.RUnlock()
	if ok && now.Before(p.until) {
		return p, nil
	}
	p = ssoPolicy{until: now.Add(ssoPolicyTTL)}
	c, err := g.st.GetSSOConnection(ctx, orgID)
	switch {
	case err == nil:
		p.connID, p.enforce = c.ID, c.Enforce
	case !errors.Is(err, store.ErrNotFound):
		return ssoPolicy{}, fmt.Errorf("middleware: read sso connection: %w", err)
	}
	if p.trusted, err = g.st.ListSSOTrust(ctx, orgID); err != nil {
		return ssoPolicy{}, fmt.Errorf("middleware: read sso trust: %w", err)
	}
	g.mu.Lock()
	if len(g.pol) >= ssoPolicyMax {
		for k, old := range g.pol { // drop the expired, or else any one
			if !now.Before(old.until) || len(g.pol) >= ssoPolicyMax {
				delete(g.pol, k)
			}
			if len(g.pol) < ssoPolicyMax/2 {
				break
			}
		}
	}
	g.pol[orgID] = p
	g.mu.Unlock()
	return p, nil
}

// checkSSO applies the SSO policy of orgID to the request's session.
func (m *Middleware) checkSSO(ctx context.Context, orgID string) error {
	if m.sso == nil || m.sso.st == nil {
		return nil
	}
	return m.sso.check(ctx, orgID, m.sessions.GetString(ctx, SessionKeySSOConnection))
}

// ssoRedirect is where an HTML request refused by an SSO policy goes: the
// login route for the organization (LoginURL with org and return_to), so
// that the person signs in through the organization's connection.
func (m *Middleware) ssoRedirect(r *http.Request, err error) (string, bool) {
	var se *ssoError
	if !errors.As(err, &se) {
		return "", false
	}
	u := *m.login
	q := u.Query()
	q.Set("org", se.orgID)
	q.Set("return_to", returnTo(r))
	u.RawQuery = q.Encode()
	return u.String(), true
}
