package invite

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"

	"github.com/invitekit/invitekit/invite/csvimport"
)

// Decoding of the JSON API's request bodies (the seed's shape). They live
// here, beside validation, so that every surface that takes JSON (the JSON
// API, bulk JSON lines, SCIM) reports the same field paths.

// inviteRequestJSON is the create request's wire shape (the seed's).
type inviteRequestJSON struct {
	Email               string            `json:"email"`
	ExternalID          string            `json:"externalId"`
	UserProfile         *ProfileInput     `json:"userProfile"`
	Metadata            map[string]string `json:"metadata"`
	Roles               []string          `json:"roles"`
	SendInvitationEmail *bool             `json:"sendInvitationEmail"`
	SendActivationEmail *bool             `json:"sendActivationEmail"` // alias
	ReturnAcceptLink    bool              `json:"returnAcceptLink"`
}

// DecodeInviteRequest decodes a create request body. Errors are
// *FieldError with CodeMalformedRequest (400), or CodeInvalidArgument
// (422) when sendInvitationEmail and sendActivationEmail disagree.
func DecodeInviteRequest(body []byte) (InviteRequest, error) {
	var in inviteRequestJSON
	if err := decodeStrict(body, &in); err != nil {
		return InviteRequest{}, err
	}
	send := in.SendInvitationEmail
	if in.SendActivationEmail != nil {
		if send != nil && *send != *in.SendActivationEmail {
			return InviteRequest{}, invalid("sendActivationEmail", "sendActivationEmail contradicts sendInvitationEmail (they are aliases)")
		}
		send = in.SendActivationEmail
	}
	return InviteRequest{
		Email:               in.Email,
		ExternalID:          in.ExternalID,
		UserProfile:         in.UserProfile,
		Metadata:            in.Metadata,
		Roles:               in.Roles,
		SendInvitationEmail: send,
		ReturnAcceptLink:    in.ReturnAcceptLink,
	}, nil
}

// DecodeUpdateRequest decodes a PATCH body.
func DecodeUpdateRequest(body []byte) (UpdateRequest, error) {
	var in UpdateRequest
	if err := decodeStrict(body, &in); err != nil {
		return UpdateRequest{}, err
	}
	return in, nil
}

// DecodeJSON decodes a request body into v as the kit's own bodies are:
// exactly one JSON object, no unknown fields, no trailing data, text
// checked on the raw bytes; a refusal is a *FieldError (400
// malformed_request) naming the field by its full path. The HTTP
// surfaces beside invite (webhooks, …) decode their bodies with it.
func DecodeJSON(body []byte, v any) error { return decodeStrict(body, v) }

// decodeStrict decodes exactly one JSON object into v, rejecting unknown
// fields and trailing data. The raw bytes are checked first: a string that
// is not valid UTF-8 (or holds an unpaired surrogate escape) is refused
// with its path, where encoding/json would silently turn it into U+FFFD.
// The decoded values then meet the text rule in the Service (checkText).
func decodeStrict(body []byte, v any) error {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 {
		return malformed("", "the request body is empty; send a JSON object")
	}
	if trimmed[0] != '{' {
		return malformed("", "the request body must be a JSON object")
	}
	if path, key, bad := csvimport.BadJSONText(trimmed); bad {
		return badJSONText(path, key)
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err, trimmed, reflect.TypeOf(v))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return malformed("", "unexpected data after the JSON object")
	}
	return nil
}

// badJSONText is the error for a string that is not valid UTF-8 at path
// (for a key: in the object at path).
func badJSONText(path string, key bool) error {
	switch {
	case key && path == "":
		return malformed("", "a field name is not valid UTF-8")
	case key:
		return malformed(path, "a key of %s is not valid UTF-8", path)
	}
	return malformed(path, "%s is not valid UTF-8", path)
}

// jsonError turns an encoding/json error about raw, decoded into a value
// of type t, into a *FieldError naming the field by its full path.
func jsonError(err error, raw []byte, t reflect.Type) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return malformed("", "malformed JSON at byte %d", syn.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return malformed("", "malformed JSON: unexpected end of input")
	case errors.As(err, &typ):
		field := typ.Field // the path of the struct field: "userProfile.firstName", "metadata"
		if path, ok := csvimport.MistypedJSONValue(raw, t); ok && strings.HasPrefix(path, field) {
			field = path // the value itself: "metadata.plan", "roles[1]"
		}
		return malformed(field, "%s must be %s", orDefault(field, "the request body"), jsonKind(typ.Type))
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		if path, ok := csvimport.UnknownJSONField(raw, t); ok && strings.HasSuffix(path, name) {
			name = path // encoding/json names only the last key
		}
		return malformed(name, "unknown field %s", quoteShort(name))
	}
	return malformed("", "malformed JSON")
}

// jsonKind describes a Go type the way a JSON client thinks of it.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "a valid value"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Float64:
		return "a number"
	}
	return "a valid value"
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
