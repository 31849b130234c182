package pgstore_test

import (
	"testing"

	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/store/storetest"
)

// TestWebhookConformance runs the webhook suite against PostgreSQL, each
// subtest on a fresh schema (the deliveries are written by the migration's
// trigger, also for the batch's COPY).
func TestWebhookConformance(t *testing.T) {
	testDSN(t)
	storetest.RunWebhooks(t, func(t *testing.T) store.Store { return newStore(t) })
}

// TestWebhookEventMapMatchesGo: the migration's webhook_event_map is
// store.WebhookMappings, row for row.
func TestWebhookEventMapMatchesGo(t *testing.T) {
	testDSN(t)
	st := newStore(t)
	rows, err := st.Pool().Query(t.Context(), `SELECT store_type, webhook_type, data_key FROM `+st.Schema()+`.webhook_event_map ORDER BY ord`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []store.WebhookMapping
	for rows.Next() {
		var m store.WebhookMapping
		if err := rows.Scan(&m.StoreType, &m.WebhookType, &m.DataKey); err != nil {
			t.Fatal(err)
		}
		got = append(got, m)
	}
	if len(got) != len(store.WebhookMappings) {
		t.Fatalf("webhook_event_map has %d rows, store.WebhookMappings %d", len(got), len(store.WebhookMappings))
	}
	for i, m := range store.WebhookMappings {
		if got[i] != m {
			t.Errorf("row %d: %+v, want %+v", i+1, got[i], m)
		}
	}
}
