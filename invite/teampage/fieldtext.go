package teampage

import (
	"strings"

	"github.com/invitekit/invitekit/invite"
)

// fieldLabels are the words a person sees for the Service's field paths.
var fieldLabels = map[string]string{
	"email":                 "Email address",
	"userProfile.firstName": "First name",
	"userProfile.lastName":  "Last name",
	"roles":                 "Roles",
}

// personMessage is fe's message with the internal field path replaced by
// the form's label ("userProfile.firstName must be at most 100
// characters" → "First name must be at most 100 characters"); a path
// without a label is left out rather than shown.
func personMessage(fe *invite.FieldError) string {
	msg := fe.Message
	if fe.Field == "" || !strings.ContainsAny(fe.Field, ".[") {
		return msg // a plain word ("email") reads fine
	}
	label, ok := fieldLabels[fe.Field]
	if !ok && strings.HasPrefix(fe.Field, "roles") {
		label, ok = "Roles", true
	}
	if rest, found := strings.CutPrefix(msg, fe.Field); found {
		if !ok {
			label = "This value"
		}
		return label + rest
	}
	if strings.Contains(msg, fe.Field) {
		if !ok {
			label = "this value"
		}
		return strings.ReplaceAll(msg, fe.Field, strings.ToLower(label[:1])+label[1:])
	}
	return msg
}
