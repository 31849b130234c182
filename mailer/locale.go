package mailer

import (
	"strings"
	"time"
)

// NormalizeLocale turns a BCP 47-ish tag into the form used for template
// directories: trimmed, lower case, "_" replaced by "-" ("de_AT" → "de-at").
// It returns "" for anything that is not 1–8 letter/digit subtags separated
// by "-" (at most 35 characters), so a hostile locale can never name a path.
func NormalizeLocale(tag string) string {
	tag = strings.ToLower(strings.TrimSpace(tag))
	tag = strings.ReplaceAll(tag, "_", "-")
	if tag == "" || len(tag) > 35 {
		return ""
	}
	for sub := range strings.SplitSeq(tag, "-") {
		if len(sub) == 0 || len(sub) > 8 {
			return ""
		}
		for i := 0; i < len(sub); i++ {
			c := sub[i]
			if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
				return ""
			}
		}
	}
	// The primary language subtag is letters only.
	primary, _, _ := strings.Cut(tag, "-")
	for i := 0; i < len(primary); i++ {
		if primary[i] < 'a' || primary[i] > 'z' {
			return ""
		}
	}
	return tag
}

// localeFallbacks returns tag and its shorter prefixes: "de-at-x1" →
// ["de-at-x1", "de-at", "de"]. tag must be normalized.
func localeFallbacks(tag string) []string {
	var out []string
	for tag != "" {
		out = append(out, tag)
		i := strings.LastIndexByte(tag, '-')
		if i < 0 {
			break
		}
		tag = tag[:i]
	}
	return out
}

// formatExpire renders an expiry time for the mail's locale, in UTC.
func formatExpire(locale string, t time.Time) string {
	t = t.UTC()
	primary, _, _ := strings.Cut(locale, "-")
	switch primary {
	case "en":
		return t.Format("January 2, 2006 at 15:04 UTC")
	case "de":
		return germanMonthDate(t) + " um " + t.Format("15:04") + " UTC"
	}
	return t.Format("2006-01-02 15:04 UTC")
}

// germanMonths are the month names, January first.
var germanMonths = [12]string{"Januar", "Februar", "März", "April", "Mai", "Juni",
	"Juli", "August", "September", "Oktober", "November", "Dezember"}

func germanMonthDate(t time.Time) string {
	return t.Format("2. ") + germanMonths[t.Month()-1] + t.Format(" 2006")
}
