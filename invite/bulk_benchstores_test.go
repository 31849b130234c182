package invite_test

import (
	"testing"

	"github.com/invitekit/invitekit/store"
)

// extraBenchStores are further stores for the bulk benchmark.
func extraBenchStores() map[string]func(b *testing.B) store.Store { return nil }
