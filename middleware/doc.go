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
// next request. With Config.CacheTTL > 0 lookups are cached in process, in
// shards bounded by bytes (Config.CacheBytes) that evict one entry at a
// time; a miss is one store read (store.MemberGetter) shared by all the
// requests for the same member at that moment, and "not a member" is
// cached briefly (Config.NegativeCacheTTL).
//
// The staleness contract:
//   - With push invalidation running (the store, or Config.Notifier, is a
//     store.ChangeNotifier, and Start was called), a change committed by
//     any process reaches this cache within the push latency (pgstore:
//     LISTEN/NOTIFY, the notification committed with the change). Entries
//     then live CacheTTL (up to MaxCacheTTL, 10 minutes): a safety net.
//   - Whenever push is not running — no notifier, Start not called, the
//     subscription lost — entries live at most Config.FallbackTTL (default
//     and maximum 1 s), which bounds how late a change made by another
//     process is seen. On a lost subscription the fallback is immediate:
//     entries cached before are served at most FallbackTTL longer. When the
//     notifier has reconnected it resyncs: the cache is emptied and
//     CacheTTL applies again.
//   - Changes made through this process's invite.Service are seen at once
//     when invite.Config.OnMembershipChange is wired to Invalidate.
//   - A lookup racing an invalidation is never cached.
//
// # Sessions that can be revoked
//
// A session carries the session generation of its user when it was made
// (SessionKeyGeneration; authflow writes it at login, a missing one is 0).
// invite.Service.SignOutEverywhere increments the user's generation
// (store.SessionRevoker), and the middleware, which reads the generation
// with the membership in the same store read, refuses every older session
// with ErrSessionRevoked (an ErrNoSession: a redirect to login, or 401) on
// its next request — on every replica, through the same push.
//
// A Middleware is safe for concurrent use.
package middleware
