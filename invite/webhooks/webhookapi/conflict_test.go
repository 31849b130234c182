package webhookapi_test

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/invite/internal/invitetest"
	"github.com/invitekit/invitekit/store"
)

// busyStore is a real store with another writer that, while busy, writes
// the endpoint right after every read of it (through the store's own
// compare-and-swap), so every read-modify-write of the Service comes too
// late.
type busyStore struct {
	store.Store
	store.WebhookStore
	busy atomic.Bool
}

func (b *busyStore) GetWebhookEndpoint(ctx context.Context, id string) (store.WebhookEndpoint, error) {
	ep, err := b.WebhookStore.GetWebhookEndpoint(ctx, id)
	if err == nil && b.busy.Load() {
		if err := b.WebhookStore.UpdateWebhookEndpoint(ctx, ep, nil); err != nil {
			return ep, err
		}
	}
	return ep, err
}

// TestEndpointConflict409: when the endpoint changes under every try of an
// update or a rotation, the API answers 409 webhook_endpoint_conflict and
// neither the PATCH nor the new secret is stored; when it no longer does,
// the same PATCH succeeds.
func TestEndpointConflict409(t *testing.T) {
	real := invitetest.OpenSQLite(t)
	st := &busyStore{Store: real, WebhookStore: real.(store.WebhookStore)}
	e := newEnv(t, st, insecure, nil)
	r := e.do(t, app, "POST", "/api/webhooks/endpoints", `{"url": "http://127.0.0.1:1/hook", "eventTypes": ["membership.created"], "description": "CRM"}`)
	require.Equal(t, http.StatusCreated, r.status, r.body)
	id, _ := r.json["endpoint"].(map[string]any)["id"].(string)
	require.NotEmpty(t, id)
	before, err := st.WebhookStore.GetWebhookEndpoint(t.Context(), id)
	require.NoError(t, err)

	st.busy.Store(true)
	r = e.do(t, app, "PATCH", "/api/webhooks/endpoints/"+id, `{"description": "ERP"}`)
	require.Equal(t, http.StatusConflict, r.status, r.body)
	require.Equal(t, "webhook_endpoint_conflict", r.errorCode())
	r = e.do(t, app, "POST", "/api/webhooks/endpoints/"+id+"/rotate-secret", "")
	require.Equal(t, http.StatusConflict, r.status, r.body)
	require.Equal(t, "webhook_endpoint_conflict", r.errorCode())
	after, err := st.WebhookStore.GetWebhookEndpoint(t.Context(), id)
	require.NoError(t, err)
	require.Equal(t, "CRM", after.Description, "the PATCH was not stored")
	require.Equal(t, before.SealedSecret, after.SealedSecret, "no secret was stored that the caller never got")
	require.Greater(t, after.Revision, before.Revision, "the other writer did write")

	st.busy.Store(false)
	r = e.do(t, app, "PATCH", "/api/webhooks/endpoints/"+id, `{"description": "ERP"}`)
	require.Equal(t, http.StatusOK, r.status, r.body)
	require.Equal(t, "ERP", r.json["endpoint"].(map[string]any)["description"], fmt.Sprint(r.json))
}
