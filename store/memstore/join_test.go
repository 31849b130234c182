package memstore_test

import (
	"testing"

	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/store/memstore"
	"github.com/invitekit/invitekit/store/storetest"
)

func TestJoinAndDomainsConformance(t *testing.T) {
	storetest.RunJoinAndDomains(t, func(t *testing.T) store.Store { return memstore.New() })
}
