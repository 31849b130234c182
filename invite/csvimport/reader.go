// Package csvimport parses bulk-invitation files for invitekit: CSV with a
// header row, or JSON lines. It is the streaming front half of
// invite.Service.BulkInvite and knows nothing about stores or policies; the
// invite package validates each Record with the same rules as a single
// invite.
//
// CSV columns (header row required, any order, names case-insensitive):
//
//	email           required column
//	first_name      profile first name
//	last_name       profile last name
//	name            profile display name
//	locale          profile locale (BCP 47, e.g. "de")
//	phone_number    profile phone number
//	roles           role names separated by ';' (e.g. "admin;member")
//	external_id     the app's own id for the person
//	metadata.<key>  one membership metadata entry per column; an empty cell sets nothing
//
// Any other column is refused with a *HeaderError naming it. A UTF-8 BOM,
// CRLF line endings, quoted fields (with commas, quotes and newlines) and
// blank lines are handled; cells are trimmed of surrounding spaces.
//
// JSON lines: one object per line in the shape of the JSON API's invite
// request: {"email", "externalId", "roles": [..], "metadata": {..},
// "userProfile": {"firstName", "lastName", "name", "locale", "phoneNumber",
// "metadata", "customAttributes"}, "sendInvitationEmail" (alias
// "sendActivationEmail")}. Unknown fields make the row invalid (the field
// is named by its full path, "userProfile.nickname"), and so does a string
// that is not valid UTF-8 (checked on the raw line: decoding would replace
// it with U+FFFD). Blank lines are skipped.
//
// Cells and values are passed on as read: package invite applies the
// kit's text rule (store.TextProblem) to every one of them, as to any
// other input.
//
// Reading is streamed: memory stays bounded by Config.MaxRecordBytes plus a
// small buffer whatever the input size. Limits (Config.MaxBytes, MaxRows,
// MaxRecordBytes) end reading with a fatal *LimitError; a malformed row is
// reported in Record.Err and reading goes on.
//
// A Reader is not safe for concurrent use.
package csvimport

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
)

// Formats accepted by NewReader.
const (
	FormatCSV   = "csv"
	FormatJSONL = "jsonl"
)

// Default limits, used for zero Config fields.
const (
	DefaultMaxBytes       = 32 << 20 // 32 MiB
	DefaultMaxRows        = 100_000
	DefaultMaxRecordBytes = 64 << 10 // 64 KiB
)

const bufSize = 64 << 10

// Config tunes a Reader. The zero value reads CSV with the default limits.
type Config struct {
	// Format is FormatCSV (default) or FormatJSONL.
	Format string
	// MaxBytes limits the input size; 0 means DefaultMaxBytes, < 0 no limit.
	MaxBytes int64
	// MaxRows limits the number of data rows (blank lines and the header do
	// not count); 0 means DefaultMaxRows, < 0 no limit.
	MaxRows int
	// MaxRecordBytes limits one record; 0 means DefaultMaxRecordBytes, < 0
	// no limit (then one record may use up to MaxBytes of memory).
	MaxRecordBytes int64
	// Comma is the CSV field separator; 0 means ','.
	Comma rune
}

// Record is one data row.
type Record struct {
	Row  int // 1-based among data rows
	Line int // 1-based input line where the row starts

	Email       string
	ExternalID  string
	FirstName   string
	LastName    string
	Name        string
	Locale      string
	PhoneNumber string
	Roles       []string          // nil when the row names none
	Metadata    map[string]string // membership metadata; nil when none

	ProfileMetadata  map[string]string // JSON lines only
	CustomAttributes map[string]string // JSON lines only
	// SendInvitationEmail is set only by a JSON line that names it; nil
	// means "use the import's default".
	SendInvitationEmail *bool

	// Err, when not nil, says why the row could not be parsed. The other
	// fields then hold what could be read (often only Row and Line).
	Err *RowError
}

// Reader reads Records from a CSV or JSON-lines input.
type Reader struct {
	cfg   Config
	count *countingReader
	buf   *bufio.Reader
	csv   *csv.Reader
	cols  []column // CSV: parsed header
	rows  int
	// lastLine is the start line of the last record read (CSV) or the
	// number of lines read (JSONL); limit errors report lastLine+1.
	lastLine int
	scratch  []byte // JSONL line buffer, reused
	err      error
}

