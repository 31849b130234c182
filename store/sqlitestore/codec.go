package sqlitestore

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Times are stored as Unix microseconds (PostgreSQL's precision; any year
// from 1 to 9999 fits, unlike nanoseconds); 0 stands for the zero time.Time
// and NULL for a nil *time.Time. Values read back are in UTC.

func tsOf(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func timeOf(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.UnixMicro(n).UTC()
}

func nullTsOf(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: tsOf(*t), Valid: true}
}

// nullTsArg is nullTsOf as an INSERT argument: nil or an int64 (no
// driver.Valuer for database/sql to call).
func nullTsArg(t *time.Time) any {
	if t == nil {
		return nil
	}
	return tsOf(*t)
}

// textArg is a nullable text as an INSERT argument: nil or a string.
func textArg(s sql.NullString) any {
	if !s.Valid {
		return nil
	}
	return s.String
}

func timePtrOf(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := timeOf(n.Int64)
	return &t
}

// Maps and string lists are stored as JSON text; NULL stands for nil, so a
// nil map reads back nil and an empty one empty.

// jsonMap encodes m as a JSON object with sorted keys (what json.Marshal
// writes, without its reflection: bulk import encodes several maps per row).
func jsonMap(m map[string]string) (sql.NullString, error) {
	if m == nil {
		return sql.NullString{}, nil
	}
	// Up to 16 entries (the usual case) are sorted on the stack.
	var buf [16]mapEntry
	es := buf[:0]
	n := 2
	for k, v := range m {
		es = append(es, mapEntry{k, v})
		n += len(k) + len(v) + 6
	}
	slices.SortFunc(es, func(a, b mapEntry) int { return strings.Compare(a.k, b.k) })
	b := make([]byte, 0, n)
	b = append(b, '{')
	for i, e := range es {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, e.k)
		b = append(b, ':')
		b = appendJSONString(b, e.v)
	}
	b = append(b, '}')
	return sql.NullString{String: string(b), Valid: true}, nil
}

type mapEntry struct{ k, v string }

// appendJSONString appends s as a JSON string. Invalid UTF-8 becomes
// U+FFFD, as with json.Marshal.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	run := 0 // start of the bytes not yet appended, all copied verbatim
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[run:i]...)
			if c < 0x20 {
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			} else {
				b = append(b, '\\', c)
			}
			i++
			run = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[run:i]...)
			b = append(b, `\ufffd`...)
			i++
			run = i
			continue
		}
		i += size
	}
	b = append(b, s[run:]...)
	return append(b, '"')
}

func mapOf(s sql.NullString) (map[string]string, error) {
	if !s.Valid {
		return nil, nil
	}
	m := map[string]string{}
	if err := json.Unmarshal([]byte(s.String), &m); err != nil {
		return nil, fmt.Errorf("sqlitestore: decode map: %w", err)
	}
	return m, nil
}

// jsonList encodes l as a JSON array (see jsonMap).
func jsonList(l []string) (sql.NullString, error) {
	if l == nil {
		return sql.NullString{}, nil
	}
	b := make([]byte, 0, 16*len(l)+2)
	b = append(b, '[')
	for i, s := range l {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, s)
	}
	b = append(b, ']')
	return sql.NullString{String: string(b), Valid: true}, nil
}

func listOf(s sql.NullString) ([]string, error) {
	if !s.Valid {
		return nil, nil
	}
	l := []string{}
	if err := json.Unmarshal([]byte(s.String), &l); err != nil {
		return nil, fmt.Errorf("sqlitestore: decode list: %w", err)
	}
	return l, nil
}

// bytesOf copies a nullable blob (nil stays nil).
func bytesOf(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte{}, b...)
}
