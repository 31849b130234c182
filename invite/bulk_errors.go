package invite

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/invitekit/invitekit/invite/csvimport"
)

// DescribeBulkError maps an error from BulkInvite, BulkJobs or the bulk
// handler to an HTTP status, a machine-readable code, the field at fault
// and a message that is safe to show. It is the same mapping as
// HTTPStatus and ErrorCode, which know the bulk errors too.
func DescribeBulkError(err error) (status int, code, field, message string) {
	return describe(err)
}

// bulkErrorInfo maps the errors only bulk import returns; ok is false for
// every other error. describe consults it, so HTTPStatus, ErrorCode and
// WriteError cover bulk errors too.
func bulkErrorInfo(err error) (status int, code, field, message string, ok bool) {
	var le *csvimport.LimitError
	var he *csvimport.HeaderError
	switch {
	case errors.As(err, &le):
		switch le.Err {
		case csvimport.ErrTooLarge:
			return http.StatusRequestEntityTooLarge, "too_large", "file",
				fmt.Sprintf("the file is larger than the limit of %s", formatBytes(le.Limit)), true
		case csvimport.ErrTooManyRows:
			return http.StatusRequestEntityTooLarge, "too_many_rows", "file",
				fmt.Sprintf("the file has more than the limit of %d rows", le.Limit), true
		case csvimport.ErrRecordTooLarge:
			return http.StatusRequestEntityTooLarge, "row_too_large", "file",
				fmt.Sprintf("the row at line %d is larger than the limit of %s", le.Line, formatBytes(le.Limit)), true
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
		return http.StatusUnprocessableEntity, "bad_header", field, msg, true
	case errors.Is(err, ErrBulkBadFormat):
		return http.StatusUnsupportedMediaType, "unsupported_media_type", "format",
			"the file must be CSV (text/csv) or JSON lines (application/x-ndjson)", true
	case errors.Is(err, ErrBulkBusy):
		return http.StatusTooManyRequests, "too_many_imports", "", "too many imports are running; try again later", true
	}
	return 0, "", "", "", false
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
