package webhookapi

import (
	"net/http"

	"github.com/invitekit/invitekit/internal/httpx"
	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/invite/inviteapi"
)

// Action is what a request wants to do; the authorizers decide.
type Action string

// Actions of the API.
const (
	ActionEndpointsList   Action = "webhooks.endpoints.list"
	ActionEndpointsGet    Action = "webhooks.endpoints.get"
	ActionEndpointsCreate Action = "webhooks.endpoints.create"
	ActionEndpointsUpdate Action = "webhooks.endpoints.update"
	ActionEndpointsDelete Action = "webhooks.endpoints.delete"
	ActionSecretRotate    Action = "webhooks.endpoints.rotate_secret"
	ActionDeliveriesList  Action = "webhooks.deliveries.list"
	ActionDeliveryReplay  Action = "webhooks.deliveries.replay"
	ActionEventsList      Action = "events.list"
)

// AppAuthorizer decides whether r may perform action at app scope (every
// organization). It returns the acting user's id (recorded on the
// endpoints it creates; "" for a non-user caller such as an API key) or an
// error: ErrUnauthenticated renders 401, ErrPermissionDenied 403, and any
// other error 403 too (logged, not shown). It runs before the body is
// read.
type AppAuthorizer func(r *http.Request, action Action) (actorID string, err error)

// OrgAuthorizer decides whether r may perform action in organization
// orgID only, with the same results as AppAuthorizer.
type OrgAuthorizer func(r *http.Request, orgID string, action Action) (actorID string, err error)

// Errors an authorizer returns (the kit's shared values).
var (
	ErrUnauthenticated  = httpx.ErrUnauthenticated
	ErrPermissionDenied = httpx.ErrPermissionDenied
)

// DenyApp refuses every app-scoped request (403): Config.App's default.
func DenyApp(*http.Request, Action) (string, error) { return "", ErrPermissionDenied }

// DenyOrg refuses every organization-scoped request (403): Config.Org's
// default.
func DenyOrg(*http.Request, string, Action) (string, error) { return "", ErrPermissionDenied }

// OrgAdmins is the OrgAuthorizer of the JSON API's inviteapi.AdminOnly:
// ACTIVE members of orgID with the admin role (invite.Service.IsAdmin).
// currentUser returns the signed-in user's id (ok=false: nobody, 401).
func OrgAdmins(svc *invite.Service, currentUser func(r *http.Request) (userID string, ok bool)) OrgAuthorizer {
	admin := inviteapi.AdminOnly(svc, currentUser)
	return func(r *http.Request, orgID string, action Action) (string, error) {
		return admin(r, orgID, inviteapi.Action(action))
	}
}
