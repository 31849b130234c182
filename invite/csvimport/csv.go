package csvimport

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
)

type colKind int

const (
	colEmail colKind = iota
	colFirstName
	colLastName
	colName
	colLocale
	colPhone
	colRoles
	colExternalID
	colMetadata
)

// column is one parsed header cell.
type column struct {
	kind colKind
	name string // canonical name as reported in RowError.Field
	key  string // metadata key for colMetadata
}

// Columns are the fixed CSV columns (besides metadata.<key>).
var knownColumns = map[string]colKind{
	"email":        colEmail,
	"first_name":   colFirstName,
	"last_name":    colLastName,
	"name":         colName,
	"locale":       colLocale,
	"phone_number": colPhone,
	"roles":        colRoles,
	"external_id":  colExternalID,
}

const metadataPrefix = "metadata."

// parseHeader parses a CSV header row into columns.
func parseHeader(fields []string) ([]column, error) {
	if len(fields) == 0 || (len(fields) == 1 && strings.TrimSpace(fields[0]) == "") {
		return nil, &HeaderError{Index: -1, Message: "the first row must be a header naming the columns (email, first_name, last_name, roles, external_id, metadata.<key>)"}
	}
	cols := make([]column, len(fields))
	seen := make(map[string]int, len(fields))
	hasEmail := false
	for i, raw := range fields {
		f := strings.TrimSpace(raw)
		lower := strings.ToLower(f)
		var c column
		switch {
		case strings.HasPrefix(lower, metadataPrefix):
			key := strings.TrimSpace(f[len(metadataPrefix):])
			if key == "" {
				return nil, &HeaderError{Column: raw, Index: i, Message: "metadata column needs a key after \"metadata.\""}
			}
			c = column{kind: colMetadata, name: metadataPrefix + key, key: key}
		default:
			k, ok := knownColumns[lower]
			if !ok {
				if f == "" {
					return nil, &HeaderError{Column: raw, Index: i, Message: "empty column name"}
				}
				return nil, &HeaderError{Column: raw, Index: i, Message: "unknown column (known: email, first_name, last_name, name, locale, phone_number, roles, external_id, metadata.<key>)"}
			}
			c = column{kind: k, name: lower}
			if k == colEmail {
				hasEmail = true
			}
		}
		if j, dup := seen[c.name]; dup {
			return nil, &HeaderError{Column: raw, Index: i, Message: fmt.Sprintf("duplicate column (also column %d)", j+1)}
		}
		seen[c.name] = i
		cols[i] = c
	}
	if !hasEmail {
		return nil, &HeaderError{Index: -1, Message: "no email column"}
	}
	return cols, nil
}

func (r *Reader) readHeader() error {
	for {
		fields, err := r.csv.Read()
		if err == io.EOF {
			return &HeaderError{Index: -1, Message: "the input is empty: the first row must be a header naming the columns"}
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return &HeaderError{Index: -1, Message: "malformed header row: " + pe.Err.Error()}
			}
			return err
		}
		r.markRecordStart(r.csv.InputOffset())
		r.lastLine, _ = r.csv.FieldPos(0)
		if blank(fields) {
			continue
		}
		cols, err := parseHeader(fields)
		if err != nil {
			return err
		}
		r.cols = cols
		return nil
	}
}

func blank(fields []string) bool {
	for _, f := range fields {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

func (r *Reader) skipCSV() (int, error) {
	rec, err := r.nextCSV(true)
	return rec.Line, err
}

// nextCSV reads the next non-blank record; with skip it only fills
// Record.Line.
func (r *Reader) nextCSV(skip bool) (Record, error) {
	for {
		start := r.csv.InputOffset()
		fields, err := r.csv.Read()
		end := r.csv.InputOffset()
		r.markRecordStart(end)
		if err == nil && r.cfg.MaxRecordBytes > 0 && end-start > r.cfg.MaxRecordBytes {
			line, _ := r.csv.FieldPos(0)
			return Record{}, &LimitError{Err: ErrRecordTooLarge, Limit: r.cfg.MaxRecordBytes, Line: line}
		}
		if err == io.EOF {
			return Record{}, io.EOF
		}
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return Record{}, err // source or limit error: fatal
			}
			return Record{Line: pe.StartLine, Err: &RowError{Code: "malformed_csv", Message: fmt.Sprintf("malformed CSV at line %d, column %d: %v", pe.Line, pe.Column, pe.Err)}}, nil
		}
		line, _ := r.csv.FieldPos(0) // err == nil: at least one field
		r.lastLine = line
		if blank(fields) {
			continue
		}
		if skip {
			return Record{Line: line}, nil
		}
		return parseRow(r.cols, fields, line), nil
	}
}

// parseRow maps one CSV record onto a Record. It never fails as a whole:
// problems are reported in Record.Err.
func parseRow(cols []column, fields []string, line int) Record {
	rec := Record{Line: line}
	if len(fields) != len(cols) {
		rec.Err = &RowError{Code: "field_count", Message: fmt.Sprintf("row has %d fields, the header has %d", len(fields), len(cols))}
		// Still read the email (if there) so the result names the person.
		for i, c := range cols {
			if c.kind == colEmail && i < len(fields) {
				rec.Email = strings.Clone(strings.TrimSpace(fields[i]))
			}
		}
		return rec
	}
	for i, c := range cols {
		// Not cloned: encoding/csv makes one string of a record's unquoted
		// cells and the fields are its slices (ReuseRecord reuses only the
		// slice of fields), so the values share that one allocation, which
		// is no larger than copies of the cells would be.
		v := strings.TrimSpace(fields[i])
		if v == "" {
			continue
		}
		switch c.kind {
		case colEmail:
			rec.Email = v
		case colFirstName:
			rec.FirstName = v
		case colLastName:
			rec.LastName = v
		case colName:
			rec.Name = v
		case colLocale:
			rec.Locale = v
		case colPhone:
			rec.PhoneNumber = v
		case colExternalID:
			rec.ExternalID = v
		case colRoles:
			rec.Roles = SplitRoles(v)
		case colMetadata:
			if rec.Metadata == nil {
				rec.Metadata = make(map[string]string)
			}
			rec.Metadata[c.key] = v
		}
	}
	return rec
}

// SplitRoles splits a roles cell on ';' (a ',' inside a quoted cell is
// accepted too), trims each name and drops empty ones. It returns nil when
// no name is left.
func SplitRoles(s string) []string {
	if strings.IndexAny(s, ";,") < 0 { // one role: the common cell
		if p := strings.TrimSpace(s); p != "" {
			return []string{p}
		}
		return nil
	}
	var out []string
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == ',' }) {
		if p := strings.TrimSpace(part); p != "" {
			out = append(out, p)
		}
	}
	return out
}
