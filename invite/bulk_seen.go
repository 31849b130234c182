package invite

import (
	"hash/maphash"
	"math/bits"
)

// bulkSeen remembers which row first used a value (an email, an external
// id) in 8 bytes a row, so that duplicate detection does not hold the
// file's emails in memory: each slot of an open-addressing table packs a
// fingerprint of the value's hash with the row number. The table is sized
// once from the row count the check pass found (load ≤ 0.75), and
// allocated on the first insert.
//
// A fingerprint can match another value's, so a match is only a
// candidate: the caller confirms it against the earlier row's value (see
// bulkRun.firstRow) and the search goes on when it is not the same.
// Lookups are exact.
type bulkSeen struct {
	seed     maphash.Seed
	rows     int
	slots    []uint64
	rowBits  uint
	used     int
	overflow map[uint64][]int // rows beyond the table (the input grew since it was checked)
}

func newBulkSeen(rows int) *bulkSeen {
	return &bulkSeen{seed: maphash.MakeSeed(), rows: max(rows, 1)}
}

func (t *bulkSeen) init() {
	t.rowBits = uint(bits.Len(uint(t.rows)))
	t.slots = make([]uint64, t.rows+t.rows/3+16)
}

// firstRow returns the first row whose value confirm accepts among those
// inserted with the same hash as v, or 0.
func (t *bulkSeen) firstRow(v string, confirm func(row int) bool) int {
	h := maphash.String(t.seed, v)
	if t.slots != nil {
		fp, mask := t.fp(h), uint64(1)<<t.rowBits-1
		for i := t.home(h); ; i = t.next(i) {
			s := t.slots[i]
			if s == 0 {
				break
			}
			if s>>t.rowBits == fp && confirm(int(s&mask)) {
				return int(s & mask)
			}
		}
	}
	for _, row := range t.overflow[h] {
		if confirm(row) {
			return row
		}
	}
	return 0
}

// insert records that row (≥ 1) uses v.
func (t *bulkSeen) insert(v string, row int) {
	if t.slots == nil {
		t.init()
	}
	h := maphash.String(t.seed, v)
	if row >= 1<<t.rowBits || t.used >= len(t.slots)*7/8 {
		if t.overflow == nil {
			t.overflow = map[uint64][]int{}
		}
		t.overflow[h] = append(t.overflow[h], row)
		return
	}
	i := t.home(h)
	for t.slots[i] != 0 {
		i = t.next(i)
	}
	t.slots[i] = t.fp(h)<<t.rowBits | uint64(row)
	t.used++
}

// home is the first slot of h (from the hash's high bits); fp the bits
// kept in the slot (its low bits, independent of the home).
func (t *bulkSeen) home(h uint64) int {
	hi, _ := bits.Mul64(h, uint64(len(t.slots)))
	return int(hi)
}

func (t *bulkSeen) fp(h uint64) uint64 { return h & (1<<(64-t.rowBits) - 1) }

func (t *bulkSeen) next(i int) int {
	if i++; i == len(t.slots) {
		return 0
	}
	return i
}
