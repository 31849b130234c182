package authflow

import (
	"errors"
	"net"

	"github.com/invitekit/invitekit/internal/httpx"
	"github.com/invitekit/invitekit/invite"
)

// refusalVariant picks the refusal page's words when one code covers two
// cases: a token exchange that never reached the provider is
// "provider_unreachable"; one the provider answered with something
// unusable keeps its code's words ("the provider answered wrongly").
func refusalVariant(e *Error) string {
	if errors.Is(e, httpx.ErrTokenExchange) {
		var ne net.Error
		var oe *net.OpError
		if errors.As(e.Err, &ne) || errors.As(e.Err, &oe) {
			return "provider_unreachable"
		}
	}
	var na *invite.NoActiveMembershipError
	if errors.As(e.Err, &na) {
		switch {
		case na.Pending > 0:
			return "signin_pending"
		case na.Inactive > 0:
			return "signin_inactive"
		}
	}
	return ""
}

// tokenExchangeMessage is the English message of a failed token
// exchange: unreachable only when the request did not get an answer.
func tokenExchangeMessage(err error) string {
	var ne net.Error
	var oe *net.OpError
	if errors.As(err, &ne) || errors.As(err, &oe) {
		return "The identity provider could not be reached to finish the sign-in. Try again."
	}
	return "The identity provider answered the sign-in with something that cannot be used. Start again; if it happens again, tell the app's administrators."
}
