package invite

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"

	"github.com/invitekit/invitekit/store"
)

// The row results of an import are not kept in memory: each settled
// result is appended to a spool, which the report streams back
// (BulkReport.Results, WriteCSV, WriteJSON). A small report stays in
// memory; once its encoding passes bulkSpoolMemLimit it moves to a
// temporary file (BulkOptions.TempDir), removed by BulkReport.Close or,
// failing that, when the report is garbage collected.

// bulkSpoolMemLimit is the encoded size a spool keeps in memory before it
// moves to a file (about 4,000 rows). A variable so that tests can force
// the file.
var bulkSpoolMemLimit = 256 << 10

// bulkSpoolIndexEvery is the distance in rows between two entries of the
// spool's sparse index (used to re-read one earlier row).
const bulkSpoolIndexEvery = 256

// resultSpool is an append-only store of encoded row results. Appends come
// from one goroutine (the import); once finished, any number of readers
// may stream it at once.
type resultSpool struct {
	dir string

	mu     sync.Mutex // guards the fields below for readers after finish
	mem    bytes.Buffer
	f      *os.File
	w      *bufio.Writer
	size   int64   // bytes appended
	n      int     // records appended
	index  []int64 // offset of record i*bulkSpoolIndexEvery
	closed bool
	done   bool
	rec    []byte // scratch for one record
	// cleanup removes the file if the report is dropped unclosed.
	cleanup runtime.Cleanup
}

func newResultSpool(dir string) *resultSpool { return &resultSpool{dir: dir} }

// appendResult adds r (with the row's external id, kept for the
// duplicate check and never shown).
func (s *resultSpool) appendResult(r *BulkRowResult, externalID string) error {
	if s.closed {
		return errors.New("invite: bulk: results closed")
	}
	if s.n%bulkSpoolIndexEvery == 0 {
		s.index = append(s.index, s.size)
	}
	b := s.rec[:0]
	b = binary.AppendUvarint(b, uint64(r.Row))
	b = binary.AppendUvarint(b, uint64(r.Line))
	for _, str := range [...]string{r.Email, string(r.Status), r.UserID, string(r.MembershipStatus), r.Code, r.Field, r.Reason, externalID} {
		b = binary.AppendUvarint(b, uint64(len(str)))
		b = append(b, str...)
	}
	s.rec = b
	s.n++
	s.size += int64(len(b))
	if s.f == nil && s.mem.Len()+len(b) <= bulkSpoolMemLimit {
		s.mem.Write(b)
		return nil
	}
	if s.f == nil {
		if err := s.toFile(); err != nil {
			return err
		}
	}
	_, err := s.w.Write(b)
	return err
}

// toFile moves the spool from memory to a temporary file.
func (s *resultSpool) toFile() error {
	f, err := os.CreateTemp(s.dir, "invitekit-bulk-results-*")
	if err != nil {
		return fmt.Errorf("invite: bulk: spool results: %w", err)
	}
	s.f, s.w = f, bufio.NewWriterSize(f, 64<<10)
	name := f.Name()
	s.cleanup = runtime.AddCleanup(s, func(name string) { os.Remove(name) }, name)
	if _, err := s.w.Write(s.mem.Bytes()); err != nil {
		return fmt.Errorf("invite: bulk: spool results: %w", err)
	}
	s.mem = bytes.Buffer{}
	return nil
}

// flush makes every appended record readable.
func (s *resultSpool) flush() error {
	if s.w == nil {
		return nil
	}
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("invite: bulk: spool results: %w", err)
	}
	return nil
}

// finish ends appending: the spool becomes read-only.
func (s *resultSpool) finish() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.done = true
	s.rec = nil
	return s.flush()
}

// reader returns a reader of the records from offset off. Readers of a
// file spool have their own file handle, so Close (which removes the
// file) does not cut a reader that already started.
func (s *resultSpool) reader(off int64) (io.Reader, func(), error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, nil, errors.New("invite: bulk: the report was closed")
	}
	if s.f == nil {
		return bytes.NewReader(s.mem.Bytes()[off:]), func() {}, nil
	}
	if !s.done {
		if err := s.flush(); err != nil {
			return nil, nil, err
		}
	}
	f, err := os.Open(s.f.Name())
	if err != nil {
		return nil, nil, fmt.Errorf("invite: bulk: read results: %w", err)
	}
	return io.NewSectionReader(f, off, s.size-off), func() { f.Close() }, nil
}

