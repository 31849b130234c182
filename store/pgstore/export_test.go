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

// ExpandSQL returns query with the store's schema filled in.
func (s *Store) ExpandSQL(query string) string { return s.sql(query) }
