package invite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/store/sqlitestore"
)

// storeCases lists the stores the service tests run against: the
// in-memory store and the embedded SQLite store (a fresh file per test).
func storeCases() []storeCase {
	return []storeCase{
		{"memstore", openMem},
		{"sqlitestore", openSQLite},
	}
}

func openSQLite(tb testing.TB) store.Store {
	tb.Helper()
	st, err := sqlitestore.Open(context.Background(), filepath.Join(tb.TempDir(), "invitekit.db"), sqlitestore.Config{})
	if err != nil {
		tb.Fatalf("sqlitestore.Open: %v", err)
	}
	tb.Cleanup(func() { _ = st.Close() })
	return st
}
