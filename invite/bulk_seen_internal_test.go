package invite

import (
	"fmt"
	"testing"
)

// TestBulkSeenConfirms: a fingerprint match is only a candidate; with
// fingerprints of 4 bits nearly every lookup meets other values' slots,
// and only the caller's confirmation tells them apart.
func TestBulkSeenConfirms(t *testing.T) {
	const n = 2000
	vals := make([]string, n)
	for i := range vals {
		vals[i] = fmt.Sprintf("user%d@example.com", i)
	}
	seen := newBulkSeen(n, t.TempDir())
	defer seen.close()
	seen.init()
	seen.rowBits = 60 // 4 fingerprint bits: collisions everywhere
	confirm := func(v string) func(int) bool { return func(row int) bool { return vals[row-1] == v } }
	for i, v := range vals {
		if row := seen.firstRow(v, confirm(v)); row != 0 {
			t.Fatalf("%s reported seen at row %d before its insert", v, row)
		}
		seen.insert(v, i+1)
	}
	for i, v := range vals {
		if row := seen.firstRow(v, confirm(v)); row != i+1 {
			t.Fatalf("%s: first row %d, want %d", v, row, i+1)
		}
	}
	if row := seen.firstRow("nobody@example.com", confirm("nobody@example.com")); row != 0 {
		t.Fatalf("a value never inserted found at row %d", row)
	}
}

// TestBulkSeenOverflow: rows past the table (the input grew after it was
// checked) still count.
func TestBulkSeenOverflow(t *testing.T) {
	seen := newBulkSeen(4, t.TempDir())
	defer seen.close()
	vals := map[int]string{}
	for row := 1; row <= 100; row++ {
		vals[row] = fmt.Sprint("v", row)
		seen.insert(vals[row], row)
	}
	for row := 1; row <= 100; row++ {
		v := vals[row]
		if got := seen.firstRow(v, func(r int) bool { return vals[r] == v }); got != row {
			t.Fatalf("row %d: got %d", row, got)
		}
	}
}

// TestBulkSeenSpills: past bulkSeenMemRows the table spills sorted runs
// to a file; values in every run (and in the table) are still found at
// their first row, and nothing else is, with fingerprints of 4 bits
// (every block holds candidates) and a one-block filter (every lookup
// reads the runs).
func TestBulkSeenSpills(t *testing.T) {
	defer SetBulkSeenLimits(100, 64)()
	const n = 5000
	vals := make([]string, n)
	for i := range vals {
		vals[i] = fmt.Sprintf("user%d@example.com", i)
	}
	confirm := func(v string) func(int) bool { return func(row int) bool { return vals[row-1] == v } }
	for _, fpBits := range []uint{4, 0} {
		seen := newBulkSeen(n, t.TempDir())
		defer seen.close()
		seen.init()
		if fpBits != 0 {
			seen.rowBits = 64 - fpBits
		}
		for i, v := range vals {
			if row := seen.firstRow(v, confirm(v)); row != 0 {
				t.Fatalf("%s reported seen at row %d before its insert", v, row)
			}
			seen.insert(v, i+1)
			if i%97 == 0 { // found right away, in the table or a run
				if row := seen.firstRow(v, confirm(v)); row != i+1 {
					t.Fatalf("%s: first row %d, want %d", v, row, i+1)
				}
			}
		}
		if len(seen.runs) < n/100-1 || seen.f == nil || seen.err != nil {
			t.Fatalf("runs %d, file %v, err %v", len(seen.runs), seen.f, seen.err)
		}
		for i, v := range vals {
			if row := seen.firstRow(v, confirm(v)); row != i+1 {
				t.Fatalf("fp bits %d: %s: first row %d, want %d", fpBits, v, row, i+1)
			}
		}
		if row := seen.firstRow("nobody@example.com", confirm("nobody@example.com")); row != 0 {
			t.Fatalf("a value never inserted found at row %d", row)
		}
	}
}

// TestBulkSeenBounded: the in-memory part stays the same size however
// many values go in (the table spills a run at each 1,000 values, nothing
// goes to the overflow map), and a new value is confirmed against no
// other row's.
func TestBulkSeenBounded(t *testing.T) {
	defer SetBulkSeenLimits(1000, 64<<10)()
	const n = 50_000
	seen := newBulkSeen(n, t.TempDir())
	defer seen.close()
	reads := 0
	for i := 1; i <= n; i++ {
		v := fmt.Sprint("v", i)
		if row := seen.firstRow(v, func(int) bool { reads++; return false }); row != 0 {
			t.Fatalf("%s found at row %d", v, row)
		}
		seen.insert(v, i)
		if i == 1 {
			if len(seen.slots) > 1000*4/3+16 {
				t.Fatalf("table of %d slots for a limit of 1,000", len(seen.slots))
			}
		}
	}
	if len(seen.slots) > 1000*4/3+16 || seen.overflow != nil || len(seen.bloom) != 64<<10/8 {
		t.Fatalf("slots %d, overflow %d, filter %d words", len(seen.slots), len(seen.overflow), len(seen.bloom))
	}
	if len(seen.runs) != n/1000-1 || seen.size != int64(8*(n-1000)) {
		t.Fatalf("%d runs of %d bytes", len(seen.runs), seen.size)
	}
	if reads > n/100 { // candidates confirmed: fingerprint matches only
		t.Fatalf("%d confirmations for %d new values", reads, n)
	}
}
