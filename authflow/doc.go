// Package authflow is the browser side of invitekit: the accept-link page,
// the initiate-login, callback and logout handlers that take an invited
// person through an OpenID Connect provider's hosted login and into an
// ACTIVE membership, and let returning members sign in.
//
// Mount it in three steps:
//
//	flow, err := authflow.New(svc, sessions, authflow.Config{
//		Issuer:       "https://idp.example.com",
//		ClientID:     "app",
//		ClientSecret: secret,
//		RedirectURL:  "https://app.example.com/auth/callback",
//	})
//	flow.Routes(mux) // /accept, /login, /auth/callback, /logout
//	http.ListenAndServe(addr, sessions.LoadAndSave(mux))
//
// The routes must run inside sessions.LoadAndSave (an scs.SessionManager);
// without it every handler answers 500 with a clear page, it never panics.
// invite.Config.AcceptURL must point at the accept route.
//
// # The flow
//
//  1. GET /accept?token=… shows the organization, the inviter, the invited
//     email and a "Join" button. It spends nothing, so mail scanners that
//     follow links cannot burn the invitation. Expired, revoked and used
//     links get a page that says so (410, 410, 409); an expired one offers
//     to ask the admins for a new invitation.
//  2. POST /accept (behind http.CrossOriginProtection) checks the token,
//     keeps only the invitation's id in the session
//     (SessionKeyInvitationID, never the token) and redirects to login.
//  3. GET /login builds the authorization URL with state, nonce, PKCE S256,
//     login_hint (the invited email) and max_age (Config.MaxAuthAge, when
//     set), remembers them and return_to (a relative path only) in the
//     session, and redirects to the provider.
//  4. GET /auth/callback checks state (and the RFC 9207 iss parameter when
//     present), shows a provider error clearly, exchanges the code with the
//     PKCE verifier, verifies the ID token (issuer, audience, expiry,
//     signature with go-oidc; then nonce, azp, iat, nbf and, with max_age,
//     auth_time: see Config.ClockSkew), takes the email from the ID token
//     or else from UserInfo (whose sub must be the ID token's), and then
//     either accepts the pending invitation
//     (invite.Service.AcceptInvitationByID, which applies the email-match
//     policy and flips the membership to ACTIVE atomically) or signs a
//     returning member in (invite.Service.SignIn; someone with no ACTIVE
//     membership gets an "invitation required" page, 403; an unknown
//     identity is linked by email only from Config.TrustedEmailIssuers and
//     never as a second subject at an issuer). It renews the session
//     token, stores the user id under middleware.SessionKeyUserID and
//     redirects to return_to or Config.DashboardURL.
//  5. POST /logout destroys the session and, when the provider has an
//     end_session_endpoint, continues with RP-initiated logout.
//
// # When the provider is down
//
// New does no I/O: the provider is discovered from Config.Issuer on first
// use, so the app starts even while its identity provider is unreachable.
// Until discovery succeeds, login, joining and the callback answer 503
// (CodeProviderUnavailable, with Retry-After); the accept page and logout
// keep working. Attempts are spaced out (1 s after a failure, doubling up
// to 30 s) and shared by the requests that arrive together, and sign-in
// recovers by itself when the provider is back. Flow.Discover(ctx) makes
// the attempt on demand, to fail fast at startup or for a readiness check.
//
// # Rate limits
//
// The accept form (POST), the login route and the callback each allow a
// client 20 requests a minute, in bursts of 10 (Config.RateLimits; the
// client is the connection's address unless RateLimits.ClientKey says
// otherwise, as it must behind a proxy). Beyond that they answer 429
// (CodeRateLimited, with Retry-After) and do nothing else.
//
// Every refusal is a small HTML page with an HTTP status and a stable,
// machine-readable code (see Error); nothing is changed by a refused
// request. Tokens, codes and secrets are never logged. A Flow is safe for
// concurrent use.
package authflow
