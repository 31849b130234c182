package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"testing"
)

// A write whose context ended reports the context's error even when the
// failing statement only saw the rolled-back transaction (sql.ErrTxDone).
func TestCanceledKeepsContextError(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	if err := canceled(ctx, sql.ErrTxDone); err != sql.ErrTxDone {
		t.Fatalf("live context: got %v, want the error unchanged", err)
	}
	cancel()
	err := canceled(ctx, sql.ErrTxDone)
	if !errors.Is(err, context.Canceled) || !errors.Is(err, sql.ErrTxDone) {
		t.Fatalf("ended context: got %v, want both context.Canceled and sql.ErrTxDone", err)
	}
	if err := canceled(ctx, context.Canceled); err != context.Canceled {
		t.Fatalf("already the context error: got %v, want it unchanged", err)
	}
}
