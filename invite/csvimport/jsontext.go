package csvimport

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"
)

// JSON text that encoding/json would alter, and full field paths.
//
// encoding/json replaces invalid UTF-8 and unpaired surrogate escapes
// ("\ud800") in strings with U+FFFD without an error, so "Jos\xe9" would
// be kept as "Jos\ufffd" and two different raw values would become one.
// BadJSONText finds them in the raw bytes, before decoding. Its
// DisallowUnknownFields error names only the last key; UnknownJSONField
// finds the whole path. Both are used for JSON lines here and, by package
// invite, for the JSON API's request bodies, so every JSON surface reports
// the same paths ("userProfile.nickname", "metadata.plan", "roles[2]").

// BadJSONText returns the path of the first string in raw — an object key
// or a value — that is not valid UTF-8 or holds an unpaired surrogate
// escape. For a key, path names the object that holds it ("" for the top
// level) and key is true. bad is false when every string is clean; raw
// that is not JSON is not judged here (decoding reports it).
func BadJSONText(raw []byte) (path string, key, bad bool) {
	if utf8.Valid(raw) && !mayHaveSurrogateEscape(raw) {
		return "", false, false
	}
	walkJSON(raw, nil, jsonVisit{str: func(w *jsonWalk, seg []byte, isKey bool) bool {
		if !cleanJSONString(seg) {
			path, key, bad = w.path(isKey), isKey, true
			return false
		}
		return true
	}})
	return path, key, bad
}

// UnknownJSONField returns the full path of the first object key in raw
// that names no field of the struct t decodes into (t may be a pointer;
// keys match json tags as encoding/json matches them, case-insensitively;
// maps take any key). ok is false when every key is known.
func UnknownJSONField(raw []byte, t reflect.Type) (path string, ok bool) {
	walkJSON(raw, t, jsonVisit{unknown: func(w *jsonWalk, key string) bool {
		path, ok = w.path(false), true
		return false
	}})
	return path, ok
}

// MistypedJSONValue returns the full path of the first value in raw whose
// JSON type does not fit what t holds there (a number for a string, an
// object for a list, …): encoding/json's UnmarshalTypeError names the map
// ("metadata") or list ("roles"), not the value ("metadata.plan",
// "roles[1]"). ok is false when every value fits.
func MistypedJSONValue(raw []byte, t reflect.Type) (path string, ok bool) {
	walkJSON(raw, t, jsonVisit{value: func(w *jsonWalk, tok json.Token, want reflect.Type) bool {
		if fits(tok, want) {
			return true
		}
		path, ok = w.path(false), true
		return false
	}})
	return path, ok
}

// fits reports whether a value starting with tok can decode into t.
func fits(tok json.Token, t reflect.Type) bool {
	if tok == nil {
		return true // null fits anything
	}
	t = deref(t)
	if t == nil || t.Kind() == reflect.Interface {
		return true
	}
	k := t.Kind()
	switch tok := tok.(type) {
	case json.Delim:
		return tok == '{' && (k == reflect.Map || k == reflect.Struct) || tok == '[' && (k == reflect.Slice || k == reflect.Array)
	case string:
		return k == reflect.String
	case bool:
		return k == reflect.Bool
	case float64:
		return k >= reflect.Int && k <= reflect.Float64
	}
	return true
}

// mayHaveSurrogateEscape reports whether raw has a \uD800–\uDFFF escape
// (or something that looks like one, such as an escaped backslash before
// "ud800"): only then can a surrogate be unpaired.
func mayHaveSurrogateEscape(raw []byte) bool {
	for {
		i := bytes.Index(raw, []byte(`\u`))
		if i < 0 || i+4 > len(raw) {
			return false
		}
		if raw[i+2]|0x20 == 'd' && strings.IndexByte("89abcdefABCDEF", raw[i+3]) >= 0 {
			return true
		}
		raw = raw[i+2:]
	}
}

// cleanJSONString reports whether the raw token seg (a quoted JSON string,
// possibly after white space, ':' or ',') is valid UTF-8 and pairs every
// surrogate escape.
func cleanJSONString(seg []byte) bool {
	if !utf8.Valid(seg) {
		return false
	}
	for i := 0; i < len(seg); i++ {
		if seg[i] != '\\' {
			continue
		}
		i++
		if i >= len(seg) || seg[i] != 'u' {
			continue
		}
		r, ok := hex4(seg[i+1:])
		if !ok {
			continue // a syntax error; decoding reports it
		}
		i += 4
		switch {
		case r >= 0xdc00 && r <= 0xdfff:
			return false // a low surrogate first
		case r >= 0xd800 && r <= 0xdbff:
			if i+6 >= len(seg) || seg[i+1] != '\\' || seg[i+2] != 'u' {
				return false
			}
			lo, ok := hex4(seg[i+3:])
			if !ok || lo < 0xdc00 || lo > 0xdfff {
				return false
			}
			i += 6
		}
	}
	return true
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	n, err := strconv.ParseUint(string(b[:4]), 16, 32)
	return rune(n), err == nil
}

