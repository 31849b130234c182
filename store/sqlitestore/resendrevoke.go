package sqlitestore

import (
	"context"
	"fmt"
	"time"

	"github.com/invitekit/invitekit/store"
)

var (
	_ store.GuardedRevoker         = (*Store)(nil)
	_ store.InvitationMemberGetter = (*Store)(nil)
	_ store.ReissueMemberer        = (*Store)(nil)
)

// qInvitationMember reads, in one statement, a membership with its user
// and its newest invitation (k = 0), then the inviter: the membership and
// user of the invitation's invited_by or, when that is empty, of the third
// parameter, in the same organization (k = 1). Both rows carry the
// invitation's columns. No row: no invitation, or (no k = 0 row) no
// membership or user.
var qInvitationMember = `WITH i AS (` + qNewestInvitation + `)
SELECT 0 AS k, ` + memberColumns + `, ` + qualify("i", invitationColumns) + `
FROM i JOIN memberships m ON m.org_id = i.org_id AND m.user_id = i.user_id JOIN users u ON u.id = m.user_id
UNION ALL
SELECT 1, ` + memberColumns + `, ` + qualify("i", invitationColumns) + `
FROM i JOIN memberships m ON m.org_id = i.org_id AND m.user_id = coalesce(nullif(i.invited_by, ''), ?)
	AND m.user_id <> ''
JOIN users u ON u.id = m.user_id
ORDER BY k`

// RevokeInvitationGuarded implements store.GuardedRevoker: one write
// transaction whose first statement deletes the PENDING_INVITE membership
// (and returns its roles and its user's email for the event), as
// RevokeInvitation's. A refusal writes nothing and is
// store.ErrRevokeRefused.
func (s *Store) RevokeInvitationGuarded(ctx context.Context, orgID, userID string, now time.Time, ev store.Event, keys store.RevokeData) error {
	return s.write(ctx, func(t *wtx) error {
		done, err := t.revoke(orgID, userID, now, ev, keys)
		if err == nil && !done {
			err = fmt.Errorf("sqlitestore: revoke: membership %q in %q: %w", userID, orgID, store.ErrRevokeRefused)
		}
		return err
	})
}

// GetInvitationMember implements store.InvitationMemberGetter: one
// statement on the reader pool (qInvitationMember).
func (s *Store) GetInvitationMember(ctx context.Context, orgID, userID, inviterID string) (store.InvitationMember, error) {
	rows, err := s.readRows(ctx, qInvitationMember, orgID, userID, inviterID)
	if err != nil {
		return store.InvitationMember{}, err
	}
	defer rows.Close()
	var (
		out   store.InvitationMember
		found bool
	)
	for rows.Next() {
		var (
			k   int
			mem store.Member
			inv store.Invitation
			mb  memberBuf
			ib  invitationBuf
		)
		if err := rows.Scan(append(append([]any{&k}, mb.dest(&mem)...), ib.dest(&inv)...)...); err != nil {
			return store.InvitationMember{}, fmt.Errorf("sqlitestore: invitation member: %w", err)
		}
		if err := mb.finish(&mem); err != nil {
			return store.InvitationMember{}, err
		}
		if k == 0 {
			ib.finish(&inv)
			out.Member, out.Invitation, found = mem, inv, true
		} else {
			out.Inviter = &mem // unused when !found (no membership)
		}
	}
	if err := rows.Err(); err != nil {
		return store.InvitationMember{}, fmt.Errorf("sqlitestore: invitation member: %w", err)
	}
	if !found {
		return store.InvitationMember{}, fmt.Errorf("sqlitestore: invitation member: user %q in organization %q: %w", userID, orgID, store.ErrNotFound)
	}
	return out, nil
}

// ReissueInvitationMember implements store.ReissueMemberer: the write
// transaction of ReissueInvitation returns the membership it saved.
func (s *Store) ReissueInvitationMember(ctx context.Context, p store.ReissueParams) (store.Invitation, store.Membership, error) {
	return s.reissue(ctx, p)
}
