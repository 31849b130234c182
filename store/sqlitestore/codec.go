package sqlitestore

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

// Times are stored as Unix nanoseconds; 0 stands for the zero time.Time and
// NULL for a nil *time.Time. Values read back are in UTC.

func tsOf(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func timeOf(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func nullTsOf(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: tsOf(*t), Valid: true}
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

func jsonMap(m map[string]string) (sql.NullString, error) {
	if m == nil {
		return sql.NullString{}, nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return sql.NullString{}, fmt.Errorf("sqlitestore: encode map: %w", err)
	}
	return sql.NullString{String: string(b), Valid: true}, nil
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

func jsonList(l []string) (sql.NullString, error) {
	if l == nil {
		return sql.NullString{}, nil
	}
	b, err := json.Marshal(l)
	if err != nil {
		return sql.NullString{}, fmt.Errorf("sqlitestore: encode list: %w", err)
	}
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
