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

// ssoPolicyPushTTL is how long an organization's SSO policy (its
// connection, whether it enforces it, whom it trusts) is kept in process
// while push invalidation is up and Config.CacheTTL is zero (otherwise:
// CacheTTL). A change is then pushed to every replica, which drops the
// policy at once; the TTL is only a safety net. While push is down the
// policy is kept Config.FallbackTTL, which bounds how late a change made
// by another process is seen.
const ssoPolicyPushTTL = 5 * time.Minute

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
// a store.SSOConnectionStore and kept ttl while push invalidation is up,
// fallback otherwise.
//
// A pushed change drops what it names and keeps a read in flight from
// being kept (epoch): a read that started before a change may have seen
// the old policy.
type ssoGuard struct {
	st            store.SSOConnectionStore // nil: the store has no SSO, nothing to check
	now           func() time.Time
	ttl, fallback time.Duration

	mu     sync.RWMutex // a hit takes the read lock only
	pol    map[string]ssoPolicy
	epoch  uint64 // bumped by every invalidation and loss
	up     bool   // push is up: policies read now live ttl
	losses uint64
}

func newSSOGuard(st MembershipReader, now func() time.Time, cacheTTL, fallback time.Duration) *ssoGuard {
	g := &ssoGuard{now: now, pol: map[string]ssoPolicy{}, ttl: cacheTTL, fallback: fallback}
	if g.ttl <= 0 {
		g.ttl = ssoPolicyPushTTL
	}
	g.fallback = min(g.fallback, g.ttl)
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
	epoch, up := g.epoch, g.up
	g.mu.RUnlock()
	if ok && now.Before(p.until) {
		return p, nil
	}
	p = ssoPolicy{until: now.Add(g.fallback)}
	if up {
		p.until = now.Add(g.ttl)
	}
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
	defer g.mu.Unlock()
	if g.epoch != epoch {
		return p, nil // a change came during the read: answer, do not keep
	}
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
	return p, nil
}

// invalidate drops orgID's policy (a pushed SSO change), and the policies
// that trust any connection: a removed connection leaves the trust lists
// of other organizations too.
func (g *ssoGuard) invalidate(orgID string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.epoch++
	delete(g.pol, orgID)
	for k, p := range g.pol {
		if len(p.trusted) > 0 {
			delete(g.pol, k)
		}
	}
}

// invalidateAll drops every policy.
func (g *ssoGuard) invalidateAll() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.epoch++
	clear(g.pol)
}

// pushLost falls back to FallbackTTL at once: policies kept while push
// was up are served at most FallbackTTL past now.
func (g *ssoGuard) pushLost() {
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	g.epoch++
	g.losses++
	g.up = false
	for k, p := range g.pol {
		if limit := now.Add(g.fallback); p.until.After(limit) {
			p.until = limit
			g.pol[k] = p
		}
	}
}

// lossCount is the number of losses so far (for pushResync).
func (g *ssoGuard) lossCount() uint64 {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.losses
}

// pushResync drops every policy (changes may have been missed) and, unless
// the subscription was lost again since losses was read, trusts push again.
func (g *ssoGuard) pushResync(losses uint64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.epoch++
	clear(g.pol)
	if g.losses == losses {
		g.up = true
	}
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
