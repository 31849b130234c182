package middleware

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/invitekit/invitekit/store"
)

// pushState is the Middleware's side of its subscription.
type pushState struct {
	mu      sync.Mutex
	sub     uint64 // id of the current subscription; 0: none
	next    uint64
	started atomic.Bool // Start succeeded at least once
	warned  atomic.Bool
}

// ErrNoNotifier is returned by Start when the Middleware has a cache but no
// store.ChangeNotifier to subscribe to.
var ErrNoNotifier = errors.New("middleware: Start: no store.ChangeNotifier (the reader does not implement it and Config.Notifier is nil)")

// Start subscribes the membership cache and the organizations' SSO
// policies to the store's pushed changes (Config.Notifier, or the reader
// when it implements store.ChangeNotifier, as every built-in store does)
// until ctx ends. New never does I/O; call Start once at startup, after
// New, with a context that lives as long as the app:
//
//	guard, err := middleware.New(st, sessions, middleware.Config{CacheTTL: 5 * time.Minute})
//	if err := guard.Start(ctx); err != nil { … } // the first subscription failed
//
// Start returns once subscribed (or with the error of the first attempt;
// the caches then stay on FallbackTTL and Start may be called again). Each
// change drops the entries it names: a membership (organization and user),
// every membership of a user (a session revocation, a user change), an
// organization's SSO policy (its connection saved or deleted, its trust
// changed), or everything (a resync after a lost subscription). While
// subscribed, entries live CacheTTL (SSO policies 5 minutes when CacheTTL
// is zero); when the subscription is lost they fall back at once to
// FallbackTTL (entries cached before are served at most FallbackTTL
// longer) until the notifier has reconnected and resynced.
//
// Start subscribes when there is a membership cache (CacheTTL > 0) or the
// reader is a store.SSOConnectionStore; otherwise it does nothing and
// returns nil. Without a notifier it returns ErrNoNotifier when there is
// a cache (nil otherwise), and everything works on FallbackTTL. Calling
// Start while a subscription it started is running is an error.
func (m *Middleware) Start(ctx context.Context) error {
	c, g := m.cache, m.sso
	if g.st == nil {
		g = nil
	}
	if c == nil && g == nil {
		return nil
	}
	if m.notifier == nil {
		if c == nil {
			return nil
		}
		return ErrNoNotifier
	}
	p := &m.push
	p.mu.Lock()
	if p.sub != 0 {
		p.mu.Unlock()
		return errors.New("middleware: Start: already subscribed")
	}
	p.next++
	id := p.next
	p.sub = id
	p.mu.Unlock()

	// The callbacks and the end of ctx take p.mu, so that nothing from a
	// subscription that ended can change the caches' push state.
	changed := func(ch store.Change) {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.sub != id {
			return
		}
		switch {
		case ch.OrganizationID == "" && ch.UserID == "":
			m.resync(c, g, m.losses(c, g))
			m.log.Info("middleware: push invalidation resynced; cache entries live CacheTTL again")
		case ch.OrganizationID == "":
			if c != nil {
				c.invalidateUser(ch.UserID)
			}
		case ch.UserID == "":
			// An organization's SSO policy; no membership changed.
			if g != nil {
				g.invalidate(ch.OrganizationID)
			}
		default:
			if c != nil {
				c.invalidate(cacheKey{ch.OrganizationID, ch.UserID})
			}
		}
	}
	lost := func(err error) {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.sub != id {
			return
		}
		m.lose(c, g)
		m.log.Warn("middleware: push invalidation lost; cache entries live at most FallbackTTL until it resyncs", "err", err)
	}
	losses := m.losses(c, g)
	if err := m.notifier.Subscribe(ctx, changed, lost); err != nil {
		p.mu.Lock()
		if p.sub == id {
			p.sub = 0
		}
		p.mu.Unlock()
		return fmt.Errorf("middleware: subscribe to changes: %w", err)
	}
	p.mu.Lock()
	if p.sub == id {
		// Entries cached before the subscription may predate changes it
		// will never report: drop them, then trust push (unless it was
		// lost again meanwhile).
		m.resync(c, g, losses)
	}
	p.mu.Unlock()
	p.started.Store(true)
	go func() {
		<-ctx.Done()
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.sub == id {
			p.sub = 0
			m.lose(c, g)
		}
	}()
	return nil
}

// pushLosses counts the losses of push of the membership cache and of the
// SSO policies (either may be absent).
type pushLosses struct{ cache, sso uint64 }

func (m *Middleware) losses(c *memberCache, g *ssoGuard) pushLosses {
	var l pushLosses
	if c != nil {
		l.cache = c.losses.Load()
	}
	if g != nil {
		l.sso = g.lossCount()
	}
	return l
}

// resync drops everything and trusts push again, unless it was lost since
// l was read.
func (m *Middleware) resync(c *memberCache, g *ssoGuard, l pushLosses) {
	if c != nil {
		c.pushResync(l.cache)
	}
	if g != nil {
		g.pushResync(l.sso)
	}
}

// lose falls back to FallbackTTL at once.
func (m *Middleware) lose(c *memberCache, g *ssoGuard) {
	if c != nil {
		c.pushLost()
	}
	if g != nil {
		g.pushLost()
	}
}

// warnNotStarted logs once when a notifier is configured but Start was
// never called (the cache then works on FallbackTTL, safely but with more
// store reads than needed).
func (p *pushState) warnNotStarted(m *Middleware) {
	if m.notifier == nil || p.started.Load() || p.warned.Load() {
		return
	}
	if p.warned.CompareAndSwap(false, true) {
		m.log.Warn("middleware: the store pushes changes but Start was not called: cache entries live at most FallbackTTL")
	}
}
