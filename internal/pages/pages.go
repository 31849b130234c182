// Package pages is the one look of the HTML pages the kit serves (team
// page, import, accept, every refusal page, the dev provider's pages and
// the dev inbox): one embedded stylesheet (no CDN, no build step, no
// JavaScript), the page shell, the refusal pages (chosen by the error
// table's code, with next steps that fit the case) and their words in
// English and German, negotiated like the mails (the user's locale, then
// Accept-Language, then the organization's default).
package pages

import (
	_ "embed"
	"html/template"
	"io"
	"strings"
	"time"
)

//go:embed pages.css
var css string

// CSS is the shared stylesheet. It styles markup under body.ik-shell and
// follows the system's dark mode (prefers-color-scheme).
func CSS() string { return css }

// StyleTag is CSS in a <style> element, for pages whose Content-Security-
// Policy allows inline styles only.
func StyleTag() template.HTML { return template.HTML("<style>" + css + "</style>") }

// Page is one page in the shared shell.
type Page struct {
	Lang  string // "en" or "de"; "" is "en"
	Title string
	// Brand, when set, is shown above the content (the app's name).
	Brand string
	// Note, when set, is a banner above everything (the dev pages say
	// they are for development only).
	Note string
	// Wide widens the content column (lists, the dev inbox).
	Wide bool
	// Head is extra markup for <head> (an app's own stylesheet).
	Head template.HTML
	Body template.HTML
}

var shell = template.Must(template.New("shell").Parse(`<!doctype html>
<html lang="{{.Lang}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{{.Title}}</title>
{{.Style}}{{.Head}}
</head>
<body class="ik-shell">
{{if .Note}}<p class="ik-note" role="note">{{.Note}}</p>
{{end}}<main id="main"{{if .Wide}} class="ik-wide"{{end}}>
{{if .Brand}}<p class="ik-brand">{{.Brand}}</p>
{{end}}{{.Body}}
</main>
</body>
</html>
`))

// Write renders p in the shell (the stylesheet inline).
func Write(w io.Writer, p Page) error {
	if p.Lang == "" {
		p.Lang = DefaultLang
	}
	return shell.Execute(w, struct {
		Page
		Style template.HTML
	}{p, StyleTag()})
}

// DefaultLang is the language when nothing else decides.
const DefaultLang = "en"

// Langs are the languages every page's text exists in.
var Langs = []string{"en", "de"}

func supported(tag string) string {
	tag = strings.ToLower(strings.TrimSpace(tag))
	tag = strings.ReplaceAll(tag, "_", "-")
	primary, _, _ := strings.Cut(tag, "-")
	for _, l := range Langs {
		if primary == l {
			return l
		}
	}
	return ""
}

// Negotiate picks a page's language the way the mails pick theirs: the
// user's own locale when it is one of Langs, else the first supported
// language of the Accept-Language header (by q-value, q=0 excluded), else
// the organization's default, else DefaultLang.
func Negotiate(userLocale, acceptLanguage, orgDefault string) string {
	if l := supported(userLocale); l != "" {
		return l
	}
	if l := fromAcceptLanguage(acceptLanguage); l != "" {
		return l
	}
	if l := supported(orgDefault); l != "" {
		return l
	}
	return DefaultLang
}

func fromAcceptLanguage(h string) string {
	best, bestQ := "", -1.0
	for part := range strings.SplitSeq(h, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			q = parseQ(v)
		}
		l := supported(tag)
		if l == "" || q <= 0 {
			continue
		}
		if q > bestQ {
			best, bestQ = l, q
		}
	}
	return best
}

// parseQ reads a qvalue ("1", "0.8", "0.05"); anything else is 0.
func parseQ(v string) float64 {
	v = strings.TrimSpace(v)
	if v == "" || len(v) > 5 {
		return 0
	}
	if v[0] == '1' {
		return 1
	}
	if v[0] != '0' {
		return 0
	}
	q, scale := 0.0, 0.1
	for i := 1; i < len(v); i++ {
		if i == 1 {
			if v[i] != '.' {
				return 0
			}
			continue
		}
		c := v[i]
		if c < '0' || c > '9' {
			return 0
		}
		q += float64(c-'0') * scale
		scale /= 10
	}
	return q
}

// germanMonths are the month names, January first.
var germanMonths = [12]string{"Januar", "Februar", "März", "April", "Mai", "Juni",
	"Juli", "August", "September", "Oktober", "November", "Dezember"}

// FormatTime renders t (in UTC) the one way of lang, the same as the
// mails: "January 2, 2006 at 15:04 UTC", "2. Januar 2006 um 15:04 UTC".
func FormatTime(lang string, t time.Time) string {
	t = t.UTC()
	if supported(lang) == "de" {
		return t.Format("2. ") + germanMonths[t.Month()-1] + t.Format(" 2006") + " um " + t.Format("15:04") + " UTC"
	}
	return t.Format("January 2, 2006 at 15:04 UTC")
}
