package teampage

import (
	"errors"
	"fmt"
	"time"

	"github.com/invitekit/invitekit/internal/httpx"
	"github.com/invitekit/invitekit/internal/ratelimit"
	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/invite/inviteapi"
)

// newLimits builds the page's invitation limits on the Service's clock.
func newLimits(l inviteapi.RateLimits, svc *invite.Service) (*ratelimit.Invites, error) {
	in, err := ratelimit.NewInvites(l, svc.Now)
	if err != nil {
		return nil, fmt.Errorf("teampage: Config.RateLimits.%w", err)
	}
	return in, nil
}

// limitInvite takes one invitation event of the request's organization
// and actor: nil, or the 429 refusal.
func (h *Handler) limitInvite(rc *reqCtx) error {
	return limited(h.limits.Invite(rc.orgID, rc.actor))
}

// limitResend takes one resend of userID's invitation.
func (h *Handler) limitResend(rc *reqCtx, userID string) error {
	return limited(h.limits.Resend(rc.orgID, rc.actor, userID))
}

func limited(ok bool, after time.Duration) error {
	if ok {
		return nil
	}
	return httpx.RateLimited(after)
}

// rateLimitMessage is the page's sentence for a rate-limit refusal.
func rateLimitMessage(l tr, err error) string {
	after := time.Minute
	var re *httpx.RetryError
	if errors.As(err, &re) && re.After > 0 {
		after = re.After
	}
	return l.Tf("team.err_rate", waitText(l, after))
}

// waitText renders a wait, rounded up: "1 second", "20 seconds", "3 minutes", "2 hours".
func waitText(l tr, d time.Duration) string {
	unit, n := "team.wait_second", int64((d+time.Second-1)/time.Second)
	switch {
	case d >= time.Hour:
		unit, n = "team.wait_hour", int64((d+time.Hour-1)/time.Hour)
	case d >= time.Minute:
		unit, n = "team.wait_minute", int64((d+time.Minute-1)/time.Minute)
	}
	return l.Count(int(max(n, 1)), unit)
}
