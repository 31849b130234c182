package sqlitestore_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/store/sqlitestore"
	"github.com/invitekit/invitekit/store/storetest"
)

// TestWebhookConformance runs the webhook suite on a real SQLite file per
// subtest (the deliveries are written by the migration's trigger).
func TestWebhookConformance(t *testing.T) {
	storetest.RunWebhooks(t, func(t *testing.T) store.Store {
		st, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "kit.db"), sqlitestore.Config{})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return st
	})
}
