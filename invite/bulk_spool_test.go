package invite_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/store/memstore"
)

// TestBulkResultsSpool: the results of an import leave memory as they
// settle: past the in-memory limit they are in a file in TempDir, every
// output streams them back in row order, a duplicate of a row settled
// long before is still found (its value is read back from the file), and
// Close removes the file.
func TestBulkResultsSpool(t *testing.T) {
	defer invite.SetBulkSpoolMemLimit(1 << 10)()
	const rows = 3000
	src := &rowSource{Header: "email,external_id\n", N: rows, Row: func(i int) string {
		switch i {
		case 1999: // row 2000: the email of row 3
			return "dup2@example.com,ext-x\n"
		case 2499: // row 2500: the external id of row 5
			return "other@example.com,ext4\n"
		}
		return fmt.Sprintf("dup%d@example.com,ext%d\n", i, i)
	}}
	dir := t.TempDir()
	e := newEnv(t, memstore.New(), nil)
	e.Org(t, "org_a")
	rep, err := e.Svc.BulkInvite(context.Background(), "org_a", src, invite.BulkOptions{BatchSize: 100, TempDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	spools, _ := filepath.Glob(filepath.Join(dir, "invitekit-bulk-results-*"))
	if len(spools) != 1 {
		t.Fatalf("spool files %v, want one", spools)
	}
	if s := rep.Summary; s.Rows != rows || s.Created != rows-2 || s.DuplicateInFile != 1 || s.Invalid != 1 {
		t.Fatalf("summary %+v", s)
	}
	n := 0
	for r, err := range rep.Results() {
		if err != nil {
			t.Fatal(err)
		}
		n++
		if r.Row != n {
			t.Fatalf("result %d is row %d", n, r.Row)
		}
		switch r.Row {
		case 2000:
			if r.Status != invite.BulkDuplicateInFile || !strings.Contains(r.Reason, "row 3 ") {
				t.Fatalf("row 2000: %+v", r)
			}
		case 2500:
			if r.Status != invite.BulkInvalid || r.Code != "external_id_taken" || !strings.Contains(r.Reason, "row 5 ") {
				t.Fatalf("row 2500: %+v", r)
			}
		default:
			if r.Status != invite.BulkCreated {
				t.Fatalf("row %d: %+v", r.Row, r)
			}
		}
	}
	if n != rows {
		t.Fatalf("%d results", n)
	}
	var csvOut, jsonOut bytes.Buffer
	if err := rep.WriteCSV(&csvOut); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(csvOut.String(), "\n"); lines != rows+1 {
		t.Fatalf("CSV has %d lines", lines)
	}
	if err := rep.WriteJSON(&jsonOut); err != nil {
		t.Fatal(err)
	}
	var back struct{ Results []invite.BulkRowResult }
	if err := json.Unmarshal(jsonOut.Bytes(), &back); err != nil || len(back.Results) != rows || back.Results[1999].Status != invite.BulkDuplicateInFile {
		t.Fatalf("JSON: %v, %d results", err, len(back.Results))
	}
	if err := rep.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(spools[0]); !os.IsNotExist(err) {
		t.Fatalf("spool file left after Close: %v", err)
	}
	for _, err := range rep.Results() {
		if err == nil {
			t.Fatal("results read after Close")
		}
	}
	if err := rep.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}
