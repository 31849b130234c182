package inviteapi

import (
	"net/http"

	"github.com/invitekit/invitekit/invite"
)

// Action is what a JSON API request wants to do; the Authorizer decides.
type Action string

// Actions of the JSON API.
const (
	ActionCreate     Action = "members.create"
	ActionList       Action = "members.list"
	ActionGet        Action = "members.get"
	ActionUpdate     Action = "members.update"
	ActionResend     Action = "members.resend"
	ActionRevoke     Action = "members.revoke"
	ActionDeactivate Action = "members.deactivate"
	ActionReactivate Action = "members.reactivate"
	ActionInviteLink Action = "members.invite_link"
)

// Authorizer decides whether request r may perform action in organization
// orgID. It returns the acting user's id (recorded in events; "" for a
// non-user caller such as an API key) or an error: ErrUnauthenticated
// renders 401, ErrPermissionDenied 403, and any other error 403 too (it is
// logged, not shown). It is called before the request body is read.
type Authorizer func(r *http.Request, orgID string, action Action) (actorID string, err error)

// DenyAll is the Authorizer that refuses everything (403). It is what an
// application has until it decides who may manage members; NewHandler
// requires an Authorizer, so there is no implicit allow.
func DenyAll(r *http.Request, orgID string, action Action) (string, error) {
	return "", ErrPermissionDenied
}

// AdminOnly returns an Authorizer that allows every action to ACTIVE
// members of orgID who have Config.AdminRole. currentUser returns the
// signed-in user's id from the request (for example from the session);
// ok=false means nobody is signed in (401).
func AdminOnly(svc *invite.Service, currentUser func(r *http.Request) (userID string, ok bool)) Authorizer {
	if svc == nil || currentUser == nil {
		return DenyAll
	}
	return func(r *http.Request, orgID string, action Action) (string, error) {
		userID, ok := currentUser(r)
		if !ok || userID == "" {
			return "", ErrUnauthenticated
		}
		admin, err := svc.IsAdmin(r.Context(), orgID, userID)
		if err != nil {
			return "", err
		}
		if !admin {
			return "", ErrPermissionDenied
		}
		return userID, nil
	}
}
