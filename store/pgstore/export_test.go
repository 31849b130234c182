package pgstore

import (
	"context"
	"log/slog"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Queries and helpers the external tests inspect.
const (
	QUserByExternalID       = qUserByExternalID
	QExternalIDsTaken       = qExternalIDsTaken
	QMembershipByExternalID = qMembershipByExternalID
	QMemberExternalIDsTaken = qMemberExternalIDsTaken
	QListDeliveries         = qListDeliveries
)

// MigrateTo applies the embedded migrations up to version to schema, as
// a release that had only those would.
func MigrateTo(ctx context.Context, pool *pgxpool.Pool, schema string, version int) error {
	return migrateTo(ctx, pool, schema, slog.New(slog.DiscardHandler), version)
}

// Migrations returns the number of embedded migrations.
func Migrations(t testing.TB) int {
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	return len(ms)
}

// LatestMigration returns the highest embedded migration version (versions
// may have gaps: the migrator applies whatever is unrecorded).
func LatestMigration(t testing.TB) int {
	ms, err := migrations()
	if err != nil || len(ms) == 0 {
		t.Fatal("no migrations", err)
	}
	return ms[len(ms)-1].version
}

// ExpandSQL returns query with the store's schema filled in.
func (s *Store) ExpandSQL(query string) string { return s.sql(query) }
