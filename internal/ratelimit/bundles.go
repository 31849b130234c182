package ratelimit

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"time"
)

// Defaults of InviteLimits and SignInLimits.
var (
	DefaultInvitesPerOrg        = Limit{Events: 60, Per: time.Minute, Burst: 20}
	DefaultInvitesPerActor      = Limit{Events: 30, Per: time.Minute, Burst: 10}
	DefaultResendsPerInvitation = Limit{Events: 3, Per: time.Hour, Burst: 3}
	DefaultSignInPerClient      = Limit{Events: 20, Per: time.Minute, Burst: 10}
)

// InviteLimits configures the invitation limits of the JSON API, the bulk
// API and the team page. Its zero value is the defaults.
type InviteLimits struct {
	// PerOrg bounds invitations per organization (default 60 a minute,
	// bursts of 20): each create, each bulk import or confirmed dry run
	// (one event however many rows: a file is bounded by the bulk row
	// limit and the running-imports limit), each resend.
	PerOrg Limit
	// PerActor bounds the same events per acting user, across
	// organizations (default 30 a minute, bursts of 10). Requests without
	// an actor (an API key's Authorizer returns "") count per organization
	// only.
	PerActor Limit
	// ResendsPerInvitation bounds resends of one invitation (organization
	// and user; default 3 an hour, bursts of 3).
	ResendsPerInvitation Limit
	// MaxKeys bounds the keys each limiter remembers (default
	// DefaultMaxKeys); see Keyed.
	MaxKeys int
}

// Invites is the limiters of InviteLimits. A nil *Invites allows
// everything. Safe for concurrent use.
type Invites struct {
	now                 func() time.Time
	org, actor, resends *Keyed
}

// NewInvites builds the limiters of l with the clock now (nil: time.Now).
func NewInvites(l InviteLimits, now func() time.Time) (*Invites, error) {
	if l.MaxKeys < 0 {
		return nil, errors.New("MaxKeys must not be negative")
	}
	if now == nil {
		now = time.Now
	}
	in := &Invites{now: now}
	for _, x := range []struct {
		name string
		l    Limit
		def  Limit
		dst  **Keyed
	}{
		{"PerOrg", l.PerOrg, DefaultInvitesPerOrg, &in.org},
		{"PerActor", l.PerActor, DefaultInvitesPerActor, &in.actor},
		{"ResendsPerInvitation", l.ResendsPerInvitation, DefaultResendsPerInvitation, &in.resends},
	} {
		lim, err := x.l.WithDefault(x.def)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", x.name, err)
		}
		*x.dst = NewKeyed(lim, l.MaxKeys, now)
	}
	return in, nil
}

// Invite takes one invitation event of orgID and actorID (both or
// neither; an empty actorID is not limited per actor).
func (in *Invites) Invite(orgID, actorID string) (ok bool, retryAfter time.Duration) {
	if in == nil {
		return true, 0
	}
	return takeAll(in.now(), keyOf{in.org, "org\x00" + orgID}, keyOf{in.actor, actorKey(actorID)})
}

// Resend takes one resend of the invitation of userID in orgID: a resend
// event of the invitation and an invitation event of the organization and
// the actor (all or none).
func (in *Invites) Resend(orgID, actorID, userID string) (ok bool, retryAfter time.Duration) {
	if in == nil {
		return true, 0
	}
	return takeAll(in.now(),
		keyOf{in.resends, orgID + "\x00" + userID},
		keyOf{in.org, "org\x00" + orgID},
		keyOf{in.actor, actorKey(actorID)})
}

// actorKey is the per-actor key ("" — not limited — for no actor).
func actorKey(actorID string) string {
	if actorID == "" {
		return ""
	}
	return "actor\x00" + actorID
}

// SignInRoute names a limited sign-in route.
type SignInRoute int

// The sign-in routes, each limited separately.
const (
	RouteAccept   SignInRoute = iota // POST of the accept page
	RouteLogin                       // the login route
	RouteCallback                    // the provider's callback
	numRoutes
)

// SignInLimits configures authflow's limits. Its zero value is the
// defaults.
type SignInLimits struct {
	// PerClient bounds requests per client to each of the accept form
	// (POST), the login route and the callback, each counted on its own
	// (default 20 a minute, bursts of 10).
	PerClient Limit
	// ClientKey names the client of a request (default RemoteAddr: the
	// address the connection comes from; an IPv6 client by its /64).
	// Behind a proxy every request comes from the proxy: return the
	// client address the proxy sets (and that a client cannot forge).
	// Requests for which it returns "" share one budget.
	ClientKey func(r *http.Request) string
	// MaxKeys bounds the clients each route's limiter remembers (default
	// DefaultMaxKeys).
	MaxKeys int
}

// SignIn is the limiters of SignInLimits. A nil *SignIn allows
// everything. Safe for concurrent use.
type SignIn struct {
	key    func(*http.Request) string
	routes [numRoutes]*Keyed
}

// NewSignIn builds the limiters of l with the clock now (nil: time.Now).
func NewSignIn(l SignInLimits, now func() time.Time) (*SignIn, error) {
	if l.MaxKeys < 0 {
		return nil, errors.New("MaxKeys must not be negative")
	}
	lim, err := l.PerClient.WithDefault(DefaultSignInPerClient)
	if err != nil {
		return nil, fmt.Errorf("PerClient: %w", err)
	}
	s := &SignIn{key: l.ClientKey}
	if s.key == nil {
		s.key = RemoteAddr
	}
	for i := range s.routes {
		s.routes[i] = NewKeyed(lim, l.MaxKeys, now)
	}
	return s, nil
}

// Allow takes one request of r's client to route.
func (s *SignIn) Allow(route SignInRoute, r *http.Request) (ok bool, retryAfter time.Duration) {
	if s == nil || route < 0 || route >= numRoutes || s.routes[route] == nil {
		return true, 0
	}
	return s.routes[route].Allow("client\x00" + s.key(r))
}

// RemoteAddr is the default client key: the host of r.RemoteAddr, an
// IPv6 address reduced to its /64 (one subscriber's network, which a
// client can otherwise walk to get fresh keys).
func RemoteAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	ip = ip.WithZone("").Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}
