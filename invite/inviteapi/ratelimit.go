package inviteapi

import (
	"context"
	"fmt"
	"time"

	"github.com/invitekit/invitekit/internal/httpx"
	"github.com/invitekit/invitekit/internal/ratelimit"
	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/store"
)

// ErrRateLimited: a rate limit refused the request (429 rate_limited, with
// Retry-After saying when to try again).
var ErrRateLimited = httpx.ErrRateLimited

// RateLimit is one rate limit: Events per Per, in bursts of at most Burst.
// A zero field takes the default's value (the zero RateLimit is the
// default); Off: true turns the limit off.
type RateLimit = ratelimit.Limit

// RateLimits are the invitation limits of HandlerConfig,
// BulkHandlerConfig and teampage.Config. The zero value is the defaults:
//
//   - PerOrg: 60 invitations a minute per organization, bursts of 20;
//   - PerActor: 30 a minute per acting user (across organizations), bursts
//     of 10; requests without an actor (an Authorizer returning "", such as
//     an API key's) count per organization only;
//   - ResendsPerInvitation: 3 resends an hour of one invitation
//     (organization and user), bursts of 3;
//   - MaxKeys: each limiter remembers at most 10,000 keys (memory stays
//     bounded; idle keys are forgotten once their budget is full again).
//
// Counted as one invitation event (PerOrg and PerActor): a create, a
// resend (which also counts against ResendsPerInvitation), a bulk import
// upload (dry run or not, one event however many rows: a file is bounded
// by MaxRows and running imports by BulkJobsConfig.MaxRunning) and a
// confirmed dry run. A refused request takes nothing and gets 429
// rate_limited with Retry-After. Authorization comes first, so requests
// that are refused anyway use no budget. Each handler has its own
// limiters, in memory of this process.
type RateLimits = ratelimit.InviteLimits

// newInviteLimits builds the limiters of l on the Service's clock.
func newInviteLimits(field string, l RateLimits, svc *invite.Service) (*ratelimit.Invites, error) {
	in, err := ratelimit.NewInvites(l, svc.Now)
	if err != nil {
		return nil, fmt.Errorf("inviteapi: %s.RateLimits.%w", field, err)
	}
	return in, nil
}

// limited is nil when allowed, else the 429 refusal.
func limited(ok bool, after time.Duration) error {
	if ok {
		return nil
	}
	return httpx.RateLimited(after)
}

// resend is Service.ResendInvitation behind the resend limits.
func (h *Handler) resend(ctx context.Context, orgID, userID, actorID string) (store.Membership, error) {
	if err := limited(h.limits.Resend(orgID, actorID, userID)); err != nil {
		return store.Membership{}, err
	}
	return h.svc.ResendInvitation(ctx, orgID, userID, actorID)
}
