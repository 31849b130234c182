package invite

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/go-playground/validator/v10"
	"golang.org/x/text/language"

	"github.com/invitekit/invitekit/store"
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

// hasControl reports whether s breaks the kit's text rule for one line of
// text (store.TextProblem): invalid UTF-8, NUL or another control
// character.
func hasControl(s string) bool {
	return store.TextProblem(s, 0, store.TextLine) != ""
}

// checkIDs applies the text rule to id arguments, given as name, value
// pairs ("orgID", orgID, "userID", userID, …): each must be one line of at
// most store.MaxIDLen characters. An empty id passes (callers that need
// one say so, or the store answers ErrNotFound). It keeps ids no store
// could hold (NUL, invalid UTF-8) away from the stores.
func checkIDs(nameValues ...string) error {
	for i := 0; i+1 < len(nameValues); i += 2 {
		if err := store.CheckText(nameValues[i], nameValues[i+1], store.MaxIDLen, store.TextLine); err != nil {
			return err
		}
	}
	return nil
}

// textField is a string-holding field of a request struct.
type textField struct {
	index int
	name  string // the JSON name ("userProfile"), or lowerCamel Go name
	id    bool   // set by the caller, never by the JSON API (json:"-"): an actor id
}

var textFieldCache sync.Map // reflect.Type → []textField

// textFields lists the fields of struct type t the text rule walks: every
// exported field but those tagged validate:"-" (checked on their own, like
// CreateOrganizationRequest.Admin).
func textFields(t reflect.Type) []textField {
	if fs, ok := textFieldCache.Load(t); ok {
		return fs.([]textField)
	}
	var fs []textField
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() || f.Tag.Get("validate") == "-" {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		tf := textField{index: i, name: name}
		if name == "-" || name == "" {
			r := []rune(f.Name)
			r[0] = unicode.ToLower(r[0])
			tf.name, tf.id = string(r), name == "-"
		}
		fs = append(fs, tf)
	}
	textFieldCache.Store(t, fs)
	return fs
}

// checkText applies the kit's one text rule (store.TextProblem) to every
// string in the request v (a pointer to InviteRequest,
// CreateOrganizationRequest, updateInput, …) before any other check, and
// returns the first problem as a *FieldError with the field's full path
// after prefix ("" or "admin."): "userProfile.firstName", "roles[2]",
// "metadata.plan" (a value), "metadata" (a key, which cannot name itself).
// Map values (metadata) may span lines; every other string is one line.
// Fields the JSON API never takes (json:"-": InvitedBy, CreatedBy) are
// actor ids: at most store.MaxIDLen characters.
func checkText(v any, prefix string) error {
	return checkTextValue(reflect.ValueOf(v), strings.TrimSuffix(prefix, "."))
}

func joinField(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func checkTextValue(v reflect.Value, path string) error {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.String:
		return store.CheckText(path, v.String(), 0, store.TextLine)
	case reflect.Struct:
		for _, f := range textFields(v.Type()) {
			fv := v.Field(f.index)
			if f.id && fv.Kind() == reflect.String {
				if err := store.CheckText(joinField(path, f.name), fv.String(), store.MaxIDLen, store.TextLine); err != nil {
					return err
				}
				continue
			}
			if err := checkTextValue(fv, joinField(path, f.name)); err != nil {
				return err
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			if err := checkTextValue(v.Index(i), path+"["+strconv.Itoa(i)+"]"); err != nil {
				return err
			}
		}
	case reflect.Map:
		if m, ok := v.Interface().(map[string]string); ok {
			return checkTextMap(path, m)
		}
	}
	return nil
}

// checkTextMap checks a metadata map: keys are one line, values may span
// lines. Of several bad entries the one with the smallest key is reported.
func checkTextMap(path string, m map[string]string) error {
	var bad []string
	for k, v := range m {
		if store.TextProblem(k, 0, store.TextLine) != "" || store.TextProblem(v, 0, store.TextMultiline) != "" {
			bad = append(bad, k)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	slices.Sort(bad)
	k := bad[0]
	if p := store.TextProblem(k, 0, store.TextLine); p != "" {
		return invalid(path, "a %s key %s", path, p)
	}
	return store.CheckText(path+"."+k, m[k], 0, store.TextMultiline)
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

// checkStruct validates v — the text rule first (checkText), then the
// validate tags — and returns the first problem as a *FieldError whose
// Field is prefixed with prefix ("" or e.g. "admin.").
func (s *Service) checkStruct(v any, prefix string) error {
	if err := checkText(v, prefix); err != nil {
		return err
	}
	return s.checkTags(v, prefix)
}

// checkTags is checkStruct without the text rule.
func (s *Service) checkTags(v any, prefix string) error {
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

// translate turns one validator error into a *FieldError. An error about
// a metadata entry names the entry ("metadata.plan"), an error about the
// map as a whole the map ("metadata").
func translate(fe validator.FieldError, prefix, path string) *FieldError {
	if mf, key, ok := mapField(path); ok {
		field := prefix + mf
		entry := field + "." + key
		switch fe.Tag() {
		case "mdkey":
			return invalid(entry, "%s keys must be %d–%d characters (key %s)", field, MinMetadataKeyLen, MaxMetadataKeyLen, quoteShort(key))
		case "mdvalue":
			return invalid(entry, "%s values must be %d–%d characters (key %s)", field, MinMetadataValLen, MaxMetadataValLen, quoteShort(key))
		}
		return invalid(entry, "%s is not valid", entry)
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
	// The compiled verdicts first (validate_invite.go); the reflective
	// checks name the problem.
	if !inviteTextOK(req) {
		if err := checkText(req, prefix); err != nil {
			return err // the raw values, before trimming and normalizing
		}
	}
	email, err := NormalizeEmail(req.Email)
	if err != nil {
		fe := err.(*FieldError)
		fe.Field = prefix + fe.Field
		return fe
	}
	req.Email = email
	req.ExternalID = strings.TrimSpace(req.ExternalID)
	if !s.inviteTagsOK(req) {
		if err := s.checkTags(req, prefix); err != nil {
			return err
		}
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
