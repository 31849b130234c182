// Package invite holds invitekit's business rules: inviting people into
// organizations (or adding them directly), resending, revoking,
// deactivating and updating memberships, accepting invitations and signing
// returning members in, plus the JSON API handler that exposes the member
// operations to an application's admins.
//
// Create a Service with New(store, Config). Config needs two things, a
// 32-byte SecretKey (it seals the accept link in the outbox) and the
// absolute AcceptURL of the accept page; everything else has a default:
// roles "admin" and "member" (new members get "member"), invitations valid
// for 15 days, time from time.Now, environment id "env_default", locale
// "en", verified emails required on accept, logs discarded.
//
// Every state change is one atomic store call that also appends an Event
// (the organization's change feed, see Service.Events) and, for invites
// and reminders, queues the mail in the store's outbox; a dispatcher in
// package mailer delivers it. Bad input is reported as a *FieldError
// naming the field and changes nothing; HTTPStatus and ErrorCode map every
// error for handlers.
//
// Invitation tokens carry 256 random bits; the store keeps only a SHA-256
// hash of the verifier, compared in constant time, and the Service never
// logs a token or link. Emails are normalized with NormalizeEmail; there is
// one user per normalized email.
//
// A Service and a Handler are safe for concurrent use. The caller must run
// the outbox dispatcher (mailer) for mail to go out, and must give the
// JSON API an Authorizer (DenyAll, AdminOnly or its own): NewHandler
// refuses to build without one.
package invite
