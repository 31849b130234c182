package main

import (
	"encoding/binary"
	"errors"
	"math"
	"strings"
	"time"

	"github.com/alexedwards/scs/v2"
)

// compactCodec is an scs.Codec for small sessions of plain values (the
// kit keeps only strings: ids, the session generation, the sign-in state;
// bools, ints, floats, times and bytes are supported as well): it writes
// each value with a one-byte type tag instead of gob's self-describing
// stream, which gob builds, types and all, anew for every session. A session holding any
// other type is encoded with scs.GobCodec as a whole; sessions written by
// GobCodec (before the switch) are still read.
//
// Format: "\x00ic1", the deadline (Unix nanoseconds, varint), the number of
// values, then per value its key and tag and value. A gob stream never
// starts with a zero byte, so the two cannot be confused.
type compactCodec struct{}

var _ scs.Codec = compactCodec{}

const compactMagic = "\x00ic1"

// Value tags.
const (
	tagString byte = 's'
	tagBool   byte = 'b'
	tagInt    byte = 'i'
	tagInt64  byte = 'I'
	tagFloat  byte = 'f'
	tagTime   byte = 't'
	tagBytes  byte = 'B'
)

func (compactCodec) Encode(deadline time.Time, values map[string]any) ([]byte, error) {
	b := make([]byte, 0, 64+32*len(values))
	b = append(b, compactMagic...)
	b = binary.AppendVarint(b, deadline.UnixNano())
	b = binary.AppendUvarint(b, uint64(len(values)))
	for k, v := range values {
		b = appendString(b, k)
		switch v := v.(type) {
		case string:
			b = appendString(append(b, tagString), v)
		case bool:
			t := byte(0)
			if v {
				t = 1
			}
			b = append(b, tagBool, t)
		case int:
			b = binary.AppendVarint(append(b, tagInt), int64(v))
		case int64:
			b = binary.AppendVarint(append(b, tagInt64), v)
		case float64:
			b = binary.LittleEndian.AppendUint64(append(b, tagFloat), math.Float64bits(v))
		case time.Time:
			tb, err := v.MarshalBinary()
			if err != nil {
				return nil, err
			}
			b = appendString(append(b, tagTime), string(tb))
		case []byte:
			b = appendString(append(b, tagBytes), string(v))
		default:
			return scs.GobCodec{}.Encode(deadline, values)
		}
	}
	return b, nil
}

func (compactCodec) Decode(data []byte) (time.Time, map[string]any, error) {
	if !strings.HasPrefix(string(data), compactMagic) {
		return scs.GobCodec{}.Decode(data)
	}
	d := decoder{b: data[len(compactMagic):]}
	deadline := time.Unix(0, d.varint()).UTC()
	n := d.uvarint()
	if d.err != nil || n > uint64(len(d.b)) {
		return time.Time{}, nil, errCorrupt
	}
	values := make(map[string]any, n)
	for range n {
		k := d.str()
		switch tag := d.byte(); tag {
		case tagString:
			values[k] = d.str()
		case tagBool:
			values[k] = d.byte() == 1
		case tagInt:
			values[k] = int(d.varint())
		case tagInt64:
			values[k] = d.varint()
		case tagFloat:
			values[k] = math.Float64frombits(d.uint64())
		case tagTime:
			var t time.Time
			if err := t.UnmarshalBinary([]byte(d.str())); err != nil {
				d.err = err
			}
			values[k] = t
		case tagBytes:
			values[k] = []byte(d.str())
		default:
			d.err = errCorrupt
		}
		if d.err != nil {
			return time.Time{}, nil, d.err
		}
	}
	if len(d.b) != 0 {
		return time.Time{}, nil, errCorrupt
	}
	return deadline, values, nil
}

var errCorrupt = errors.New("quickstart: session: corrupt data")

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// decoder reads the values; the first error sticks.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail() { d.err, d.b = errCorrupt, nil }

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) byte() byte {
	if len(d.b) < 1 {
		d.fail()
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) uint64() uint64 {
	if len(d.b) < 8 {
		d.fail()
		return 0
	}
	v := binary.LittleEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}

func (d *decoder) str() string {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail()
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}
