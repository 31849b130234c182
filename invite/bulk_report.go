package invite

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"
)

// BulkReportCSVHeader is the header row WriteCSV writes.
var bulkReportCSVHeader = []string{"row", "line", "email", "status", "membership_status", "user_id", "code", "field", "reason"}

// WriteCSV writes one line per row result, with a header row:
// row, line, email, status, membership_status, user_id, code, field, reason.
// Cells that a spreadsheet would run as a formula (starting with =, +, -,
// @, tab or CR) are prefixed with a single quote.
func (r *BulkReport) WriteCSV(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 32<<10)
	cw := csv.NewWriter(bw)
	if err := cw.Write(bulkReportCSVHeader); err != nil {
		return err
	}
	rec := make([]string, len(bulkReportCSVHeader))
	for _, res := range r.Results {
		rec[0] = strconv.Itoa(res.Row)
		rec[1] = strconv.Itoa(res.Line)
		rec[2] = safeCell(res.Email)
		rec[3] = string(res.Status)
		rec[4] = string(res.MembershipStatus)
		rec[5] = res.UserID
		rec[6] = res.Code
		rec[7] = safeCell(res.Field)
		rec[8] = safeCell(res.Reason)
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return bw.Flush()
}

// safeCell defuses spreadsheet formula injection.
func safeCell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}

// WriteJSON writes the report as one JSON object (the shape of
// BulkReport's json tags), streaming the results so that a large report
// needs no second copy in memory.
func (r *BulkReport) WriteJSON(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 32<<10)
	head := struct {
		OrganizationID string      `json:"organizationId"`
		DryRun         bool        `json:"dryRun"`
		Format         string      `json:"format"`
		Summary        BulkSummary `json:"summary"`
		StartTime      time.Time   `json:"startTime"`
		EndTime        time.Time   `json:"endTime"`
	}{r.OrganizationID, r.DryRun, r.Format, r.Summary, r.StartTime, r.EndTime}
	b, err := json.Marshal(head)
	if err != nil {
		return fmt.Errorf("invite: encode report: %w", err)
	}
	bw.Write(b[:len(b)-1]) // without the closing brace
	bw.WriteString(`,"results":[`)
	for i, res := range r.Results {
		if i > 0 {
			bw.WriteByte(',')
		}
		b, err := json.Marshal(res)
		if err != nil {
			return fmt.Errorf("invite: encode report: %w", err)
		}
		if _, err := bw.Write(b); err != nil {
			return err
		}
	}
	bw.WriteString("]}\n")
	return bw.Flush()
}
