package invite

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/invitekit/invitekit/invite/csvimport"
)

// DescribeBulkError maps an error from BulkInvite, BulkJobs or the bulk
// handler to an HTTP status, a machine-readable code, the field at fault
// and a message that is safe to show. Errors that are not about bulk input
// are mapped as HTTPStatus and ErrorCode do.
func DescribeBulkError(err error) (status int, code, field, message string) {
	return describeBulk(err)
}

func describeBulk(err error) (status int, code, field, message string) {
	var le *csvimport.LimitError
	var he *csvimport.HeaderError
	switch {
	case errors.As(err, &le):
		switch le.Err {
		case csvimport.ErrTooLarge:
			return http.StatusRequestEntityTooLarge, "too_large", "file",
				fmt.Sprintf("the file is larger than the limit of %s", formatBytes(le.Limit))
		case csvimport.ErrTooManyRows:
			return http.StatusRequestEntityTooLarge, "too_many_rows", "file",
				fmt.Sprintf("the file has more than the limit of %d rows", le.Limit)
		case csvimport.ErrRecordTooLarge:
			return http.StatusRequestEntityTooLarge, "row_too_large", "file",
				fmt.Sprintf("the row at line %d is larger than the limit of %s", le.Line, formatBytes(le.Limit))
		}
	case errors.As(err, &he):
		field = "file"
		if he.Column != "" {
			field = he.Column
		}
		msg := he.Error()
		if len(msg) > len("csvimport: ") {
			msg = msg[len("csvimport: "):]
		}
		return http.StatusUnprocessableEntity, "bad_header", field, msg
	case errors.Is(err, ErrBulkBadFormat):
		return http.StatusUnsupportedMediaType, "unsupported_media_type", "format",
			"the file must be CSV (text/csv) or JSON lines (application/x-ndjson)"
	case errors.Is(err, ErrBulkBusy):
		return http.StatusTooManyRequests, "too_many_imports", "", "too many imports are running; try again later"
	}
	status, code, field, message = describe(err)
	return status, code, field, message
}

// formatBytes renders a byte count for messages ("32 MiB", "64 KiB", "100 bytes").
func formatBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// writeBulkError writes err as the JSON API does, with the bulk mapping.
func writeBulkError(w http.ResponseWriter, err error) {
	status, code, field, msg := describeBulk(err)
	_ = writeJSON(w, status, struct {
		Error APIError `json:"error"`
	}{APIError{Code: code, Message: msg, Field: field}})
}
