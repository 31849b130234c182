// Package middleware guards an app's routes so that only ACTIVE members of
// the request's organization get through.
//
// Create one Middleware per app with New and wrap routes with
// RequireMember or RequireRole:
//
//	mw, err := middleware.New(st, sessions, middleware.Config{
//		Resolver: middleware.PathValue("orgID"),
//	})
//	mux.Handle("GET /orgs/{orgID}/dashboard", mw.RequireMember(dashboard))
//	mux.Handle("POST /orgs/{orgID}/settings", mw.RequireRole("admin")(settings))
//
// The signed-in user's id is read from the scs session under
// SessionKeyUserID (package authflow puts it there after a login). The
// route must therefore run inside sessions.LoadAndSave; without it every
// request fails with ErrNoSessionManager (500), it never panics.
//
// What a request gets:
//   - no signed-in user: an HTML request is redirected (303) to
//     Config.LoginURL (default "/login") with return_to set to the request's
//     relative URI; an API request (Accept: application/json) gets 401 with
//     {"error":{"code":"unauthenticated",…}};
//   - no organization in the request (the resolver found none): 400;
//   - not a member, a pending or expired invitation, an INACTIVE member, or
//     none of the required roles: 403 (JSON for API requests, a short text
//     page otherwise);
//   - an ACTIVE member: the next handler runs, and MemberFromContext and
//     UserFromContext return the member and the user.
//
// Config.ErrorHandler replaces that rendering; Check decides without
// rendering, for handlers that want to decide themselves.
//
// # Freshness and the cache
//
// By default every request reads the membership and the user from the
// store, so revoking or deactivating a member takes effect on their very
// next request. With Config.CacheTTL > 0 (at most one second, enforced by
// New) lookups are cached in process: a change made elsewhere is then seen
// at most CacheTTL late. Wire Invalidate to invite.Config.OnMembershipChange
// to make changes made through this process's invite.Service visible at
// once; the CacheTTL bound still holds for changes made by other replicas.
//
// A Middleware is safe for concurrent use.
package middleware
