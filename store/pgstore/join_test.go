package pgstore_test

import (
	"testing"

	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/store/storetest"
)

// TestJoinAndDomainsConformance runs the join request and email domain
// suite against PostgreSQL, each subtest on a fresh schema (the races:
// one pending request per email, one decision per request, one
// organization per verified domain).
func TestJoinAndDomainsConformance(t *testing.T) {
	testDSN(t)
	storetest.RunJoinAndDomains(t, func(t *testing.T) store.Store { return newStore(t) })
}
