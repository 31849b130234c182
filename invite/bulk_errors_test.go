package invite

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/invitekit/invitekit/invite/csvimport"
)

// The service-wide mapping (HTTPStatus, ErrorCode) must know bulk errors,
// not answer 500 for them.
func TestHTTPStatusKnowsBulkErrors(t *testing.T) {
	tests := []struct {
		err    error
		status int
		code   string
	}{
		{&csvimport.LimitError{Err: csvimport.ErrTooLarge, Limit: 1 << 20}, http.StatusRequestEntityTooLarge, "too_large"},
		{ErrBulkBadFormat, http.StatusUnsupportedMediaType, "unsupported_media_type"},
		{ErrBulkBusy, http.StatusTooManyRequests, "too_many_imports"},
		{ErrNotFound, http.StatusNotFound, "not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			assert.Equal(t, tt.status, HTTPStatus(tt.err))
			code, _ := ErrorCode(tt.err)
			assert.Equal(t, tt.code, code)
		})
	}
}
