package invite

import (
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"math/bits"
	"os"
	"slices"
	"sort"
)

// bulkSeen remembers which row first used a value (an email, an external
// id) in 8 bytes a row, so that duplicate detection does not hold the
// file's emails in memory: each slot of an open-addressing table packs a
// fingerprint of the value's hash with the row number.
//
// Its memory is bounded whatever the file's size: the table holds at most
// bulkSeenMemRows values (load ≤ 0.75). When it is full its slots are
// sorted and appended as a run to a temporary file (BulkOptions.TempDir),
// a blocked Bloom filter of fixed size (bulkSeenBloomBytes, allocated at
// the first spill) learns their fingerprints, and the table starts empty.
// A lookup reads the runs (one 4 KiB block each, found by a sparse index
// of 8 bytes per 512 values) only when the filter says the value may be in
// one: for a real duplicate, and for about 1 % of the other rows at
// 10,000,000 rows.
//
// A fingerprint can match another value's, so a match is only a
// candidate: the caller confirms it against the earlier row's value (see
// bulkRun.firstRow) and the search goes on when it is not the same.
// Lookups are exact. Each value is inserted once (at its first row), so
// the one confirmed match is that first row.
type bulkSeen struct {
	seed     maphash.Seed
	rows     int
	dir      string
	slots    []uint64
	rowBits  uint
	used     int
	limit    int              // used at which the table spills
	overflow map[uint64][]int // rows beyond the packing (the input grew since it was checked)

	bloom []uint64  // nil until the first spill; 8 words (a cache line) a block
	f     *os.File  // the runs, one after another (unlinked)
	runs  []seenRun // oldest first
	size  int64     // bytes written to f
	block []byte    // scratch for one block
	err   error     // a run could not be read: lookups may miss (the import stops)
	free  []func()  // unmap slots and bloom (allocWords)
}

// seenRun is one sorted run of slots in the file (or, when it could not
// be written, in mem).
type seenRun struct {
	mem   []uint64
	off   int64    // offset of its first slot
	n     int      // slots
	first []uint64 // the first slot of each block
}

// bulkSeenMemRows is the most values the in-memory table holds before it
// spills (11 MB of slots); bulkSeenBloomBytes the size of the filter over
// the spilled runs. Variables so that tests can force spills.
var (
	bulkSeenMemRows    = 1 << 20
	bulkSeenBloomBytes = 8 << 20
)

// bulkSeenBlock is the number of slots in one block of a run.
const bulkSeenBlock = 512

func newBulkSeen(rows int, dir string) *bulkSeen {
	return &bulkSeen{seed: maphash.MakeSeed(), rows: max(rows, 1), dir: dir}
}

