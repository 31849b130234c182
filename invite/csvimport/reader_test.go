package csvimport

import (
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

func readAll(t *testing.T, in string, cfg Config) ([]Record, error) {
	t.Helper()
	r, err := NewReader(strings.NewReader(in), cfg)
	if err != nil {
		return nil, err
	}
	var out []Record
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, rec)
	}
}

func TestCSV(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []Record
	}{
		{
			name: "all columns",
			in:   "email,first_name,last_name,roles,external_id,metadata.dept,metadata.Cost Center\nann@example.com,Ann,Lee,admin;member,ext-1,Sales,42\n",
			want: []Record{{Row: 1, Line: 2, Email: "ann@example.com", FirstName: "Ann", LastName: "Lee", Roles: []string{"admin", "member"}, ExternalID: "ext-1", Metadata: map[string]string{"dept": "Sales", "Cost Center": "42"}}},
		},
		{
			name: "BOM CRLF header case and order",
			in:   "\ufeffRoles, EMAIL \r\nmember,bob@example.com\r\n",
			want: []Record{{Row: 1, Line: 2, Email: "bob@example.com", Roles: []string{"member"}}},
		},
		{
			name: "quoted commas quotes and newline",
			in:   "email,first_name,last_name\n\"c@example.com\",\"Smith, Jr.\",\"O\"\"Neil\nSecond\"\nd@example.com,D,E\n",
			want: []Record{
				{Row: 1, Line: 2, Email: "c@example.com", FirstName: "Smith, Jr.", LastName: "O\"Neil\nSecond"},
				{Row: 2, Line: 4, Email: "d@example.com", FirstName: "D", LastName: "E"},
			},
		},
		{
			name: "empty lines and blank rows skipped",
			in:   "\n\nemail,roles\n\n , \ne@example.com,\n\n,\nf@example.com,\" admin ; ;member \"\n\n",
			want: []Record{
				{Row: 1, Line: 6, Email: "e@example.com"},
				{Row: 2, Line: 9, Email: "f@example.com", Roles: []string{"admin", "member"}},
			},
		},
		{
			name: "empty metadata cell sets nothing",
			in:   "email,metadata.team\ng@example.com,\n",
			want: []Record{{Row: 1, Line: 2, Email: "g@example.com"}},
		},
		{
			name: "header only",
			in:   "email\n",
			want: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readAll(t, tt.in, Config{})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got  %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

func TestCSVRowErrors(t *testing.T) {
	in := "email,first_name\nok1@example.com,A\nbad@example.com,A,extra\nx@example.com,\"unterminated\"x\nok2@example.com,B\n"
	got, err := readAll(t, in, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 {
		t.Fatalf("got %d records, want 4: %#v", len(got), got)
	}
	if got[0].Err != nil || got[3].Err != nil || got[3].Email != "ok2@example.com" {
		t.Fatalf("good rows: %#v %#v", got[0], got[3])
	}
	if got[1].Err == nil || got[1].Err.Code != "field_count" || got[1].Email != "bad@example.com" || got[1].Line != 3 {
		t.Fatalf("field count row: %#v", got[1])
	}
	if got[2].Err == nil || got[2].Err.Code != "malformed_csv" || got[2].Line != 4 {
		t.Fatalf("malformed row: %#v %v", got[2], got[2].Err)
	}
}

func TestHeaderErrors(t *testing.T) {
	tests := []struct {
		name, in, column, msg string
	}{
		{"empty input", "", "", "empty"},
		{"unknown column", "email,favourite_color\n", "favourite_color", "unknown column"},
		{"no email", "first_name\n", "", "no email column"},
		{"duplicate", "email,roles,EMAIL\n", "EMAIL", "duplicate column"},
		{"metadata without key", "email,metadata.\n", "metadata.", "needs a key"},
		{"empty column", "email,,roles\n", "", "empty column name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewReader(strings.NewReader(tt.in), Config{})
			var he *HeaderError
			if !errors.As(err, &he) || !errors.Is(err, ErrBadHeader) {
				t.Fatalf("err = %v, want *HeaderError", err)
			}
			if he.Column != tt.column || !strings.Contains(he.Error(), tt.msg) {
				t.Fatalf("column %q message %q, want column %q containing %q", he.Column, he.Error(), tt.column, tt.msg)
			}
			if tt.column != "" && !strings.Contains(he.Error(), tt.column) {
				t.Fatalf("message %q does not name the column", he.Error())
			}
		})
	}
}

func TestLimits(t *testing.T) {
	t.Run("max bytes exact is fine", func(t *testing.T) {
		in := "email\na@example.com\n"
		got, err := readAll(t, in, Config{MaxBytes: int64(len(in))})
		if err != nil || len(got) != 1 {
			t.Fatalf("got %v, %v", got, err)
		}
	})
	t.Run("max bytes exceeded", func(t *testing.T) {
		in := "email\na@example.com\nb@example.com\n"
		_, err := readAll(t, in, Config{MaxBytes: int64(len(in) - 1)})
		var le *LimitError
		if !errors.Is(err, ErrTooLarge) || !errors.As(err, &le) || le.Limit != int64(len(in)-1) {
			t.Fatalf("err = %v, want ErrTooLarge", err)
		}
		if !strings.Contains(err.Error(), "larger than the limit of") {
			t.Fatalf("unclear message %q", err)
		}
	})
	t.Run("max rows", func(t *testing.T) {
		in := "email\n\na@example.com\nb@example.com\n\nc@example.com\n"
		checkSkipMatchesNext(t, in, Config{MaxRows: 2})
		got, err := readAll(t, in, Config{MaxRows: 2})
		if !errors.Is(err, ErrTooManyRows) || len(got) != 2 {
			t.Fatalf("got %d rows, err %v", len(got), err)
		}
		var le *LimitError
		if !errors.As(err, &le) || le.Line != 6 {
			t.Fatalf("limit error %#v", le)
		}
	})
	t.Run("unlimited rows", func(t *testing.T) {
		in := "email\na@example.com\nb@example.com\nc@example.com\n"
		got, err := readAll(t, in, Config{MaxRows: -1, MaxBytes: -1})
		if err != nil || len(got) != 3 {
			t.Fatalf("got %d rows, err %v", len(got), err)
		}
	})
	t.Run("record too large csv", func(t *testing.T) {
		in := "email,first_name\na@example.com,A\nb@example.com," + strings.Repeat("x", 200) + "\n"
		got, err := readAll(t, in, Config{MaxRecordBytes: 100})
		if !errors.Is(err, ErrRecordTooLarge) || len(got) != 1 {
			t.Fatalf("got %d rows, err %v", len(got), err)
		}
	})
	t.Run("record too large huge unterminated quote stays bounded", func(t *testing.T) {
		src := io.MultiReader(strings.NewReader("email\n\""), &repeatReader{b: 'x', n: 10 << 20})
		r, err := NewReader(src, Config{MaxRecordBytes: 1024, MaxBytes: -1})
		if err != nil {
			t.Fatal(err)
		}
		_, err = r.Next()
		if !errors.Is(err, ErrRecordTooLarge) {
			t.Fatalf("err = %v", err)
		}
		if r.BytesRead() > 4*bufSize {
			t.Fatalf("read %d bytes before stopping", r.BytesRead())
		}
	})
	t.Run("record too large jsonl", func(t *testing.T) {
		in := `{"email":"a@example.com"}` + "\n" + `{"email":"` + strings.Repeat("x", 200) + `"}` + "\n"
		got, err := readAll(t, in, Config{Format: FormatJSONL, MaxRecordBytes: 100})
		var le *LimitError
		if !errors.Is(err, ErrRecordTooLarge) || len(got) != 1 || !errors.As(err, &le) || le.Line != 2 {
			t.Fatalf("got %d rows, err %v", len(got), err)
		}
	})
	t.Run("bad format", func(t *testing.T) {
		_, err := NewReader(strings.NewReader(""), Config{Format: "xlsx"})
		if !errors.Is(err, ErrBadFormat) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("semicolon separated", func(t *testing.T) {
		got, err := readAll(t, "email;roles\na@example.com;admin\n", Config{Comma: ';'})
		if err != nil || len(got) != 1 || got[0].Roles[0] != "admin" {
			t.Fatalf("got %#v, %v", got, err)
		}
	})
}

// repeatReader yields n copies of b without allocating them.
type repeatReader struct {
	b byte
	n int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.EOF
	}
	if len(p) > r.n {
		p = p[:r.n]
	}
	for i := range p {
		p[i] = r.b
	}
	r.n -= len(p)
	return len(p), nil
}

func TestJSONL(t *testing.T) {
	yes, no := true, false
	in := "\ufeff" + `{"email":"a@example.com","externalId":"e1","roles":["admin"," "],"metadata":{"k":"v"},"userProfile":{"firstName":"A","lastName":"B","locale":"de","metadata":{"p":"q"},"customAttributes":{"c":"d"}}}` + "\r\n" +
		"\n" +
		`{"email":"b@example.com","sendActivationEmail":false}` + "\n" +
		`{"email":"c@example.com","sendInvitationEmail":true}` + "\n" +
		`{"email":"d@example.com","color":"red"}` + "\n" +
		`{"email":"e@example.com","roles":"admin"}` + "\n" +
		`{"email": ` + "\n" +
		`["not","an","object"]` + "\n" +
		`{"email":"f@example.com"} {"email":"g@example.com"}` + "\n" +
		`{"email":"h@example.com","sendInvitationEmail":true,"sendActivationEmail":false}` // no final newline
	got, err := readAll(t, in, Config{Format: FormatJSONL})
	if err != nil {
		t.Fatal(err)
	}
	want := []Record{
		{Row: 1, Line: 1, Email: "a@example.com", ExternalID: "e1", Roles: []string{"admin"}, Metadata: map[string]string{"k": "v"}, FirstName: "A", LastName: "B", Locale: "de", ProfileMetadata: map[string]string{"p": "q"}, CustomAttributes: map[string]string{"c": "d"}},
		{Row: 2, Line: 3, Email: "b@example.com", SendInvitationEmail: &no},
		{Row: 3, Line: 4, Email: "c@example.com", SendInvitationEmail: &yes},
	}
	if !reflect.DeepEqual(got[:3], want) {
		t.Fatalf("got  %#v\nwant %#v", got[:3], want)
	}
	errs := []struct {
		email, field, code string
	}{
		{"d@example.com", "color", "unknown_field"},
		{"e@example.com", "roles", "invalid_type"},
		{"", "", "invalid_json"},
		{"", "", "invalid_json"},
		{"f@example.com", "", "invalid_json"},
		{"h@example.com", "sendInvitationEmail", "invalid_value"},
	}
	if len(got) != 3+len(errs) {
		t.Fatalf("got %d records", len(got))
	}
	for i, e := range errs {
		rec := got[3+i]
		if rec.Err == nil || rec.Err.Code != e.code || rec.Err.Field != e.field || rec.Email != e.email {
			t.Errorf("row %d: %#v err %#v, want %+v", rec.Row, rec, rec.Err, e)
		}
	}
}

func TestSplitRoles(t *testing.T) {
	tests := map[string][]string{
		"":                 nil,
		" ; ":              nil,
		"admin":            {"admin"},
		"admin;member":     {"admin", "member"},
		" admin , member;": {"admin", "member"},
	}
	for in, want := range tests {
		if got := SplitRoles(in); !reflect.DeepEqual(got, want) {
			t.Errorf("SplitRoles(%q) = %#v, want %#v", in, got, want)
		}
	}
}
