package sqlitestore

import (
	"context"
	"fmt"

	"github.com/invitekit/invitekit/store"
)

var _ store.MemberCounter = (*Store)(nil)

// CountMembers implements store.MemberCounter (the primary key's index).
func (s *Store) CountMembers(ctx context.Context, orgID string) (int, error) {
	var n int
	if err := s.readRow(ctx, func(sc scanner) error { return sc.Scan(&n) }, `SELECT COUNT(*) FROM memberships WHERE org_id = ?`, orgID); err != nil {
		return 0, fmt.Errorf("sqlitestore: count members: %w", err)
	}
	return n, nil
}