// jsonFrame is one open object or array of a walk.
type jsonFrame struct {
	array   bool
	index   int          // array: the element being read
	key     string       // object: the key of the value being read
	wantKey bool         // object: the next token is a key (or '}')
	typ     reflect.Type // what the container decodes into (nil: anything)
}

// jsonWalk is the state of walkJSON.
type jsonWalk struct {
	stack []jsonFrame
}

// path is the path of the value being read, or, for a key, of the object
// holding it: keys joined with ".", array elements as "[i]".
func (w *jsonWalk) path(ofKey bool) string {
	var b strings.Builder
	n := len(w.stack)
	for i, f := range w.stack {
		if i == n-1 && ofKey {
			break
		}
		if f.array {
			b.WriteString("[" + strconv.Itoa(f.index) + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(f.key)
	}
	return b.String()
}

// jsonVisit are walkJSON's callbacks (nil ones are not called); each stops
// the walk by returning false.
type jsonVisit struct {
	// str gets every string token (key or value) with its raw bytes.
	str func(w *jsonWalk, seg []byte, isKey bool) bool
	// unknown gets every object key that names no field of the struct the
	// object decodes into (when a root type is given).
	unknown func(w *jsonWalk, key string) bool
	// value gets every value (a scalar, or the '{' or '[' that opens one)
	// with the type it decodes into (nil: anything).
	value func(w *jsonWalk, tok json.Token, t reflect.Type) bool
}

// walkJSON reads raw token by token, calling v; a syntax error ends it.
func walkJSON(raw []byte, root reflect.Type, v jsonVisit) {
	str, unknown := v.str, v.unknown
	dec := json.NewDecoder(bytes.NewReader(raw))
	w := &jsonWalk{}
	next := root // the type of the next value
	for {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return
		}
		var top *jsonFrame
		if len(w.stack) > 0 {
			top = &w.stack[len(w.stack)-1]
		}
		if top != nil && !top.array && top.wantKey {
			if d, ok := tok.(json.Delim); ok && d == '}' {
				w.pop()
				continue
			}
			key, _ := tok.(string)
			top.key, top.wantKey = key, false
			if str != nil && !str(w, raw[start:dec.InputOffset()], true) {
				return
			}
			var known bool
			next, known = fieldType(top.typ, key)
			if !known && unknown != nil && !unknown(w, key) {
				return
			}
			continue
		}
		if top != nil && top.array {
			next = elemType(top.typ)
		}
		if d, ok := tok.(json.Delim); !ok || d == '{' || d == '[' {
			if v.value != nil && !v.value(w, tok, next) {
				return
			}
		}
		switch tok := tok.(type) {
		case json.Delim:
			switch tok {
			case '{', '[':
				w.stack = append(w.stack, jsonFrame{array: tok == '[', wantKey: tok == '{', typ: next})
				continue
			default: // ']' (a '}' ends an object above)
				w.pop()
				continue
			}
		case string:
			if str != nil && !str(w, raw[start:dec.InputOffset()], false) {
				return
			}
		}
		w.valueDone()
	}
}

// pop closes the innermost container, which completes a value of its parent.
func (w *jsonWalk) pop() {
	w.stack = w.stack[:len(w.stack)-1]
	w.valueDone()
}

// valueDone moves the innermost container past the value just read.
func (w *jsonWalk) valueDone() {
	if len(w.stack) == 0 {
		return
	}
	top := &w.stack[len(w.stack)-1]
	if top.array {
		top.index++
	} else {
		top.wantKey = true
	}
}

func deref(t reflect.Type) reflect.Type {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// fieldType is the type of key's value in an object decoding into t, and
// whether t takes key (anything but a struct takes every key).
func fieldType(t reflect.Type, key string) (reflect.Type, bool) {
	t = deref(t)
	if t == nil {
		return nil, true
	}
	switch t.Kind() {
	case reflect.Map:
		return t.Elem(), true
	case reflect.Struct:
	default:
		return nil, true
	}
	var fold reflect.Type
	found := false
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if name == key {
			return f.Type, true
		}
		if !found && strings.EqualFold(name, key) {
			fold, found = f.Type, true
		}
	}
	return fold, found
}

func elemType(t reflect.Type) reflect.Type {
	t = deref(t)
	if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
		return t.Elem()
	}
	return nil
}
