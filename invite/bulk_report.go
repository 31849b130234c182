package invite

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"strconv"
	"time"
)

// BulkReportCSVHeader is the header row WriteCSV writes.
var bulkReportCSVHeader = []string{"row", "line", "email", "status", "membership_status", "user_id", "code", "field", "reason"}

// Results streams the row results in input order, from the report's
// spool. If the spool cannot be read, it yields one zero result with the
// error and stops.
func (r *BulkReport) Results() iter.Seq2[BulkRowResult, error] {
	return func(yield func(BulkRowResult, error) bool) {
		if r.results == nil {
			return
		}
		stopped := false
		err := r.results.each(func(res BulkRowResult, _ string) bool {
			stopped = !yield(res, nil)
			return !stopped
		})
		if err != nil && !stopped {
			yield(BulkRowResult{}, err)
		}
	}
}

// Collect reads every row result into memory: for small reports and tests
// (a million rows take about 200 MB this way; stream Results instead).
func (r *BulkReport) Collect() ([]BulkRowResult, error) {
	out := make([]BulkRowResult, 0, r.Summary.Rows)
	for res, err := range r.Results() {
		if err != nil {
			return out, err
		}
		out = append(out, res)
	}
	return out, nil
}

// Close removes the report's spool file; the results cannot be read
// afterwards (a reader that already started finishes). It is idempotent.
func (r *BulkReport) Close() error {
	if r == nil || r.results == nil {
		return nil
	}
	return r.results.close()
}

// WriteCSV writes one line per row result, with a header row:
// row, line, email, status, membership_status, user_id, code, field, reason.
// Cells that a spreadsheet would run as a formula (starting with =, +, -,
// @, tab or CR) are prefixed with a single quote. The results are streamed
// from the spool.
func (r *BulkReport) WriteCSV(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 32<<10)
	cw := csv.NewWriter(bw)
	if err := cw.Write(bulkReportCSVHeader); err != nil {
		return err
	}
	rec := make([]string, len(bulkReportCSVHeader))
	for res, err := range r.Results() {
		if err != nil {
			return err
		}
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
// BulkReport's json tags, with the results as "results"), streaming the
// results from the spool: no copy of them is held in memory.
func (r *BulkReport) WriteJSON(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 32<<10)
	if err := r.writeJSON(bw); err != nil {
		return err
	}
	bw.WriteByte('\n')
	return bw.Flush()
}

// WriteJSONValue writes the report as WriteJSON does but without the final
// newline, to embed it in a larger JSON value (say, one line of an NDJSON
// stream), streaming the results in the same way.
func (r *BulkReport) WriteJSONValue(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 32<<10)
	if err := r.writeJSON(bw); err != nil {
		return err
	}
	return bw.Flush()
}

func (r *BulkReport) writeJSON(bw *bufio.Writer) error {
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
	first := true
	for res, err := range r.Results() {
		if err != nil {
			return err
		}
		if !first {
			bw.WriteByte(',')
		}
		first = false
		b, err := json.Marshal(res)
		if err != nil {
			return fmt.Errorf("invite: encode report: %w", err)
		}
		if _, err := bw.Write(b); err != nil {
			return err
		}
	}
	_, err = bw.WriteString("]}")
	return err
}

// MarshalJSON encodes the report as WriteJSON does, in memory: use
// WriteJSON for large reports.
func (r *BulkReport) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	bw := bufio.NewWriter(&buf)
	if err := r.writeJSON(bw); err != nil {
		return nil, err
	}
	if err := bw.Flush(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// UnmarshalJSON decodes a report written by WriteJSON (a client of the
// bulk API, say); its results are spooled as an import's are.
func (r *BulkReport) UnmarshalJSON(b []byte) error {
	var v struct {
		OrganizationID string          `json:"organizationId"`
		DryRun         bool            `json:"dryRun"`
		Format         string          `json:"format"`
		Summary        BulkSummary     `json:"summary"`
		Results        []BulkRowResult `json:"results"`
		StartTime      time.Time       `json:"startTime"`
		EndTime        time.Time       `json:"endTime"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	r.Close()
	*r = BulkReport{OrganizationID: v.OrganizationID, DryRun: v.DryRun, Format: v.Format, Summary: v.Summary,
		StartTime: v.StartTime, EndTime: v.EndTime, results: newResultSpool("")}
	for i := range v.Results {
		if err := r.results.appendResult(&v.Results[i], ""); err != nil {
			return err
		}
	}
	return r.results.finish()
}
