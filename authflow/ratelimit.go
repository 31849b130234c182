package authflow

import (
	"fmt"
	"net/http"

	"github.com/invitekit/invitekit/internal/httpx"
	"github.com/invitekit/invitekit/internal/ratelimit"
)

// RateLimit is one rate limit: Events per Per, in bursts of at most Burst.
// A zero field takes the default's value (the zero RateLimit is the
// default); Off: true turns the limit off. It is inviteapi.RateLimit.
type RateLimit = ratelimit.Limit

// RateLimits is Config.RateLimits. PerClient bounds the requests of one
// client to each of the accept form (POST; the GET page is not limited),
// the login route and the callback, each route counted on its own
// (default 20 a minute, bursts of 10). The client is ClientKey(r)
// (default: the connection's address, r.RemoteAddr without the port; an
// IPv6 client by its /64). Behind a reverse proxy every request comes from
// the proxy: set ClientKey to the client address the proxy sets and a
// client cannot forge. MaxKeys bounds the clients each route remembers
// (default 10,000; memory stays bounded, idle clients are forgotten). A
// refused request gets the message page with 429 (CodeRateLimited) and
// Retry-After, and does nothing else.
type RateLimits = ratelimit.SignInLimits

// CodeRateLimited (429, with Retry-After): too many sign-in requests from
// this client; the page says to wait.
const CodeRateLimited = "rate_limited"

// ErrRateLimited is the kind of a CodeRateLimited page (errors.Is).
var ErrRateLimited = httpx.ErrRateLimited

// newSignInLimits builds the limiters of cfg.RateLimits on cfg.Now.
func newSignInLimits(cfg Config) (*ratelimit.SignIn, error) {
	s, err := ratelimit.NewSignIn(cfg.RateLimits, cfg.Now)
	if err != nil {
		return nil, fmt.Errorf("authflow: Config.RateLimits.%w", err)
	}
	return s, nil
}

// allow takes one request of r's client to route; false means the 429
// page is written.
func (f *Flow) allow(route ratelimit.SignInRoute, w http.ResponseWriter, r *http.Request) bool {
	ok, after := f.limits.Allow(route, r)
	if ok {
		return true
	}
	f.renderError(w, r, pageError(httpx.ErrRateLimited, "",
		"There were too many sign-in attempts from your network in a short time. Wait a moment, then try again.",
		httpx.RateLimited(after)))
	return false
}
