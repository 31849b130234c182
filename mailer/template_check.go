package mailer

import (
	"cmp"
	"errors"
	htmltemplate "html/template"
	"maps"
	"regexp"
	"slices"
	"strconv"
	texttemplate "text/template"
	"time"

	"github.com/invitekit/invitekit/mailer/outbox"
)

// TemplateError is a template that failed to execute: at NewRenderer with
// sample data, or (for a failure that depends on the data) at Render. It
// names the file and the action at fault. The dispatcher never
// dead-letters a message for it: the message stays queued with its sealed
// link until a fixed template renders it (see Dispatcher).
type TemplateError struct {
	Kind   string // mail kind, e.g. "invitation"
	Locale string // template locale, e.g. "en"
	Part   string // "subject", "text" or "html"
	File   string // the template file at fault, e.g. "en/footer.txt"
	Line   int    // its line (0 when unknown)
	Field  string // the action that failed, e.g. ".OrgNmae" ("" when unknown)
	Err    error  // the text/template or html/template error

	reason string
}

func (e *TemplateError) Error() string {
	s := "mailer: template " + e.File
	if e.Line > 0 {
		s += ":" + strconv.Itoa(e.Line)
	}
	s += " (" + e.Part + " part of " + e.Locale + "/" + e.Kind + ")"
	if e.Field != "" {
		s += " at <" + e.Field + ">"
	}
	return s + ": " + e.reason
}

// Unwrap returns the template package's error.
func (e *TemplateError) Unwrap() error { return e.Err }

// execErrorRE splits text/template's "template: FILE:LINE:COL: executing
// NAME at <ACTION>: REASON".
var execErrorRE = regexp.MustCompile(`(?s)^template: (.+?):(\d+):\d+: executing "(?:[^"\\]|\\.)*" at <(.*?)>: (.*)$`)

// templateError wraps err, an error executing part, as a *TemplateError.
func (set *templateSet) templateError(part string, err error) error {
	te := &TemplateError{Kind: set.kind, Locale: set.locale, Part: part, Err: err, reason: err.Error()}
	te.File = set.locale + "/" + set.kind + map[string]string{"subject": subjectSuffix, "text": textSuffix, "html": htmlSuffix}[part]
	var he *htmltemplate.Error
	var ee texttemplate.ExecError
	switch {
	case errors.As(err, &he):
		// he.Name is a template's name: "layout", "content" or a file.
		if t := set.html.Lookup(he.Name); t != nil && t.Tree != nil {
			te.File = t.Tree.ParseName
		}
		te.Line, te.reason = he.Line, he.Description
	case errors.As(err, &ee):
		if m := execErrorRE.FindStringSubmatch(ee.Err.Error()); m != nil {
			te.File, te.Field, te.reason = m[1], m[3], m[4]
			te.Line, _ = strconv.Atoi(m[2])
		}
	}
	return te
}

// check executes every template set with sample data: every field set, and
// only what a real message always has. Sets are checked in a fixed order so
// the error is the same on every run.
func (r *Renderer) check() error {
	for _, key := range slices.Sorted(maps.Keys(r.sets)) {
		set := r.sets[key]
		for _, td := range r.samples(set.kind, set.locale) {
			if _, err := set.execute(td); err != nil {
				return err
			}
		}
	}
	return nil
}

// samples returns the sample data for a kind and locale: one with every
// field and branding value set, one with only what a real message of kind
// always has.
func (r *Renderer) samples(kind, loc string) []TemplateData {
	const link = "https://app.example/accept?token=inv_sample.c2FtcGxl"
	expire := time.Date(2030, time.January, 2, 15, 4, 0, 0, time.UTC)
	data := map[string]string{
		outbox.DataOrgID: "org_sample", outbox.DataOrgName: "Sample Org",
		outbox.DataFirstName: "Ann", outbox.DataLastName: "Example", outbox.DataName: "Ann Example",
		outbox.DataInviterName: "Bob Example", outbox.DataEmail: "ann@example.com",
		outbox.DataLocale: loc, outbox.DataOrgLocale: loc, outbox.DataExpireTime: expire.Format(time.RFC3339),
	}
	app := r.branding
	app.AppURL = cmp.Or(app.AppURL, "https://app.example/")
	app.LogoURL = cmp.Or(app.LogoURL, "https://app.example/logo.png")
	app.FooterText = cmp.Or(app.FooterText, "Sample Ltd, 1 Example Street")
	app.SupportEmail = cmp.Or(app.SupportEmail, "help@app.example")
	full := r.templateData(kind, loc, data, map[string]string{outbox.SecretAcceptURL: link})
	full.App = app

	var secret map[string]string
	if outbox.HasLink(kind) {
		secret = map[string]string{outbox.SecretAcceptURL: link}
	}
	bare := r.templateData(kind, loc, map[string]string{}, secret)
	return []TemplateData{full, bare}
}
