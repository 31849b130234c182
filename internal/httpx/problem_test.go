package httpx

import (
	"fmt"
	"net/http/httptest"
	"testing"
	"time"
)

func TestWriteErrorRetryAfter(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{ErrTooManyImports, "5"},
		{&RetryError{Err: ErrTooManyImports, After: 1500 * time.Millisecond}, "2"},
		{fmt.Errorf("wrapped: %w", &RetryError{Err: ErrTooManyImports, After: 30 * time.Second}), "30"},
		{RateLimited(90 * time.Second), "90"},
		{ErrPermissionDenied, ""},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		WriteError(rec, tt.err)
		if got := rec.Header().Get("Retry-After"); got != tt.want {
			t.Errorf("%v: Retry-After %q, want %q", tt.err, got, tt.want)
		}
	}
}

// Every entry of the table is reachable (no entry is shadowed by an
// earlier one that the same error also matches), and a code has one status.
func TestProblemTableReachable(t *testing.T) {
	codes := map[string]int{}
	check := func(err error, want Problem) {
		if got := ProblemOf(err); got != want {
			t.Errorf("%v renders as %+v, want %+v", err, got, want)
		}
		if st, ok := codes[want.Code]; ok && st != want.Status {
			t.Errorf("code %q has two statuses, %d and %d", want.Code, st, want.Status)
		}
		codes[want.Code] = want.Status
	}
	for _, e := range problems {
		check(e.err, e.Problem)
	}
	for _, e := range signInProblems {
		check(e.err, e.Problem)
	}
}
