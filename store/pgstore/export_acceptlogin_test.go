package pgstore

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// EventLocks returns eventLock(orgID) as Go computes it and as
// eventLockSQL computes it in the server.
func (s *Store) EventLocks(ctx context.Context, orgID string) (goKey, sqlKey int64, err error) {
	err = s.pool.QueryRow(ctx, eventLockSQL(`SELECT @org::text`), pgx.NamedArgs{"org": orgID, "lockseed": s.eventLockSeed()}).Scan(&sqlKey)
	return s.eventLock(orgID), sqlKey, err
}
