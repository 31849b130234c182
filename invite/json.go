package invite

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/invitekit/invitekit/store"
)

// The JSON API's wire shapes. They follow the seed's user object exactly
// (../shared/fixtures/seed-invite-response.json): every key is always
// present, maps render as {} (never null), times are RFC 3339 UTC and
// lastLogin is null until the first login.

// APIRole is a role in a membership.
type APIRole struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// APIMembership is a user's membership in the requested organization.
type APIMembership struct {
	OrganizationID string `json:"organizationId"`
	JoinTime       string `json:"joinTime"`
	// MembershipStatus is the effective status (INVITE_EXPIRED for a
	// pending membership whose invitation has expired).
	MembershipStatus        store.MembershipStatus `json:"membershipStatus"`
	Roles                   []APIRole              `json:"roles"`
	PrimaryIdentityProvider string                 `json:"primaryIdentityProvider"`
	Metadata                map[string]string      `json:"metadata"`
}

// APIProfile is a user's profile.
type APIProfile struct {
	ID               string            `json:"id"`
	FirstName        string            `json:"firstName"`
	LastName         string            `json:"lastName"`
	Name             string            `json:"name"`
	Locale           string            `json:"locale"`
	EmailVerified    bool              `json:"emailVerified"`
	PhoneNumber      string            `json:"phoneNumber"`
	Metadata         map[string]string `json:"metadata"`
	CustomAttributes map[string]string `json:"customAttributes"`
}

// APIUser is the seed's user object. Memberships holds only the membership
// in the organization of the request (tenant isolation).
type APIUser struct {
	ID            string            `json:"id"`
	EnvironmentID string            `json:"environmentId"`
	CreateTime    string            `json:"createTime"`
	UpdateTime    string            `json:"updateTime"`
	Email         string            `json:"email"`
	ExternalID    string            `json:"externalId"`
	Memberships   []APIMembership   `json:"memberships"`
	UserProfile   APIProfile        `json:"userProfile"`
	Metadata      map[string]string `json:"metadata"`
	LastLogin     *string           `json:"lastLogin"`
}

// APIError is the body of every error response: {"error": APIError}.
type APIError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field"`
}

// NewAPIUser renders a user with exactly one membership (m) as the JSON
// API does, with the membership's effective status at now.
func NewAPIUser(u store.User, m store.Membership, environmentID string, now time.Time) APIUser {
	roles := make([]APIRole, 0, len(m.Roles))
	for _, r := range m.Roles {
		roles = append(roles, APIRole{ID: store.RoleID(r), Name: r})
	}
	out := APIUser{
		ID:            u.ID,
		EnvironmentID: environmentID,
		CreateTime:    formatTime(u.CreateTime),
		UpdateTime:    formatTime(u.UpdateTime),
		Email:         u.Email,
		ExternalID:    u.ExternalID,
		Memberships: []APIMembership{{
			OrganizationID:          m.OrganizationID,
			JoinTime:                formatTime(m.JoinTime),
			MembershipStatus:        m.EffectiveStatus(now),
			Roles:                   roles,
			PrimaryIdentityProvider: orDefault(m.PrimaryIdentityProvider, IdentityProviderUnspecified),
			Metadata:                nonNil(m.Metadata),
		}},
		UserProfile: APIProfile{
			ID:               u.Profile.ID,
			FirstName:        u.Profile.FirstName,
			LastName:         u.Profile.LastName,
			Name:             u.Profile.Name,
			Locale:           u.Profile.Locale,
			EmailVerified:    u.Profile.EmailVerified,
			PhoneNumber:      u.Profile.PhoneNumber,
			Metadata:         nonNil(u.Profile.Metadata),
			CustomAttributes: nonNil(u.Profile.CustomAttributes),
		},
		Metadata: nonNil(u.Metadata),
	}
	if u.LastLogin != nil {
		t := formatTime(*u.LastLogin)
		out.LastLogin = &t
	}
	return out
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

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

// decodeInviteRequest decodes a create request body. Errors are
// *FieldError with CodeMalformedRequest (400), or CodeInvalidArgument
// (422) when sendInvitationEmail and sendActivationEmail disagree.
func decodeInviteRequest(body []byte) (InviteRequest, error) {
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

// decodeUpdateRequest decodes a PATCH body.
func decodeUpdateRequest(body []byte) (UpdateRequest, error) {
	var in UpdateRequest
	if err := decodeStrict(body, &in); err != nil {
		return UpdateRequest{}, err
	}
	return in, nil
}

// decodeStrict decodes exactly one JSON object into v, rejecting unknown
// fields and trailing data.
func decodeStrict(body []byte, v any) error {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 {
		return malformed("", "the request body is empty; send a JSON object")
	}
	if trimmed[0] != '{' {
		return malformed("", "the request body must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return malformed("", "unexpected data after the JSON object")
	}
	return nil
}

// jsonError turns an encoding/json error into a *FieldError.
func jsonError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return malformed("", "malformed JSON at byte %d", syn.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return malformed("", "malformed JSON: unexpected end of input")
	case errors.As(err, &typ):
		field := typ.Field
		if mf, _, ok := mapField(bracketMapKey(field)); ok {
			field = mf
		}
		return malformed(field, "%s must be %s", orDefault(field, "the request body"), jsonKind(typ.Type))
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		return malformed(name, "unknown field %s", quoteShort(name))
	}
	return malformed("", "malformed JSON")
}

// bracketMapKey rewrites "metadata.key" (encoding/json's path into a map)
// as "metadata[key]" for mapField.
func bracketMapKey(path string) string {
	for _, f := range []string{"userProfile.customAttributes", "userProfile.metadata", "metadata"} {
		if rest, ok := strings.CutPrefix(path, f+"."); ok {
			return f + "[" + rest + "]"
		}
	}
	return path
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

// writeJSON writes v with status. Responses are never cached: they carry
// personal data and sometimes an accept link.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("invite: encode response: %w", err)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, err = w.Write(append(b, '\n'))
	return err
}

// WriteError writes err as the JSON API does: the status from HTTPStatus
// and {"error": {"code", "message", "field"}}. The message never reveals
// internals (unknown errors are "internal error").
func WriteError(w http.ResponseWriter, err error) {
	status, code, field, msg := describe(err)
	_ = writeJSON(w, status, struct {
		Error APIError `json:"error"`
	}{APIError{Code: code, Message: msg, Field: field}})
}
