package pgstore_test

import (
	"testing"

	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/store/storetest"
)

// TestSSOConformance runs the SSO suite against PostgreSQL, each subtest
// on a fresh schema.
func TestSSOConformance(t *testing.T) {
	testDSN(t)
	storetest.RunSSO(t, func(t *testing.T) store.Store { return newStore(t) })
}
