package csvimport

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestBadJSONText(t *testing.T) {
	tests := []struct {
		in   string
		path string
		key  bool
		bad  bool
	}{
		{`{"email":"a@b.co","userProfile":{"firstName":"José"}}`, "", false, false},
		{`{"email":"a@b.co","userProfile":{"firstName":"Jos\u00e9 \ud83d\ude00"}}`, "", false, false}, // escapes, a paired surrogate
		{`{"note":"\\ud800 is only text here"}`, "", false, false},                                    // an escaped backslash
		{"{\"email\":\"a@b.co\",\"userProfile\":{\"firstName\":\"Jos\xe9\"}}", "userProfile.firstName", false, true},
		{"{\"metadata\":{\"plan\":\"\xc0\xaf\"}}", "metadata.plan", false, true},
		{"{\"roles\":[\"member\",\"\xed\xa0\x80\"]}", "roles[1]", false, true},
		{"{\"userProfile\":{\"metadata\":{\"k\xffey\":\"v\"}}}", "userProfile.metadata", true, true},
		{"{\"em\xe9il\":\"a@b.co\"}", "", true, true},
		{`{"email":"a@b.co","metadata":{"plan":"x\ud800"}}`, "metadata.plan", false, true},    // unpaired high surrogate
		{`{"email":"a@b.co","metadata":{"plan":"\udc00x"}}`, "metadata.plan", false, true},    // a low surrogate alone
		{`{"a":[[1,{"b":"\ud800\u0041"}]]}`, "a[0][1].b", false, true},                        // high, then no low
		{"{\"a\":[{\"x\":1},{\"y\":[true,null,\"ok\",\"\xff\"]}]}", "a[1].y[3]", false, true}, // indices after containers
		{"{\"email\":\xff}", "", false, false},                                                // not JSON: decoding says so
	}
	for _, tt := range tests {
		path, key, bad := BadJSONText([]byte(tt.in))
		if path != tt.path || key != tt.key || bad != tt.bad {
			t.Errorf("BadJSONText(%q) = %q, %v, %v; want %q, %v, %v", tt.in, path, key, bad, tt.path, tt.key, tt.bad)
		}
		// What it accepts, encoding/json decodes without replacing anything.
		var v any
		if !bad && json.Unmarshal([]byte(tt.in), &v) == nil {
			b, _ := json.Marshal(v)
			if strings.Contains(string(b), "\ufffd") {
				t.Errorf("BadJSONText(%q) accepted text that decodes with U+FFFD", tt.in)
			}
		}
	}
}

func TestUnknownJSONField(t *testing.T) {
	type profile struct {
		FirstName string            `json:"firstName"`
		Metadata  map[string]string `json:"metadata"`
	}
	type req struct {
		Email   string            `json:"email"`
		Profile *profile          `json:"userProfile"`
		Roles   []string          `json:"roles"`
		Meta    map[string]string `json:"metadata"`
		Secret  string            `json:"-"`
	}
	rt := reflect.TypeFor[req]()
	tests := []struct {
		in, path string
		ok       bool
	}{
		{`{"email":"a","userProfile":{"firstName":"A","metadata":{"anything":"x"}},"roles":["a"],"metadata":{"k":"v"}}`, "", false},
		{`{"EMAIL":"a","UserProfile":{"FIRSTNAME":"A"}}`, "", false}, // case-insensitive, as encoding/json
		{`{"email":"a","userProfile":{"firstName":"A","nickname":"n"}}`, "userProfile.nickname", true},
		{`{"roles":["a"],"colour":"red"}`, "colour", true},
		{`{"metadata":{"x":"y"},"userProfile":null,"Secret":"s"}`, "Secret", true},
		{`{"userProfile":{"metadata":{"k":"v"}},"roles":[],"z":{"deep":[1]}}`, "z", true},
	}
	for _, tt := range tests {
		path, ok := UnknownJSONField([]byte(tt.in), rt)
		if path != tt.path || ok != tt.ok {
			t.Errorf("UnknownJSONField(%s) = %q, %v; want %q, %v", tt.in, path, ok, tt.path, tt.ok)
		}
	}
}

func TestJSONLFullPathsAndRawUTF8(t *testing.T) {
	in := `{"email":"a@example.com","userProfile":{"firstName":"A","nickname":"n"}}` + "\n" +
		"{\"email\":\"b@example.com\",\"userProfile\":{\"lastName\":\"L\xe9e\"}}\n" +
		"{\"email\":\"c@example.com\",\"metadata\":{\"plan\":\"\xc0\xaf\"}}\n" +
		`{"email":"d@example.com","metadata":{"plan":"x\ud800"}}` + "\n" +
		`{"email":"e@example.com","metadata":{"plan":"ok"}}` + "\n"
	got, err := readAll(t, in, Config{Format: FormatJSONL})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ email, field, code string }{
		{"a@example.com", "userProfile.nickname", "unknown_field"},
		{"b@example.com", "userProfile.lastName", "invalid_utf8"},
		{"c@example.com", "metadata.plan", "invalid_utf8"},
		{"d@example.com", "metadata.plan", "invalid_utf8"},
	}
	if len(got) != len(want)+1 {
		t.Fatalf("got %d records", len(got))
	}
	for i, w := range want {
		rec := got[i]
		if rec.Err == nil || rec.Err.Field != w.field || rec.Err.Code != w.code || rec.Email != w.email || rec.Metadata != nil {
			t.Errorf("row %d: %+v err %+v, want %+v", i+1, rec, rec.Err, w)
		}
	}
	if last := got[len(want)]; last.Err != nil || last.Metadata["plan"] != "ok" {
		t.Errorf("clean row: %+v %+v", last, last.Err)
	}
}

func TestMistypedJSONValue(t *testing.T) {
	tests := []struct {
		in, path string
		ok       bool
	}{
		{`{"email":"a","metadata":{"plan":"x"},"roles":["a"],"userProfile":null,"sendInvitationEmail":true}`, "", false},
		{`{"email":"a","metadata":{"plan":1}}`, "metadata.plan", true},
		{`{"roles":["a",{"id":1}]}`, "roles[1]", true},
		{`{"roles":"admin"}`, "roles", true},
		{`{"userProfile":{"firstName":7}}`, "userProfile.firstName", true},
		{`{"sendInvitationEmail":"yes"}`, "sendInvitationEmail", true},
		{`{"metadata":{"a":"b","c":["d"]}}`, "metadata.c", true},
	}
	for _, tt := range tests {
		path, ok := MistypedJSONValue([]byte(tt.in), jsonRecordType)
		if path != tt.path || ok != tt.ok {
			t.Errorf("MistypedJSONValue(%s) = %q, %v; want %q, %v", tt.in, path, ok, tt.path, tt.ok)
		}
	}
	got, err := readAll(t, `{"email":"a@example.com","metadata":{"plan":1}}`+"\n", Config{Format: FormatJSONL})
	if err != nil || len(got) != 1 || got[0].Err == nil || got[0].Err.Field != "metadata.plan" || got[0].Err.Code != "invalid_type" {
		t.Fatalf("%+v %v", got, err)
	}
}
