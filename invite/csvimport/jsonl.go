package csvimport

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
)

// jsonProfile and jsonRecord mirror the JSON API's invite request.
type jsonProfile struct {
	FirstName        string            `json:"firstName"`
	LastName         string            `json:"lastName"`
	Name             string            `json:"name"`
	Locale           string            `json:"locale"`
	PhoneNumber      string            `json:"phoneNumber"`
	Metadata         map[string]string `json:"metadata"`
	CustomAttributes map[string]string `json:"customAttributes"`
}

type jsonRecord struct {
	Email               string            `json:"email"`
	ExternalID          string            `json:"externalId"`
	UserProfile         *jsonProfile      `json:"userProfile"`
	Metadata            map[string]string `json:"metadata"`
	Roles               []string          `json:"roles"`
	SendInvitationEmail *bool             `json:"sendInvitationEmail"`
	SendActivationEmail *bool             `json:"sendActivationEmail"`
}

// readLine reads one line (without the line ending) into r's scratch
// buffer, enforcing MaxRecordBytes exactly.
func (r *Reader) readLine(buf *bufio.Reader, scratch []byte) ([]byte, error) {
	scratch = scratch[:0]
	for {
		chunk, err := buf.ReadSlice('\n')
		scratch = append(scratch, chunk...)
		if r.cfg.MaxRecordBytes > 0 && int64(len(scratch)) > r.cfg.MaxRecordBytes+2 { // +2: CRLF
			return nil, &LimitError{Err: ErrRecordTooLarge, Limit: r.cfg.MaxRecordBytes, Line: r.lastLine + 1}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF && len(scratch) > 0 {
			err = nil
		}
		if err != nil {
			return nil, err
		}
		return bytes.TrimRight(scratch, "\r\n"), nil
	}
}

func (r *Reader) skipJSONL() (int, error) {
	rec, err := r.nextJSONL(true)
	return rec.Line, err
}

// nextJSONL reads the next non-blank line; with skip it only fills
// Record.Line.
func (r *Reader) nextJSONL(skip bool) (Record, error) {
	for {
		line, err := r.readLine(r.buf, r.scratch)
		if err != nil {
			return Record{}, err
		}
		r.scratch = line[:0]
		r.lastLine++
		r.markRecordStart(r.count.n - int64(r.buf.Buffered()))
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if skip {
			return Record{Line: r.lastLine}, nil
		}
		return parseJSONLine(line, r.lastLine), nil
	}
}

// parseJSONLine maps one JSON line onto a Record; problems go to Record.Err.
func parseJSONLine(line []byte, lineNo int) Record {
	rec := Record{Line: lineNo}
	// Decoding would replace invalid UTF-8 with U+FFFD: refuse it first.
	if path, key, bad := BadJSONText(line); bad {
		rec.Err = badTextError(path, key)
		rec.Email = probeEmail(line)
		return rec
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	var jr jsonRecord
	if err := dec.Decode(&jr); err != nil {
		rec.Err = jsonRowError(err, line)
		rec.Email = probeEmail(line)
		return rec
	}
	if dec.More() {
		rec.Err = &RowError{Code: "invalid_json", Message: "more than one JSON value on the line"}
		rec.Email = strings.TrimSpace(jr.Email)
		return rec
	}
	if _, err := dec.Token(); err != io.EOF {
		rec.Err = &RowError{Code: "invalid_json", Message: "unexpected data after the JSON object"}
		rec.Email = strings.TrimSpace(jr.Email)
		return rec
	}
	rec.Email = strings.TrimSpace(jr.Email)
	rec.ExternalID = strings.TrimSpace(jr.ExternalID)
	rec.Metadata = jr.Metadata
	for _, role := range jr.Roles {
		if role = strings.TrimSpace(role); role != "" {
			rec.Roles = append(rec.Roles, role)
		}
	}
	if p := jr.UserProfile; p != nil {
		rec.FirstName = strings.TrimSpace(p.FirstName)
		rec.LastName = strings.TrimSpace(p.LastName)
		rec.Name = strings.TrimSpace(p.Name)
		rec.Locale = strings.TrimSpace(p.Locale)
		rec.PhoneNumber = strings.TrimSpace(p.PhoneNumber)
		rec.ProfileMetadata = p.Metadata
		rec.CustomAttributes = p.CustomAttributes
	}
	switch {
	case jr.SendInvitationEmail != nil && jr.SendActivationEmail != nil && *jr.SendInvitationEmail != *jr.SendActivationEmail:
		rec.Err = &RowError{Field: "sendInvitationEmail", Code: "invalid_value", Message: "sendInvitationEmail and its alias sendActivationEmail disagree"}
	case jr.SendInvitationEmail != nil:
		rec.SendInvitationEmail = jr.SendInvitationEmail
	case jr.SendActivationEmail != nil:
		rec.SendInvitationEmail = jr.SendActivationEmail
	}
	return rec
}

// probeEmail is the line's email, best effort, to name the person in the
// result of a row that could not be decoded.
func probeEmail(line []byte) string {
	var probe struct {
		Email string `json:"email"`
	}
	if json.Unmarshal(line, &probe) == nil {
		return strings.TrimSpace(probe.Email)
	}
	return ""
}

// badTextError is the error of a line with a string that is not valid
// UTF-8 at path (for a key: in the object at path).
func badTextError(path string, key bool) *RowError {
	switch {
	case key && path == "":
		return &RowError{Code: "invalid_utf8", Message: "a field name is not valid UTF-8"}
	case key:
		return &RowError{Field: path, Code: "invalid_utf8", Message: "a key of " + path + " is not valid UTF-8"}
	}
	return &RowError{Field: path, Code: "invalid_utf8", Message: path + " is not valid UTF-8"}
}

var jsonRecordType = reflect.TypeFor[jsonRecord]()

func jsonRowError(err error, line []byte) *RowError {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			return &RowError{Code: "invalid_json", Message: "each line must be a JSON object"}
		}
		if path, ok := MistypedJSONValue(line, jsonRecordType); ok && strings.HasPrefix(path, field) {
			field = path // the value, not its map: "metadata.plan"
		}
		return &RowError{Field: field, Code: "invalid_type", Message: "must be a JSON " + jsonKind(te.Type.Kind().String())}
	case errors.As(err, &se):
		return &RowError{Code: "invalid_json", Message: "malformed JSON: " + se.Error()}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		if path, ok := UnknownJSONField(line, jsonRecordType); ok && strings.HasSuffix(path, field) {
			field = path // the full path: "userProfile.nickname"
		}
		return &RowError{Field: field, Code: "unknown_field", Message: "unknown field"}
	case err == io.ErrUnexpectedEOF || err == io.EOF:
		return &RowError{Code: "invalid_json", Message: "malformed JSON: unexpected end of line"}
	}
	return &RowError{Code: "invalid_json", Message: "malformed JSON: " + err.Error()}
}

func jsonKind(k string) string {
	switch k {
	case "map", "struct":
		return "object"
	case "slice", "array":
		return "array"
	case "bool":
		return "boolean"
	}
	return k
}
