package csvimport

import (
	"errors"
	"io"
	"strings"
	"testing"
)

const fuzzHeader = "email,first_name,last_name,roles,external_id,metadata.team\n"

// FuzzParseCSVRow feeds one arbitrary data row under a full header.
func FuzzParseCSVRow(f *testing.F) {
	for _, s := range []string{
		"ann@example.com,Ann,Lee,admin;member,ext-1,sales",
		"\"a,b\"@example.com,\"x\"\"y\",,;;,,",
		"bad,row",
		"\"unterminated",
		"a@example.com,,,,,\r\n\r\n",
		"\xef\xbb\xbf,,,,,",
		"\x00\xff,é,\u2028,,,",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, row string) {
		r, err := NewReader(strings.NewReader(fuzzHeader+row), Config{MaxRecordBytes: 4096})
		if err != nil {
			t.Fatalf("header refused: %v", err)
		}
		n := 0
		for {
			rec, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				if !errors.Is(err, ErrRecordTooLarge) {
					t.Fatalf("unexpected fatal error %v", err)
				}
				break
			}
			n++
			checkRecord(t, rec)
		}
		if n > strings.Count(row, "\n")+1 {
			t.Fatalf("%d records from %d lines", n, strings.Count(row, "\n")+1)
		}
	})
}

// FuzzReaderCSV feeds arbitrary whole inputs (header included).
func FuzzReaderCSV(f *testing.F) {
	f.Add("email\na@example.com\n")
	f.Add("\ufeffEMAIL,metadata.x\r\n\"q,\"\"\",1\r\n")
	f.Add("roles\n")
	f.Add("email,unknown\n")
	f.Fuzz(func(t *testing.T, in string) {
		checkSkipMatchesNext(t, in, Config{MaxBytes: 1 << 16, MaxRows: 50, MaxRecordBytes: 1024})
		r, err := NewReader(strings.NewReader(in), Config{MaxBytes: 1 << 16, MaxRows: 50, MaxRecordBytes: 1024})
		if err != nil {
			if !errors.Is(err, ErrBadHeader) && !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrRecordTooLarge) {
				t.Fatalf("unexpected NewReader error %v", err)
			}
			return
		}
		for i := 0; ; i++ {
			rec, err := r.Next()
			if err == io.EOF {
				return
			}
			if err != nil {
				var le *LimitError
				if !errors.As(err, &le) {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if rec.Row != i+1 || i >= 50 {
				t.Fatalf("row %d at index %d", rec.Row, i)
			}
			checkRecord(t, rec)
		}
	})
}

// FuzzReaderJSONL feeds arbitrary JSON-lines inputs.
func FuzzReaderJSONL(f *testing.F) {
	f.Add(`{"email":"a@example.com","roles":["admin"]}` + "\n")
	f.Add(`{"email":1}` + "\n[]\n{}")
	f.Fuzz(func(t *testing.T, in string) {
		checkSkipMatchesNext(t, in, Config{Format: FormatJSONL, MaxRows: 50, MaxRecordBytes: 1024})
		r, err := NewReader(strings.NewReader(in), Config{Format: FormatJSONL, MaxRecordBytes: 1024})
		if err != nil {
			t.Fatal(err)
		}
		for {
			rec, err := r.Next()
			if err != nil {
				return
			}
			checkRecord(t, rec)
		}
	})
}

func checkRecord(t *testing.T, rec Record) {
	t.Helper()
	if rec.Line < 1 || rec.Row < 1 {
		t.Fatalf("bad position %#v", rec)
	}
	if rec.Err != nil {
		if rec.Err.Code == "" || rec.Err.Message == "" {
			t.Fatalf("row error without code or message: %#v", rec.Err)
		}
		return
	}
	for _, s := range []string{rec.Email, rec.FirstName, rec.LastName, rec.ExternalID} {
		if s != strings.TrimSpace(s) {
			t.Fatalf("untrimmed value %q", s)
		}
	}
	for _, role := range rec.Roles {
		if role == "" || role != strings.TrimSpace(role) {
			t.Fatalf("bad role %q in %#v", role, rec.Roles)
		}
	}
}

// checkSkipMatchesNext checks that the fast first pass (Skip) sees the
// same rows and the same fatal error as Next.
func checkSkipMatchesNext(t *testing.T, in string, cfg Config) {
	t.Helper()
	count := func(skip bool) (int, error) {
		r, err := NewReader(strings.NewReader(in), cfg)
		if err != nil {
			return 0, err
		}
		for n := 0; ; n++ {
			if skip {
				err = r.Skip()
			} else {
				_, err = r.Next()
			}
			if err == io.EOF {
				return n, nil
			}
			if err != nil {
				return n, err
			}
		}
	}
	n1, err1 := count(true)
	n2, err2 := count(false)
	if n1 != n2 || (err1 == nil) != (err2 == nil) || (err1 != nil && err1.Error() != err2.Error()) {
		t.Fatalf("Skip: %d rows, %v; Next: %d rows, %v", n1, err1, n2, err2)
	}
}
