package main

import (
	"bytes"
	"reflect"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
)

// kitSession is a signed-in member's session as the kit writes it (every
// value a string).
func kitSession() map[string]any {
	return map[string]any{
		"invitekit.user_id":            "usr_01JE7ZK3Q9V8W2X4Y6Z8A0B2C4",
		"invitekit.session_generation": "3",
		"invitekit.org_id":             "org_acme",
	}
}

// TestCompactCodec: every value type round-trips; a session with another
// type is gob, and gob sessions (from before the switch) are still read;
// a cut or corrupt session is an error, never a panic.
func TestCompactCodec(t *testing.T) {
	deadline := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	values := kitSession()
	values["n"], values["n64"], values["f"], values["raw"], values["empty"] = 42, int64(-7), 1.5, []byte{0, 1, 2}, ""
	values["yes"], values["no"], values["at"] = true, false, time.Date(2026, 12, 1, 12, 0, 0, 123, time.UTC)
	b, err := compactCodec{}.Encode(deadline, values)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte(compactMagic)) {
		t.Fatalf("not the compact format: %q", b[:8])
	}
	gotDeadline, got, err := compactCodec{}.Decode(b)
	if err != nil || !gotDeadline.Equal(deadline) || !reflect.DeepEqual(got, values) {
		t.Fatalf("round trip: %v %v %#v", err, gotDeadline, got)
	}

	other := map[string]any{"list": []string{"a", "b"}, "invitekit.user_id": "usr_1"}
	b, err = compactCodec{}.Encode(deadline, other)
	if err != nil || bytes.HasPrefix(b, []byte(compactMagic)) {
		t.Fatalf("a session with a []string must fall back to gob: %v", err)
	}
	if _, got, err := (compactCodec{}).Decode(b); err != nil || !reflect.DeepEqual(got, other) {
		t.Fatalf("fallback: %v %#v", err, got)
	}
	old, _ := scs.GobCodec{}.Encode(deadline, kitSession())
	if _, got, err := (compactCodec{}).Decode(old); err != nil || !reflect.DeepEqual(got, kitSession()) {
		t.Fatalf("a gob session: %v %#v", err, got)
	}

	full, _ := compactCodec{}.Encode(deadline, values)
	for n := len(compactMagic); n < len(full); n++ {
		if _, _, err := (compactCodec{}).Decode(full[:n]); err == nil {
			t.Fatalf("a session cut at %d bytes decoded", n)
		}
	}
}

// BenchmarkSessionCodec: encode + decode of a signed-in member's session
// (what scs does on a request that touches the session), gob beside the
// compact codec, interleaved.
//
//	cd examples && go test -run '^$' -bench SessionCodec -benchmem -count 5 ./quickstart/
func BenchmarkSessionCodec(b *testing.B) {
	deadline := time.Now().Add(time.Hour)
	values := kitSession()
	for _, c := range []struct {
		name  string
		codec scs.Codec
	}{{"gob", scs.GobCodec{}}, {"compact", compactCodec{}}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			var size int
			for b.Loop() {
				data, err := c.codec.Encode(deadline, values)
				if err != nil {
					b.Fatal(err)
				}
				size = len(data)
				if _, _, err := c.codec.Decode(data); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(size), "bytes")
		})
	}
}

// FuzzCompactCodecDecode: any bytes decode or fail, never panic; what
// decodes encodes back to the same values.
func FuzzCompactCodecDecode(f *testing.F) {
	b, _ := compactCodec{}.Encode(time.Unix(1, 0), kitSession())
	f.Add(b)
	f.Add([]byte(compactMagic))
	f.Fuzz(func(t *testing.T, data []byte) {
		deadline, values, err := compactCodec{}.Decode(data)
		if err != nil || !bytes.HasPrefix(data, []byte(compactMagic)) {
			return
		}
		again, err := compactCodec{}.Encode(deadline, values)
		if err != nil {
			t.Fatal(err)
		}
		_, back, err := compactCodec{}.Decode(again)
		if err != nil || !reflect.DeepEqual(back, values) {
			t.Fatalf("%v: %#v != %#v", err, back, values)
		}
	})
}
