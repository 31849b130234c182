// Package webhookapi is the JSON API of webhooks (package invite/webhooks):
// webhook endpoints — create (the signing secret is shown once), list,
// get, update, delete, rotate the secret, list deliveries with the dead
// letters, replay one or every dead letter — and the events API, the pull
// alternative to webhooks with the same payloads and webhook-ids.
//
// It has two scopes (the kit's trust model):
//
//   - App scope, under /webhooks/… and /events: the app itself (its own
//     admin console, a back-office token). Config.App decides who that
//     is; it may manage every endpoint, app-wide (all organizations) or
//     of one organization, and read the feed across organizations.
//   - Organization scope, under /organizations/{orgID}/…: an admin of one
//     organization (Config.Org; OrgAdmins is the kit's admin check, as on
//     the JSON API). The events feed is always served there; the endpoint
//     routes only when Config.OrgEndpoints is on. Such a caller manages
//     only endpoints of its own organization: another organization's
//     endpoints, deliveries and app-wide endpoints are 404, exactly as an
//     id that does not exist, and what it registers is always limited to
//     its organization, whose view the payloads carry.
//
// Both authorizers default to refusing everything (403). Errors render
// through the kit's one error table ({"error": {"code", "message",
// "field"}}, the field by its full path); a refused destination (private
// address, http) is 422 with the field url. State-changing routes are
// behind cross-origin protection (Config.CrossOrigin). A Handler is safe
// for concurrent use.
package webhookapi
