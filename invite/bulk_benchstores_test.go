package invite_test

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

// openPGBulk opens pgstore on a fresh schema (dropped at cleanup), or
// skips when INVITEKIT_POSTGRES_DSN is unset.
func openPGBulk(tb testing.TB) store.Store {
	tb.Helper()
	dsn := os.Getenv("INVITEKIT_POSTGRES_DSN")
	if dsn == "" {
		tb.Skip("INVITEKIT_POSTGRES_DSN is not set (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable): skipping pgstore")
	}
	ctx := context.Background()
	schema := fmt.Sprintf("bulk_test_%d", rand.Uint64()%1e12)
	st, err := pgstore.Open(ctx, dsn, pgstore.Config{Schema: schema})
	if err != nil {
		tb.Fatalf("pgstore.Open: %v", err)
	}
	tb.Cleanup(func() {
		st.Close()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			tb.Logf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			tb.Logf("drop schema %s: %v", schema, err)
		}
	})
	return st
}

// extraBenchStores are further stores for the bulk benchmark.
func extraBenchStores() map[string]func(b *testing.B) store.Store {
	return map[string]func(b *testing.B) store.Store{
		"pgstore": func(b *testing.B) store.Store { return openPGBulk(b) },
	}
}
