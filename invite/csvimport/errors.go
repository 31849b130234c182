package csvimport

import (
	"errors"
	"fmt"
)

// Fatal errors: the input as a whole is refused. Next returns them (possibly
// wrapped, test with errors.Is) and every later call returns the same error.
var (
	// ErrTooLarge is returned when the input is larger than Config.MaxBytes.
	ErrTooLarge = errors.New("csvimport: input is larger than the size limit")
	// ErrTooManyRows is returned when the input has more data rows than
	// Config.MaxRows.
	ErrTooManyRows = errors.New("csvimport: input has more rows than the row limit")
	// ErrRecordTooLarge is returned when one record (a CSV record or a JSON
	// line) is larger than Config.MaxRecordBytes.
	ErrRecordTooLarge = errors.New("csvimport: a record is larger than the record size limit")
	// ErrBadHeader is returned when the CSV header row is missing, has no
	// email column, names an unknown or duplicate column. The *HeaderError
	// that wraps it names the column.
	ErrBadHeader = errors.New("csvimport: bad header")
	// ErrBadFormat is returned by NewReader for a Format other than "csv"
	// and "jsonl".
	ErrBadFormat = errors.New("csvimport: unknown format")
)

// HeaderError describes a bad CSV header. It wraps ErrBadHeader.
type HeaderError struct {
	Column  string // the offending column as written ("" when the header is empty)
	Index   int    // 0-based column index (-1 when not about one column)
	Message string // what is wrong, e.g. "unknown column"
}

func (e *HeaderError) Error() string {
	if e.Column == "" {
		return "csvimport: bad header: " + e.Message
	}
	return fmt.Sprintf("csvimport: bad header: column %d %q: %s", e.Index+1, e.Column, e.Message)
}

// Unwrap returns ErrBadHeader.
func (e *HeaderError) Unwrap() error { return ErrBadHeader }

// LimitError carries the limit that was exceeded and where. It wraps
// ErrTooLarge, ErrTooManyRows or ErrRecordTooLarge.
type LimitError struct {
	Err   error // ErrTooLarge, ErrTooManyRows or ErrRecordTooLarge
	Limit int64 // the configured limit (bytes or rows)
	// Line is the input line where the limit was hit: for ErrTooManyRows
	// the first row over the limit, for ErrRecordTooLarge the line after
	// the last complete record (the oversized record starts there or
	// after a few blank lines). 0 if unknown.
	Line int
}

func (e *LimitError) Error() string {
	switch e.Err {
	case ErrTooLarge:
		return fmt.Sprintf("csvimport: input is larger than the limit of %d bytes", e.Limit)
	case ErrTooManyRows:
		return fmt.Sprintf("csvimport: input has more than the limit of %d rows (at line %d)", e.Limit, e.Line)
	case ErrRecordTooLarge:
		return fmt.Sprintf("csvimport: record at line %d is larger than the limit of %d bytes", e.Line, e.Limit)
	}
	return e.Err.Error()
}

// Unwrap returns the sentinel.
func (e *LimitError) Unwrap() error { return e.Err }

// RowError is a problem with one row only: the row is reported as invalid
// and reading continues with the next row.
type RowError struct {
	Field   string // the column / JSON field at fault ("" for the row as a whole)
	Code    string // machine-readable: "malformed_csv", "field_count", "invalid_json", "unknown_field", "invalid_type", "invalid_utf8"
	Message string
}

func (e *RowError) Error() string {
	if e.Field == "" {
		return "csvimport: " + e.Message
	}
	return fmt.Sprintf("csvimport: %s: %s", e.Field, e.Message)
}
