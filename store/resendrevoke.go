package store

import (
	"context"
	"errors"
	"maps"
	"strings"
	"time"
)

// ErrRevokeRefused is GuardedRevoker's refusal: the membership is not a
// PENDING_INVITE membership of the organization (unknown, another
// organization's, not pending, already revoked), and nothing was
// written. It does not say why: the caller reads the rows and explains it
// (invite.Service runs its checked revoke path, which reads the
// membership first).
var ErrRevokeRefused = errors.New("store: revoke refused")

// RevokeData names the keys under which RevokeInvitationGuarded adds to
// the event's Data what it deleted, so that its caller need not read it
// first. An empty key adds nothing.
type RevokeData struct {
	// RolesKey: the membership's Roles joined by "," ("" for none).
	RolesKey string
	// EmailKey: the user's Email.
	EmailKey string
}

// GuardedRevoker is an optional capability of a Store (found by type
// assertion): RevokeInvitation with the caller's check of the membership
// (it exists in the organization and is PENDING_INVITE) done by the store
// in its own write, in one round trip.
type GuardedRevoker interface {
	// RevokeInvitationGuarded does what RevokeInvitation(ctx, orgID,
	// userID, now, ev) does when userID has a PENDING_INVITE membership in
	// orgID, with ev.Data (copied, not changed) extended as keys says,
	// from the rows as they were deleted. Otherwise it writes nothing and
	// returns ErrRevokeRefused (wrapped); other errors are the store's
	// failures.
	RevokeInvitationGuarded(ctx context.Context, orgID, userID string, now time.Time, ev Event, keys RevokeData) error
}

// InvitationMember is a pending membership as a resend needs it: the
// membership with its user, its newest invitation and who invited.
type InvitationMember struct {
	Member
	// Invitation is the membership's newest invitation, as
	// GetMembershipInvitation returns it (revoked and spent ones count).
	Invitation Invitation
	// Inviter is, in the same organization, the membership and user of
	// Invitation.InvitedBy or, when that is empty, of the inviterID asked
	// for; nil when that id is empty or has no membership (or no user).
	Inviter *Member
}

// InvitationMemberGetter is an optional capability of a Store (found by
// type assertion): what GetMember, GetMembershipInvitation and the
// inviter's GetMember return, in one read.
type InvitationMemberGetter interface {
	// GetInvitationMember returns userID's membership in orgID with its
	// user, its newest invitation and the inviter (see InvitationMember),
	// or an error wrapping ErrNotFound when the membership, its user or
	// an invitation of it does not exist.
	GetInvitationMember(ctx context.Context, orgID, userID, inviterID string) (InvitationMember, error)
}

// ReissueMemberer is an optional capability of a Store (found by type
// assertion): ReissueInvitation that also returns the membership as the
// write left it, so that its caller need not read it again.
type ReissueMemberer interface {
	// ReissueInvitationMember does what ReissueInvitation(ctx, p) does,
	// with its errors, and returns the reissued invitation and its
	// membership as GetMembership would read it after the write.
	ReissueInvitationMember(ctx context.Context, p ReissueParams) (Invitation, Membership, error)
}

// Extend returns a copy of data with what k names added: roles joined by
// "," and, when email is not nil, *email. With both keys empty it returns
// data itself.
func (k RevokeData) Extend(data map[string]string, roles []string, email *string) map[string]string {
	if k.RolesKey == "" && k.EmailKey == "" {
		return data
	}
	out := make(map[string]string, len(data)+2)
	maps.Copy(out, data)
	if k.RolesKey != "" {
		out[k.RolesKey] = strings.Join(roles, ",")
	}
	if k.EmailKey != "" && email != nil {
		out[k.EmailKey] = *email
	}
	return out
}
