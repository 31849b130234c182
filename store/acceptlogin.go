package store

import (
	"context"
	"errors"
)

// AcceptLoginer is an optional capability of a Store (found by type
// assertion): accepting an invitation and recording that sign-in in one
// transaction, so that one commit makes the member ACTIVE and records the
// login, and a crash between the two cannot leave one without the other.
// invite.Service.AcceptInvitation uses it when the store has it, and
// otherwise calls AcceptInvitation and then RecordLogin.
type AcceptLoginer interface {
	// AcceptInvitationLogin does what AcceptInvitation(ctx, p) does and, in
	// the same transaction, what RecordLogin(ctx, userID, p.Now, login)
	// does for the invitation's user: the user's LastLogin and that of each
	// of the user's ACTIVE memberships (the accepted one included) become
	// p.Now, and login is appended after p.Event (its OrganizationID and
	// UserID filled from the invitation when empty). It returns
	// AcceptInvitation's errors; on error nothing is written.
	AcceptInvitationLogin(ctx context.Context, p AcceptParams, login Event) (Membership, error)
}

// ErrAcceptRefused is GuardedAcceptLoginer's refusal: an AcceptGuard did
// not hold or the accept was refused, and nothing was written. It does
// not say why: the caller reads the rows and explains it (invite.Service
// runs its checked accept path, which reads the invitation first).
var ErrAcceptRefused = errors.New("store: accept refused")

// AcceptGuard is what AcceptInvitationGuarded checks itself, in the
// transaction that writes, so that its caller need not read the
// invitation and the user's identities first.
type AcceptGuard struct {
	// VerifierHash, when not nil, must equal the invitation's
	// VerifierHash. It is the SHA-256 hash of a 256-bit secret, found by
	// the invitation's id, so comparing it is not timing-sensitive.
	VerifierHash []byte
	// Email must equal the invitation's Email.
	Email string
	// OrganizationID, when not empty, must equal the invitation's.
	OrganizationID string
	// NewIdentityData is added to p.Event.Data when the call links
	// p.Identity (it was not linked to the user before).
	NewIdentityData map[string]string
}

// GuardedAcceptLoginer is an optional capability of a Store (found by type
// assertion): AcceptInvitationLogin with the caller's checks of the
// invitation done by the store, in one round trip.
type GuardedAcceptLoginer interface {
	// AcceptInvitationGuarded does what AcceptInvitationLogin(ctx, p,
	// login) does when g holds, p.Identity is not linked to another user
	// and the invitation's user has no other subject at p.Identity.Issuer.
	// p.Identity.UserID and the OrganizationID, UserID and ActorID of
	// p.Event and login, when empty, are the invitation's. Any refusal,
	// including AcceptInvitation's own, is ErrAcceptRefused (wrapped), and
	// nothing is written; other errors are the store's failures.
	AcceptInvitationGuarded(ctx context.Context, p AcceptParams, g AcceptGuard, login Event) (Membership, error)
}
