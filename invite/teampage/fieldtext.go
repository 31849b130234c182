package teampage

import (
	"regexp"
	"strings"

	"github.com/invitekit/invitekit/internal/pages"
	"github.com/invitekit/invitekit/invite"
)

// fieldLabels are the catalog keys of the words a person sees for the
// Service's field paths.
var fieldLabels = map[string]string{
	"email":                 "team.field_email",
	"userProfile.firstName": "team.field_first_name",
	"userProfile.lastName":  "team.field_last_name",
	"roles":                 "team.field_roles",
	"connectionId":          "sso.connection_id",
}

// fieldMessages are the Service's field messages the page says in the
// person's language (the rest keep the Service's English words, with the
// field in words): the field path, then the rule's own values.
var fieldMessages = []struct {
	re  *regexp.Regexp
	key string
}{
	{regexp.MustCompile(`^(\S+) is required$`), "team.fe_required"},
	{regexp.MustCompile(`^(\S+) must be at most (\d+) characters$`), "team.fe_max"},
	{regexp.MustCompile(`^(\S+) is not a valid email address$`), "team.fe_email"},
}

// personMessage is fe's message with the internal field path replaced by
// the form's label ("userProfile.firstName must be at most 100
// characters" → "First name must be at most 100 characters"), in the
// page's language; a path without a label is left out rather than shown.
func personMessage(l tr, fe *invite.FieldError) string {
	msg := fe.Message
	key, ok := fieldLabels[fe.Field]
	if !ok && strings.HasPrefix(fe.Field, "roles") {
		key, ok = "team.field_roles", true
	}
	if !ok {
		key = "team.field_value"
	}
	label := l.T(key)
	if l.Lang() != pages.DefaultLang {
		if s, ok := translatedFieldMessage(l, fe, label); ok {
			return s
		}
	}
	if fe.Field == "" || !strings.ContainsAny(fe.Field, ".[") {
		return msg // a plain word ("email") reads fine
	}
	if rest, found := strings.CutPrefix(msg, fe.Field); found {
		return label + rest
	}
	if strings.Contains(msg, fe.Field) {
		return strings.ReplaceAll(msg, fe.Field, strings.ToLower(label[:1])+label[1:])
	}
	return msg
}

// translatedFieldMessage is fe's message in l when it is one of
// fieldMessages (or an unknown role).
func translatedFieldMessage(l tr, fe *invite.FieldError, label string) (string, bool) {
	msg := fe.Message
	for _, m := range fieldMessages {
		if g := m.re.FindStringSubmatch(msg); g != nil && g[1] == fe.Field {
			args := []any{label}
			for _, v := range g[2:] {
				args = append(args, v)
			}
			return l.Tf(m.key, args...), true
		}
	}
	if role, found := strings.CutPrefix(msg, "unknown role "); found && strings.HasPrefix(fe.Field, "roles") {
		return l.Tf("team.fe_role", role), true
	}
	return "", false
}
