package store

import (
	"crypto/rand"
	"encoding/base32"
	"strings"
	"testing"
)

// TestIDText: ids are the lowered upper-case Crockford encoding they
// always were.
func TestIDText(t *testing.T) {
	upper := base32.NewEncoding("0123456789ABCDEFGHJKMNPQRSTVWXYZ").WithPadding(base32.NoPadding)
	for range 1000 {
		var b [16]byte
		rand.Read(b[:])
		if got, want := formatID("usr", &b), "usr_"+strings.ToLower(upper.EncodeToString(b[:])); got != want {
			t.Fatalf("formatID = %q, want %q", got, want)
		}
	}
	if id := NewID("evt"); len(id) != len("evt_")+26 || !strings.HasPrefix(id, "evt_") {
		t.Fatalf("NewID = %q", id)
	}
}
