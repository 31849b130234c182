package pgstore_test

import (
	"context"
	"strings"
	"testing"
)

// TestEventLockSQL: the event feed's advisory lock key that qAcceptLogin
// computes in SQL from the invitation's organization is eventLock's, so
// that the accept's events are ordered with every other writer's.
func TestEventLockSQL(t *testing.T) {
	st := newStore(t)
	for _, org := range []string{"org_a", "org_01jz7q9w3k5m8r2t4v6x8z0b1d", "", "ö", "日本語の組織", strings.Repeat("x", 300), "\u00ff\u0100"} {
		goKey, sqlKey, err := st.EventLocks(context.Background(), org)
		if err != nil {
			t.Fatal(err)
		}
		if goKey != sqlKey {
			t.Errorf("org %q: eventLock %d, SQL %d", org, goKey, sqlKey)
		}
	}
}
