package mailer

import (
	"time"

	"github.com/invitekit/invitekit/internal/pages"
)

// devPage is what the dev inbox page renders: the mails, newest first,
// in the kit's look and the request's language.
type devPage struct {
	Mails []devPageMail
	Lang  string
}

func (p devPage) T(key string) string           { return pages.T(p.Lang, key) }
func (p devPage) FormatTime(t time.Time) string { return pages.FormatTime(p.Lang, t) }
