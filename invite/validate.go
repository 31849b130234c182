package invite

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/go-playground/validator/v10"
	"golang.org/x/text/language"
)

// Input limits (also enforced through the validate tags below).
const (
	MaxMetadataPairs  = 20
	MinMetadataKeyLen = 3
	MaxMetadataKeyLen = 25
	MinMetadataValLen = 1
	MaxMetadataValLen = 256
	MaxExternalIDLen  = 255
	MaxNameLen        = 100 // firstName, lastName
	MaxDisplayNameLen = 200 // name, organization name
)

// newValidator returns the validator the Service uses. roleSet is the set
// of allowed role names (tag "role"). Field names in errors follow the
// json tags, so they match the JSON API.
func newValidator(roleSet map[string]bool) *validator.Validate {
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(func(f reflect.StructField) string {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			return ""
		}
		return name
	})
	// Registration errors only happen for empty tags or nil funcs.
	_ = v.RegisterValidation("role", func(fl validator.FieldLevel) bool {
		return roleSet[fl.Field().String()]
	})
	_ = v.RegisterValidation("nocontrol", func(fl validator.FieldLevel) bool {
		return !hasControl(fl.Field().String())
	})
	_ = v.RegisterValidation("orgid", func(fl validator.FieldLevel) bool {
		return validOrgID(fl.Field().String())
	})
	v.RegisterAlias("mdcount", fmt.Sprintf("max=%d", MaxMetadataPairs))
	v.RegisterAlias("mdkey", fmt.Sprintf("min=%d,max=%d", MinMetadataKeyLen, MaxMetadataKeyLen))
	v.RegisterAlias("mdvalue", fmt.Sprintf("min=%d,max=%d", MinMetadataValLen, MaxMetadataValLen))
	return v
}

// hasControl reports whether s contains a control character or invalid UTF-8.
func hasControl(s string) bool {
	if !utf8.ValidString(s) {
		return true
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return true
		}
	}
	return false
}

// validOrgID accepts 1–64 characters of A–Z, a–z, 0–9, "_" and "-".
func validOrgID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// mapField reports whether path points into one of the map-valued inputs
// and returns the map's field name and the key; errors inside a map are
// reported on the map's own field name.
func mapField(path string) (field, key string, ok bool) {
	i := strings.IndexByte(path, '[')
	if i < 0 || !strings.HasSuffix(path, "]") {
		return "", "", false
	}
	switch f := path[:i]; f {
	case "metadata", "userProfile.metadata", "userProfile.customAttributes":
		return f, path[i+1 : len(path)-1], true
	}
	return "", "", false
}

// checkStruct validates v and returns the first problem as a *FieldError
// whose Field is prefixed with prefix ("" or e.g. "admin.").
func (s *Service) checkStruct(v any, prefix string) error {
	err := s.validate.Struct(v)
	if err == nil {
		return nil
	}
	var ves validator.ValidationErrors
	if !errors.As(err, &ves) || len(ves) == 0 {
		return invalid(strings.TrimSuffix(prefix, "."), "invalid request")
	}
	fe := ves[0]
	_, path, _ := strings.Cut(fe.Namespace(), ".") // drop the struct type name
	return translate(fe, prefix, path)
}

// translate turns one validator error into a *FieldError.
func translate(fe validator.FieldError, prefix, path string) *FieldError {
	if mf, key, ok := mapField(path); ok {
		field := prefix + mf
		switch fe.Tag() {
		case "mdkey":
			return invalid(field, "%s keys must be %d–%d characters (key %s)", field, MinMetadataKeyLen, MaxMetadataKeyLen, quoteShort(key))
		case "mdvalue":
			return invalid(field, "%s values must be %d–%d characters (key %s)", field, MinMetadataValLen, MaxMetadataValLen, quoteShort(key))
		}
		return invalid(field, "%s is not valid", field)
	}
	field := prefix + path
	switch fe.Tag() {
	case "required":
		return invalid(field, "%s is required", field)
	case "email":
		return invalid(field, "%s is not a valid email address", field)
	case "max":
		return invalid(field, "%s must be at most %s characters", field, fe.Param())
	case "mdcount":
		return invalid(field, "%s may have at most %d entries", field, MaxMetadataPairs)
	case "role":
		return invalid(field, "unknown role %s", quoteShort(fmt.Sprint(fe.Value())))
	case "nocontrol":
		return invalid(field, "%s must not contain control characters", field)
	case "e164":
		return invalid(field, "%s must be an E.164 phone number like +14155550100", field)
	case "bcp47_language_tag":
		return invalid(field, "%s must be a BCP 47 language tag like en or de-CH", field)
	case "orgid":
		return invalid(field, "%s must be 1–64 characters of letters, digits, _ and -", field)
	}
	return invalid(field, "%s is not valid", field)
}

// quoteShort quotes s for an error message, shortened to 40 characters.
func quoteShort(s string) string {
	if utf8.RuneCountInString(s) > 40 {
		r := []rune(s)
		s = string(r[:40]) + "…"
	}
	return fmt.Sprintf("%q", s)
}

// canonicalLocale returns the canonical BCP 47 form of a validated tag.
func canonicalLocale(tag string) string {
	if tag == "" {
		return ""
	}
	t, err := language.Parse(tag)
	if err != nil {
		return tag
	}
	return t.String()
}

// checkInvite validates and normalizes req in place. On success
// req.Email is normalized, ExternalID trimmed, Roles deduplicated (or the
// defaults), the profile locale canonical and the maps copied.
func (s *Service) checkInvite(req *InviteRequest, prefix string, defaultRoles []string) error {
	email, err := NormalizeEmail(req.Email)
	if err != nil {
		fe := err.(*FieldError)
		fe.Field = prefix + fe.Field
		return fe
	}
	req.Email = email
	req.ExternalID = strings.TrimSpace(req.ExternalID)
	if err := s.checkStruct(req, prefix); err != nil {
		return err
	}
	if len(req.Roles) == 0 {
		req.Roles = append([]string(nil), defaultRoles...)
	} else {
		req.Roles = dedupe(req.Roles)
	}
	req.Metadata = cloneMap(req.Metadata)
	if req.UserProfile != nil {
		p := *req.UserProfile
		p.FirstName = strings.TrimSpace(p.FirstName)
		p.LastName = strings.TrimSpace(p.LastName)
		p.Name = strings.TrimSpace(p.Name)
		p.Locale = canonicalLocale(p.Locale)
		p.Metadata = cloneMap(p.Metadata)
		p.CustomAttributes = cloneMap(p.CustomAttributes)
		req.UserProfile = &p
	}
	return nil
}

// updateInput is the validated shape of an UpdateRequest.
type updateInput struct {
	Roles    []string          `json:"roles" validate:"dive,role"`
	Metadata map[string]string `json:"metadata" validate:"omitempty,mdcount,dive,keys,mdkey,endkeys,mdvalue"`
}

// dedupe returns roles without repeats, in first-seen order.
func dedupe(roles []string) []string {
	out := make([]string, 0, len(roles))
	seen := make(map[string]bool, len(roles))
	for _, r := range roles {
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	return out
}

// cloneMap copies m (nil stays nil).
func cloneMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
