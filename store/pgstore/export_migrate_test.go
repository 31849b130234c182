package pgstore

import (
	"context"
	"log/slog"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
)

// MigrateWithout applies the embedded migrations except version skip to
// schema, as a release built on a branch without that migration would.
func MigrateWithout(ctx context.Context, pool *pgxpool.Pool, schema string, skip int) error {
	return migrateWhere(ctx, pool, schema, slog.New(slog.DiscardHandler), func(v int) bool { return v != skip })
}

// MigrationVersions returns the versions of the embedded migrations, in
// order.
func MigrationVersions(t testing.TB) []int {
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	vs := make([]int, len(ms))
	for i, m := range ms {
		vs[i] = m.version
	}
	return vs
}
