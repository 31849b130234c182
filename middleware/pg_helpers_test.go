package middleware_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/store/pgstore"
)

// The PostgreSQL tests and benchmarks need INVITEKIT_POSTGRES_DSN (e.g.
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable) and skip
// without it. Each uses a fresh schema, dropped afterwards; they never
// restart the server.
const pgDSNEnv = "INVITEKIT_POSTGRES_DSN"

func pgDSN(tb testing.TB) string {
	tb.Helper()
	dsn := os.Getenv(pgDSNEnv)
	if dsn == "" {
		tb.Skip(pgDSNEnv + " is not set (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable): skipping PostgreSQL")
	}
	return dsn
}

// pgSchema is a fresh schema name; drop removes it.
func pgSchema(tb testing.TB) (dsn, schema string, drop func()) {
	tb.Helper()
	dsn = pgDSN(tb)
	schema = fmt.Sprintf("mw_test_%d", rand.Uint64()%1e12)
	return dsn, schema, func() {
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			tb.Logf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			tb.Logf("drop schema %s: %v", schema, err)
		}
	}
}

// openReplica opens a pgstore with its own pool on schema, as one replica
// of the app would.
func openReplica(tb testing.TB, dsn, schema string) *pgstore.Store {
	tb.Helper()
	st, err := pgstore.Open(context.Background(), dsn, pgstore.Config{Schema: schema})
	if err != nil {
		tb.Fatalf("pgstore.Open: %v", err)
	}
	return st
}

// openPostgres is one pgstore on a fresh schema and what closes it and
// drops the schema (not a Cleanup: benchmarks share it across sub-runs).
func openPostgres(tb testing.TB) (store.Store, func()) {
	dsn, schema, drop := pgSchema(tb)
	st := openReplica(tb, dsn, schema)
	return st, func() { st.Close(); drop() }
}
