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

// TestBulkDuplicatesAcrossSpills: with a duplicate check that keeps 50
// values in memory (so it spills a run every 50 rows) and a filter of one
// block (every lookup reads the runs), each duplicate email and external
// id is reported with the row that first used it, however many runs
// before, and every other row is created.
func TestBulkDuplicatesAcrossSpills(t *testing.T) {
	defer invite.SetBulkSeenLimits(50, 64)()
	defer invite.SetBulkSpoolMemLimit(1 << 10)()
	const rows = 2000
	email := func(i int) string { // 0-based row index → its email
		if i >= 300 && i%7 == 0 {
			return fmt.Sprintf("u%d@example.com", i-250-i%3) // an earlier row's
		}
		return fmt.Sprintf("u%d@example.com", i)
	}
	ext := func(i int) string {
		if i >= 300 && i%11 == 0 && i%7 != 0 {
			return fmt.Sprintf("ext%d", i-290)
		}
		return fmt.Sprintf("ext%d", i)
	}
	src := &rowSource{Header: "email,external_id\n", N: rows, Row: func(i int) string { return email(i) + "," + ext(i) + "\n" }}
	dir := t.TempDir()
	e := newEnv(t, memstore.New(), nil)
	e.Org(t, "org_a")
	rep, err := e.Svc.BulkInvite(context.Background(), "org_a", src, invite.BulkOptions{BatchSize: 40, TempDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer rep.Close()
	// The expected first rows, from a map.
	firstEmail, firstExt := map[string]int{}, map[string]int{}
	var dups, extDups int
	n := 0
	for r, err := range rep.Results() {
		if err != nil {
			t.Fatal(err)
		}
		i := n
		n++
		em, ex := email(i), ext(i)
		if f, ok := firstEmail[em]; ok {
			dups++
			if r.Status != invite.BulkDuplicateInFile || r.Reason != fmt.Sprintf("duplicate in file: row %d has the same email", f) {
				t.Fatalf("row %d (%s): %+v, want a duplicate of row %d", r.Row, em, r, f)
			}
			continue
		}
		firstEmail[em] = r.Row
		if f, ok := firstExt[ex]; ok {
			extDups++
			if r.Status != invite.BulkInvalid || r.Reason != fmt.Sprintf("duplicate in file: row %d has the same external id", f) {
				t.Fatalf("row %d (%s): %+v, want a duplicate of row %d", r.Row, ex, r, f)
			}
			continue
		}
		firstExt[ex] = r.Row
		if r.Status != invite.BulkCreated {
			t.Fatalf("row %d: %+v", r.Row, r)
		}
	}
	if n != rows || dups < 150 || extDups < 100 || rep.Summary.DuplicateInFile != dups {
		t.Fatalf("%d results, %d duplicate emails, %d duplicate external ids, summary %+v", n, dups, extDups, rep.Summary)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "invitekit-bulk-seen-*")); len(left) != 0 {
		t.Fatalf("files left: %v", left)
	}
}
