package store

import "context"

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
