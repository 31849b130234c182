package store

import (
	"context"
	"time"
)

// MemberGetter is an optional capability: a store that implements it (all
// built-in stores do) reads a membership and its user in one read. The
// middleware uses it on a cache miss instead of GetMembership + GetUser.
type MemberGetter interface {
	// GetMember returns userID's membership in orgID with the user, or an
	// error wrapping ErrNotFound when either does not exist.
	GetMember(ctx context.Context, orgID, userID string) (Member, error)
}

// Change is a committed change that caches of memberships (and of
// organizations' SSO policies) must apply.
type Change struct {
	// OrganizationID and UserID name the membership that changed. An
	// empty OrganizationID means every membership of UserID (a session
	// revocation, a user change). An empty UserID means the
	// organization's SSO policy changed (PutSSOConnection,
	// DeleteSSOConnection, SetSSOTrust), and with it the policies of the
	// organizations that trusted a removed connection; no membership
	// changed. Both empty means everything: the subscriber must drop all
	// it cached (after a lost subscription).
	OrganizationID string
	UserID         string
}

// ChangeNotifier is an optional capability: a store (or an adapter beside
// it, such as one on Redis) that publishes every committed membership
// change, session revocation and SSO connection change to every process
// using the store, so that each process's caches drop the entry at once.
//
// The contract for implementers:
//   - A change is published only if, and once, it commits: the
//     notification is part of the change's transaction (PostgreSQL
//     pg_notify in the same transaction), so a rolled-back change
//     publishes nothing and a committed one is never lost while the
//     subscription stands.
//   - Subscribe calls changed for every change committed after it returned
//     nil, from one goroutine at a time, until ctx ends. changed must be
//     fast.
//   - When the subscription is lost, Subscribe calls lost(err) at once
//     (subscribers fall back to a short TTL), reconnects with backoff, and
//     once reconnected calls changed(Change{}) — resync: drop everything —
//     before any further change.
//   - Subscribe returns an error only if the first subscription fails;
//     later failures go to lost.
type ChangeNotifier interface {
	Subscribe(ctx context.Context, changed func(Change), lost func(error)) error
}

// SessionRevoker is an optional capability: "sign out everywhere". It
// increments the user's SessionGeneration (and publishes a Change for the
// user through ChangeNotifier, if the store has it) and appends ev. A
// session that carries an older generation is refused by the middleware on
// its next request.
type SessionRevoker interface {
	RevokeSessions(ctx context.Context, userID string, at time.Time, ev Event) (generation int64, err error)
}
