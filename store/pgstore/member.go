package pgstore

import (
	"context"

	"github.com/invitekit/invitekit/store"
)

// qGetMember reads a membership and its user in one statement: the
// memberships primary key, then the users primary key.
var qGetMember = `SELECT ` + memberJoinCols + ` FROM {s}.memberships m JOIN {s}.users u ON u.id = m.user_id
	WHERE m.org_id = $1 AND m.user_id = $2`

// GetMember implements store.MemberGetter: userID's membership in orgID
// and the user (with its SessionGeneration) in one read, or ErrNotFound.
func (s *Store) GetMember(ctx context.Context, orgID, userID string) (store.Member, error) {
	var (
		md membershipDest
		ud userDest
	)
	err := s.pool.QueryRow(ctx, s.sql(qGetMember), orgID, userID).Scan(append(md.targets(), ud.targets()...)...)
	if err != nil {
		return store.Member{}, notFound(err, "member")
	}
	return md.member(&ud)
}

// member decodes a membership and its user scanned side by side.
func (d *membershipDest) member(ud *userDest) (store.Member, error) {
	m, err := d.membership()
	if err != nil {
		return store.Member{}, err
	}
	u, err := ud.user()
	if err != nil {
		return store.Member{}, err
	}
	return store.Member{User: u, Membership: m}, nil
}
