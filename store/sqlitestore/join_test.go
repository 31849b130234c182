package sqlitestore_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/store/sqlitestore"
	"github.com/invitekit/invitekit/store/storetest"
)

// TestJoinAndDomainsConformance runs the join request and email domain
// suite on a real SQLite file per subtest.
func TestJoinAndDomainsConformance(t *testing.T) {
	storetest.RunJoinAndDomains(t, func(t *testing.T) store.Store {
		st, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "kit.db"), sqlitestore.Config{})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return st
	})
}
