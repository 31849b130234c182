package memstore_test

import (
	"testing"

	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/store/memstore"
	"github.com/invitekit/invitekit/store/storetest"
)

func TestWebhookConformance(t *testing.T) {
	storetest.RunWebhooks(t, func(t *testing.T) store.Store { return memstore.New() })
}
