package pgstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// Encoding of Go values into columns and back.
//
// Maps and role lists are jsonb: a nil map or slice is SQL NULL, so nil and
// empty survive a round trip apart. Times are timestamptz, which keeps
// microseconds: values are truncated to the microsecond and returned in UTC.

// jsonArg returns v as a jsonb argument, nil (SQL NULL) for a nil map.
func jsonMap(m map[string]string) any {
	if m == nil {
		return nil
	}
	b, _ := json.Marshal(m) // a map[string]string always marshals
	return b
}

// jsonList returns a role list as a jsonb argument, nil for a nil slice.
func jsonList(l []string) any {
	if l == nil {
		return nil
	}
	b, _ := json.Marshal(l)
	return b
}

func decodeMap(b []byte) (map[string]string, error) {
	if b == nil {
		return nil, nil
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("pgstore: decode map: %w", err)
	}
	return m, nil
}

func decodeList(b []byte) ([]string, error) {
	if b == nil {
		return nil, nil
	}
	var l []string
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, fmt.Errorf("pgstore: decode list: %w", err)
	}
	if l == nil {
		l = []string{}
	}
	return l, nil
}

// ts is a time as stored: UTC, microsecond precision, no monotonic reading.
func ts(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Microsecond)
}

// tsPtr is ts for a nullable time.
func tsPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := ts(*t)
	return &v
}

// cloneMap copies a map so the caller never shares it with stored values.
func cloneMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	return maps.Clone(m)
}

// cloneList copies a slice, keeping nil and empty apart.
func cloneList(l []string) []string {
	if l == nil {
		return nil
	}
	return append([]string{}, l...)
}

func cloneBytes(b []byte) []byte {
	if b == nil {
		return nil
	}
	return slices.Clone(b)
}

// SQLSTATE codes pgstore reacts to.
const (
	codeUniqueViolation      = "23505"
	codeNotNullViolation     = "23502"
	codeSerializationFailure = "40001"
	codeDeadlockDetected     = "40P01"
)

// memberExternalIDKey is the unique index on a membership's (org_id,
// external_id) (migration 0002).
const memberExternalIDKey = "memberships_org_external_id_key"

// pgErr returns the *pgconn.PgError in err's chain, or nil.
func pgErr(err error) *pgconn.PgError {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe
	}
	return nil
}

// isConstraint reports whether err is a violation (code) of constraint name.
func isConstraint(err error, code, name string) bool {
	pe := pgErr(err)
	return pe != nil && pe.Code == code && pe.ConstraintName == name
}

// retryable reports whether the whole transaction may simply run again.
func retryable(err error) bool {
	pe := pgErr(err)
	return pe != nil && (pe.Code == codeSerializationFailure || pe.Code == codeDeadlockDetected)
}
