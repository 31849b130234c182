package httpx

import (
	"errors"
	"math"
	"net/http"
	"strconv"
	"time"
)

// RetryError is a refusal that may succeed later (429, 503): After says
// when. It unwraps to Err, so the table maps it as Err.
type RetryError struct {
	Err   error
	After time.Duration
}

func (e *RetryError) Error() string { return e.Err.Error() }

// Unwrap returns Err.
func (e *RetryError) Unwrap() error { return e.Err }

// RateLimited is the refusal of a rate limit: ErrRateLimited (429
// rate_limited) with Retry-After set to after.
func RateLimited(after time.Duration) error {
	return &RetryError{Err: ErrRateLimited, After: after}
}

// defaultRetryAfter is the Retry-After of a 429 or 503 that names none.
const defaultRetryAfter = 5 * time.Second

// SetRetryAfter sets the Retry-After header (whole seconds, at least 1)
// when err renders as 429 or 503.
func SetRetryAfter(w http.ResponseWriter, err error) {
	status := Status(err)
	if status != http.StatusTooManyRequests && status != http.StatusServiceUnavailable {
		return
	}
	after := defaultRetryAfter
	var re *RetryError
	if errors.As(err, &re) && re.After > 0 {
		after = re.After
	}
	w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(after.Seconds()))))
}