// NewReader returns a Reader for src. For CSV it reads and checks the
// header row at once and returns a *HeaderError (wrapping ErrBadHeader) if
// it is bad, or a *LimitError if the limits are exceeded already.
func NewReader(src io.Reader, cfg Config) (*Reader, error) {
	if cfg.Format == "" {
		cfg.Format = FormatCSV
	}
	if cfg.Format != FormatCSV && cfg.Format != FormatJSONL {
		return nil, fmt.Errorf("%w %q (want %q or %q)", ErrBadFormat, cfg.Format, FormatCSV, FormatJSONL)
	}
	if cfg.MaxBytes == 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	if cfg.MaxRows == 0 {
		cfg.MaxRows = DefaultMaxRows
	}
	if cfg.MaxRecordBytes == 0 {
		cfg.MaxRecordBytes = DefaultMaxRecordBytes
	}
	if cfg.Comma == 0 {
		cfg.Comma = ','
	}
	r := &Reader{cfg: cfg}
	r.count = &countingReader{r: src, max: cfg.MaxBytes, recMax: cfg.MaxRecordBytes, slack: bufSize}
	r.count.line = func() int { return r.lastLine + 1 }
	r.buf = bufio.NewReaderSize(r.count, bufSize)
	if err := skipBOM(r.buf); err != nil && err != io.EOF {
		return nil, err
	}
	if cfg.Format == FormatJSONL {
		return r, nil
	}
	c := csv.NewReader(r.buf)
	c.Comma = cfg.Comma
	c.ReuseRecord = true
	c.FieldsPerRecord = -1
	r.csv = c
	if err := r.readHeader(); err != nil {
		return nil, err
	}
	return r, nil
}

func skipBOM(b *bufio.Reader) error {
	p, err := b.Peek(3)
	if bytes.Equal(p, []byte{0xEF, 0xBB, 0xBF}) {
		_, _ = b.Discard(3)
		return nil
	}
	return err
}

// Next returns the next data row. It returns io.EOF after the last row and
// a fatal error (*LimitError, or the source's read error) when reading
// cannot go on; a row that cannot be parsed is returned with Record.Err
// set and a nil error.
func (r *Reader) Next() (Record, error) {
	if r.err != nil {
		return Record{}, r.err
	}
	var rec Record
	var err error
	if r.csv != nil {
		rec, err = r.nextCSV(false)
	} else {
		rec, err = r.nextJSONL(false)
	}
	if err != nil {
		r.err = err
		return Record{}, err
	}
	r.rows++
	rec.Row = r.rows
	if r.cfg.MaxRows > 0 && r.rows > r.cfg.MaxRows {
		r.err = &LimitError{Err: ErrTooManyRows, Limit: int64(r.cfg.MaxRows), Line: rec.Line}
		return Record{}, r.err
	}
	return rec, nil
}

// Skip advances past the next data row without building a Record, for a
// fast first pass that only checks the limits and counts rows. It returns
// io.EOF after the last row and the same fatal errors as Next; a
// malformed row counts as a row.
func (r *Reader) Skip() error {
	if r.err != nil {
		return r.err
	}
	var line int
	var err error
	if r.csv != nil {
		line, err = r.skipCSV()
	} else {
		line, err = r.skipJSONL()
	}
	if err != nil {
		r.err = err
		return err
	}
	r.rows++
	if r.cfg.MaxRows > 0 && r.rows > r.cfg.MaxRows {
		r.err = &LimitError{Err: ErrTooManyRows, Limit: int64(r.cfg.MaxRows), Line: line}
		return r.err
	}
	return nil
}

// BytesRead is how many bytes were read from the source so far (a little
// ahead of the rows returned, because of buffering).
func (r *Reader) BytesRead() int64 { return r.count.n }

// markRecordStart tells the counting reader where the next record starts,
// for the per-record size limit.
func (r *Reader) markRecordStart(offset int64) {
	r.count.recStart = offset
}
