package teampage

import (
	"time"

	"github.com/invitekit/invitekit/internal/pages"
	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/store"
)

// tr is a page's language: the words of internal/pages' catalog (the
// team.* keys), in the one negotiation of every kit page
// (pages.RequestLang: Config.Locale, then Accept-Language, then the
// organization's locale). Templates call it as {{$.L.T "team.members_title"}}.
type tr string

// Lang is the language tag ("en", "de").
func (l tr) Lang() string { return string(l) }

// T is the text of key.
func (l tr) T(key string) string { return pages.T(string(l), key) }

// Tf is T formatted with args.
func (l tr) Tf(key string, args ...any) string { return pages.Tf(string(l), key, args...) }

// Count is key's "_one" or "_many" text with n ("1 member", "3 members").
func (l tr) Count(n int, key string) string {
	if n == 1 {
		return l.Tf(key+"_one", n)
	}
	return l.Tf(key+"_many", n)
}

// Time renders t the one way of the language (the mails' way); zero is "".
func (l tr) Time(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return pages.FormatTime(string(l), t)
}

// Status is a membership status in words.
func (l tr) Status(s store.MembershipStatus) string {
	for _, o := range statusOptions {
		if o.value == s {
			return l.T(o.key)
		}
	}
	return string(s)
}

// Result is an import row's result in words.
func (l tr) Result(s invite.BulkRowStatus) string {
	key := map[invite.BulkRowStatus]string{
		invite.BulkCreated:         "team.res_created",
		invite.BulkAlreadyMember:   "team.res_already",
		invite.BulkInvalid:         "team.res_invalid",
		invite.BulkRefused:         "team.res_refused",
		invite.BulkDuplicateInFile: "team.res_duplicate",
		invite.BulkFailed:          "team.res_failed",
		invite.BulkHeld:            "team.res_held",
	}[s]
	if key == "" {
		return string(s)
	}
	return l.T(key)
}

// State is an import job's state in words.
func (l tr) State(s string) string {
	if k := "team.state_" + s; pages.Has(pages.DefaultLang, k) {
		return l.T(k)
	}
	return s
}