func (t *bulkSeen) init() {
	t.rowBits = uint(bits.Len(uint(t.rows)))
	n := min(t.rows, bulkSeenMemRows)
	var free func()
	t.slots, free = allocWords(n + n/3 + 16)
	t.free = append(t.free, free)
	t.limit = max(n, 1)
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
		if t.bloom != nil && t.mayHave(fp) {
			if row := t.searchRuns(fp, confirm); row != 0 {
				return row
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
	if row >= 1<<t.rowBits {
		if t.overflow == nil {
			t.overflow = map[uint64][]int{}
		}
		t.overflow[h] = append(t.overflow[h], row)
		return
	}
	if t.used >= t.limit {
		t.spill()
	}
	i := t.home(h)
	for t.slots[i] != 0 {
		i = t.next(i)
	}
	t.slots[i] = t.fp(h)<<t.rowBits | uint64(row)
	t.used++
}

// spill appends the table's slots, sorted, as a run to the file, adds
// their fingerprints to the filter and empties the table. A run that
// cannot be written stays in memory (exact, only not bounded).
func (t *bulkSeen) spill() {
	if t.bloom == nil {
		var free func()
		t.bloom, free = allocWords(bulkSeenBloomBytes / 8)
		t.free = append(t.free, free)
	}
	run := slices.DeleteFunc(t.slots, func(s uint64) bool { return s == 0 })
	slices.Sort(run)
	r := seenRun{n: len(run)}
	for i, s := range run {
		if i%bulkSeenBlock == 0 {
			r.first = append(r.first, s)
		}
		t.bloomAdd(s >> t.rowBits)
	}
	if err := t.writeRun(&r, run); err != nil {
		r.mem = slices.Clone(run)
	}
	t.runs = append(t.runs, r)
	clear(t.slots)
	t.slots = t.slots[:cap(t.slots)]
	t.used = 0
}

func (t *bulkSeen) writeRun(r *seenRun, run []uint64) error {
	if t.f == nil {
		f, err := os.CreateTemp(t.dir, "invitekit-bulk-seen-*")
		if err != nil {
			return err
		}
		os.Remove(f.Name()) // unlinked: gone with the handle
		t.f = f
	}
	buf := make([]byte, 0, 64<<10)
	r.off = t.size
	for i, s := range run {
		buf = binary.LittleEndian.AppendUint64(buf, s)
		if len(buf) == cap(buf) || i == len(run)-1 {
			if _, err := t.f.WriteAt(buf, t.size); err != nil {
				return err
			}
			t.size += int64(len(buf))
			buf = buf[:0]
		}
	}
	return nil
}

// searchRuns looks for fp in every run, newest first.
func (t *bulkSeen) searchRuns(fp uint64, confirm func(row int) bool) int {
	mask := uint64(1)<<t.rowBits - 1
	lo := fp << t.rowBits // the smallest slot with this fingerprint
	for k := len(t.runs) - 1; k >= 0; k-- {
		r := &t.runs[k]
		// The blocks that may hold fp: from the last one starting before it.
		b := max(sort.Search(len(r.first), func(i int) bool { return r.first[i] >= lo })-1, 0)
		for ; b < len(r.first) && r.first[b]>>t.rowBits <= fp; b++ {
			n := min(bulkSeenBlock, r.n-b*bulkSeenBlock)
			if cap(t.block) < n*8 {
				t.block = make([]byte, bulkSeenBlock*8)
			}
			buf := t.block[:n*8]
			if r.mem != nil {
				for i, s := range r.mem[b*bulkSeenBlock : b*bulkSeenBlock+n] {
					binary.LittleEndian.PutUint64(buf[i*8:], s)
				}
			} else if _, err := t.f.ReadAt(buf, r.off+int64(b*bulkSeenBlock*8)); err != nil {
				if t.err == nil {
					t.err = fmt.Errorf("invite: bulk: duplicate check: %w", err)
				}
				return 0
			}
			for i := range n {
				s := binary.LittleEndian.Uint64(buf[i*8:])
				if s>>t.rowBits == fp && confirm(int(s&mask)) {
					return int(s & mask)
				}
			}
		}
	}
	return 0
}

// mayHave and bloomAdd: a blocked Bloom filter over fingerprints, 5 bits
// in one 512-bit block.
func (t *bulkSeen) mayHave(fp uint64) bool {
	blk, h := t.bloomBlock(fp)
	for range 5 {
		bit := h & 511
		if t.bloom[blk+int(bit>>6)]&(1<<(bit&63)) == 0 {
			return false
		}
		h >>= 9
	}
	return true
}

func (t *bulkSeen) bloomAdd(fp uint64) {
	blk, h := t.bloomBlock(fp)
	for range 5 {
		bit := h & 511
		t.bloom[blk+int(bit>>6)] |= 1 << (bit & 63)
		h >>= 9
	}
}

func (t *bulkSeen) bloomBlock(fp uint64) (int, uint64) {
	h := fp * 0x9e3779b97f4a7c15
	h ^= h >> 29
	h *= 0xbf58476d1ce4e5b9
	blk, _ := bits.Mul64(h^h>>32, uint64(len(t.bloom)/8))
	return int(blk) * 8, h
}

// close releases the table, the filter and the runs' file; t must not be
// used after.
func (t *bulkSeen) close() {
	t.slots, t.bloom = nil, nil
	for _, f := range t.free {
		f()
	}
	t.free = nil
	if t.f != nil {
		t.f.Close()
		t.f = nil
	}
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
