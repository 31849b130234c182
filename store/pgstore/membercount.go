package pgstore

import (
	"context"
	"fmt"

	"github.com/invitekit/invitekit/store"
)

var _ store.MemberCounter = (*Store)(nil)

// CountMembers implements store.MemberCounter (the primary key's index).
func (s *Store) CountMembers(ctx context.Context, orgID string) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, s.sql(`SELECT COUNT(*) FROM {s}.memberships WHERE org_id = $1`), orgID).Scan(&n); err != nil {
		return 0, fmt.Errorf("pgstore: count members: %w", err)
	}
	return n, nil
}