// each calls fn for every record in order until fn returns false.
func (s *resultSpool) each(fn func(r BulkRowResult, externalID string) bool) error {
	return s.eachFrom(0, 0, fn)
}

// eachFrom reads n records (n <= 0: all) starting at record first, which
// must be a multiple of bulkSpoolIndexEvery.
func (s *resultSpool) eachFrom(first, n int, fn func(r BulkRowResult, externalID string) bool) error {
	s.mu.Lock()
	total, off := s.n, int64(0)
	if first > 0 {
		off = s.index[first/bulkSpoolIndexEvery]
	}
	s.mu.Unlock()
	if n <= 0 || first+n > total {
		n = total - first
	}
	if n <= 0 {
		return nil
	}
	rd, done, err := s.reader(off)
	if err != nil {
		return err
	}
	defer done()
	br := bufio.NewReaderSize(rd, 32<<10)
	var buf []byte
	for range n {
		r, ext, err := decodeResult(br, &buf)
		if err != nil {
			return fmt.Errorf("invite: bulk: read results: %w", err)
		}
		if !fn(r, ext) {
			return nil
		}
	}
	return nil
}

// at returns record i (0-based), reading from the index entry before it.
func (s *resultSpool) at(i int) (BulkRowResult, string, error) {
	var (
		res BulkRowResult
		ext string
	)
	first := i - i%bulkSpoolIndexEvery
	k := first
	err := s.eachFrom(first, i-first+1, func(r BulkRowResult, e string) bool {
		if k == i {
			res, ext = r, e
		}
		k++
		return true
	})
	return res, ext, err
}

// decodeResult reads one record.
func decodeResult(br *bufio.Reader, buf *[]byte) (BulkRowResult, string, error) {
	var r BulkRowResult
	row, err := binary.ReadUvarint(br)
	if err != nil {
		return r, "", unexpected(err)
	}
	line, err := binary.ReadUvarint(br)
	if err != nil {
		return r, "", unexpected(err)
	}
	r.Row, r.Line = int(row), int(line)
	var strs [8]string
	for k := range strs {
		l, err := binary.ReadUvarint(br)
		if err != nil {
			return r, "", unexpected(err)
		}
		if l == 0 {
			continue
		}
		if uint64(cap(*buf)) < l {
			*buf = make([]byte, l)
		}
		b := (*buf)[:l]
		if _, err := io.ReadFull(br, b); err != nil {
			return r, "", unexpected(err)
		}
		strs[k] = internStatus(k, b)
	}
	r.Email, r.Status, r.UserID, r.MembershipStatus = strs[0], BulkRowStatus(strs[1]), strs[2], store.MembershipStatus(strs[3])
	r.Code, r.Field, r.Reason = strs[4], strs[5], strs[6]
	return r, strs[7], nil
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// internStatus avoids an allocation for the few status values.
func internStatus(k int, b []byte) string {
	if k == 1 || k == 3 {
		for _, s := range bulkInterned {
			if string(b) == s {
				return s
			}
		}
	}
	return string(b)
}

var bulkInterned = [...]string{
	string(BulkCreated), string(BulkAlreadyMember), string(BulkInvalid), string(BulkRefused),
	string(BulkDuplicateInFile), string(BulkFailed), "PENDING_INVITE", "ACTIVE", "INACTIVE",
	string(BulkHeld), "PENDING_APPROVAL",
}

// close removes the spool's file. It is idempotent.
func (s *resultSpool) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	s.mem = bytes.Buffer{}
	if s.f == nil {
		return nil
	}
	s.cleanup.Stop()
	err := s.f.Close()
	if rerr := os.Remove(s.f.Name()); err == nil {
		err = rerr
	}
	return err
}
