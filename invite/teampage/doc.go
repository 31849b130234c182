// Package teampage is invitekit's embeddable team-management page: an
// http.Handler, mounted under the application's own routes, where an
// organization's admins list members (filter by status, search), add a
// person (invite by email or add directly), resend, revoke, deactivate,
// reactivate, change roles, copy an invite link, and import many people
// from a CSV or JSON-lines file with a dry-run preview, per-row results,
// downloads (CSV, JSON) and progress for large imports. When the store
// implements store.Directory, a Directory sync section (…/directory) lets
// them create, rotate and revoke the organization's SCIM tokens (a token
// is shown once, with Config.SCIMBaseURL) and set its directory settings
// (provisioning mode, what a DELETE does, group → role mapping).
//
// Pages are server-rendered html/template and work without JavaScript; a
// small script (served by the handler, no inline code) adds copy buttons,
// confirmations and live progress. The built-in stylesheet (scoped under
// the .ik-team class, no framework) can be turned off, and the app's own
// layout wraps every page through Config.Layout or Config.LayoutFunc.
//
// Every state change is a POST behind http.CrossOriginProtection and
// redirects (303) after success; bad input re-renders the form with the
// error next to the field and changes nothing.
//
// The handler does not authenticate: mount it behind the app's session and
// middleware.RequireRole("admin") (or equivalent), and give Config.Actor
// the signed-in user's id. Defaults: BasePath "/organizations/{orgID}/team",
// the organization from r.PathValue("orgID"), 50 members a page, upload
// limits of invite.DefaultBulkMaxBytes and invite.DefaultBulkMaxRows, an
// own inviteapi.BulkJobs registry (closed by Handler.Close) unless Config.Jobs
// is given, and the invitation limits of inviteapi.RateLimits (a refusal is
// the page again with 429 and Retry-After). A Handler is safe for
// concurrent use.
package teampage
