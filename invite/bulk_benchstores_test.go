package invite_test

import (
	"testing"

	"github.com/invitekit/invitekit/store"
)

// openPGBulk opens pgstore on a fresh schema (dropped at cleanup), or
// skips when INVITEKIT_POSTGRES_DSN is unset.
// extraBenchStores are further stores for the bulk benchmark.
func extraBenchStores() map[string]func(b *testing.B) store.Store {
	return map[string]func(b *testing.B) store.Store{
		"pgstore": func(b *testing.B) store.Store { return openPGBulk(b) },
	}
}
