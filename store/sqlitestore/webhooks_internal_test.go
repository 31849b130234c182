package sqlitestore

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/invitekit/invitekit/store"
)

// TestWebhookEventMapMatchesGo: the migration's webhook_event_map (which
// the delivery trigger reads) is store.WebhookMappings, row for row.
func TestWebhookEventMapMatchesGo(t *testing.T) {
	st, err := Open(context.Background(), filepath.Join(t.TempDir(), "m.db"), Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rows, err := st.w.Query(`SELECT store_type, webhook_type, data_key FROM webhook_event_map ORDER BY ord`)
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
