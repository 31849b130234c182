package mailer

import (
	"bytes"
	"cmp"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"net/url"
	"slices"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/invitekit/invitekit/mailer/outbox"
)

//go:embed templates
var embeddedTemplates embed.FS

// Render errors.
var (
	// ErrUnknownKind means no locale has templates for the mail kind.
	ErrUnknownKind = errors.New("mailer: no templates for this mail kind")
	// ErrMissingLink means an invitation-type mail (outbox.HasLink) was
	// rendered without a usable outbox.SecretAcceptURL in its secret data.
	ErrMissingLink = errors.New("mailer: invitation mail needs an http(s) accept_url")
)

// Branding is what the default templates show of the app. Every field is
// optional.
type Branding struct {
	AppName string // shown in the header and footer; default "invitekit"
	// AppURL is the app's home or sign-in page; the "you were added" mail
	// links to it. Must be an absolute http(s) URL when set.
	AppURL string
	// LogoURL is an absolute http(s) URL of a logo image (about 40px high).
	LogoURL string
	// PrimaryColor colours buttons and links: "#rgb" or "#rrggbb"
	// (default "#2563eb").
	PrimaryColor string
	// BackgroundColor is the page background (default "#f4f4f5").
	BackgroundColor string
	// FooterText is an extra footer line (company address, …).
	FooterText string
	// SupportEmail, when set, is named in the footer.
	SupportEmail string
}

// withDefaults fills b's defaults and validates it.
func (b Branding) withDefaults() (Branding, error) {
	b.AppName = cmp.Or(b.AppName, "invitekit")
	b.PrimaryColor = cmp.Or(b.PrimaryColor, "#2563eb")
	b.BackgroundColor = cmp.Or(b.BackgroundColor, "#f4f4f5")
	for _, c := range []struct{ name, v string }{{"PrimaryColor", b.PrimaryColor}, {"BackgroundColor", b.BackgroundColor}} {
		if !isHexColor(c.v) {
			return Branding{}, fmt.Errorf("mailer: Branding.%s %q: want #rgb or #rrggbb", c.name, c.v)
		}
	}
	for _, u := range []struct{ name, v string }{{"LogoURL", b.LogoURL}, {"AppURL", b.AppURL}} {
		if u.v != "" && !isHTTPURL(u.v) {
			return Branding{}, fmt.Errorf("mailer: Branding.%s: want an absolute http(s) URL", u.name)
		}
	}
	if hasControl(b.AppName) || hasControl(b.FooterText) || hasControl(b.SupportEmail) {
		return Branding{}, fmt.Errorf("mailer: Branding: %w", ErrHeaderInjection)
	}
	return b, nil
}

// RenderConfig configures NewRenderer. The zero value renders the embedded
// English and German templates with default branding.
type RenderConfig struct {
	Branding Branding
	// DefaultLocale is used when neither the invitee's nor the org's
	// locale has templates (default "en"; it must have templates).
	DefaultLocale string
	// Overrides replaces any embedded template file with a file of the
	// same path, and may add locales (a new directory) or kinds (a new
	// "<kind>.subject.txt" with its ".txt" and ".html"). Paths are relative
	// to the root of Overrides (with os.DirFS("mail"): mail/en/invitation.txt;
	// for an embed.FS, fs.Sub it to the directory holding them):
	//
	//	layout.html               HTML shell: defines "layout", calls "content" and "footer"
	//	<locale>/footer.html      defines "footer" (HTML)
	//	<locale>/footer.txt       defines "footer" (text)
	//	<locale>/<kind>.subject.txt  subject (text/template, flattened to one line)
	//	<locale>/<kind>.txt       text part (text/template)
	//	<locale>/<kind>.html      HTML part (html/template): defines "content" to
	//	                          use the layout, or is a whole document itself
	//
	// Kinds are outbox.KindInvitation, KindReminder, KindRenewed, KindAdded
	// and any kind an override adds. Any other file in Overrides (other than
	// one whose name starts with ".") is an error, so a misplaced or
	// misspelt override is never silently ignored.
	Overrides fs.FS
}

// Rendered is a rendered mail without its envelope.
type Rendered struct {
	Subject string // one line, control characters removed
	Text    string
	HTML    string
	Locale  string // the locale whose templates were used
}

// Message returns a Message with these parts for to, carrying messageID.
func (r Rendered) Message(to, messageID string) Message {
	return Message{To: to, Subject: r.Subject, Text: r.Text, HTML: r.HTML, MessageID: messageID}
}

// TemplateData is what every template sees as ".". A misspelt field
// ({{.OrgNmae}}) is an error, which NewRenderer reports.
type TemplateData struct {
	Kind   string
	Locale string
	App    Branding

	OrgID       string
	OrgName     string
	FirstName   string
	LastName    string
	Name        string // display name; FirstName + LastName when empty
	InviterName string
	Email       string

	AcceptURL  string    // from the sealed secret data ("" for outbox.KindAdded)
	ExpireTime time.Time // zero when unknown
	Expires    string    // ExpireTime formatted for Locale ("" when unknown)

	// Data is all non-secret data (keys outbox.Data… and a custom kind's
	// own); a key the message does not have reads as "".
	Data map[string]string
	// Secret is all secret data (the accept link); never log it.
	Secret map[string]string
}

// Renderer renders mails from embedded (or overridden) templates. All
// templates are parsed and executed with sample data by NewRenderer; Render
// only executes them. A Renderer is safe for concurrent use.
type Renderer struct {
	branding      Branding
	defaultLocale string
	sets          map[string]*templateSet // key: locale + "/" + kind
}

// NewRenderer parses the embedded templates and cfg.Overrides and executes
// every one of them (each kind and locale, subject, text and HTML) with
// sample data, once with every field set and once with the optional ones
// empty. A template that does not parse or execute (a misspelt field, a
// missing "footer"), an override file that is not a template path, a bad
// branding value, or a DefaultLocale without templates is an error.
func NewRenderer(cfg RenderConfig) (*Renderer, error) {
	b, err := cfg.Branding.withDefaults()
	if err != nil {
		return nil, err
	}
	def := NormalizeLocale(cmp.Or(cfg.DefaultLocale, "en"))
	if def == "" {
		return nil, fmt.Errorf("mailer: DefaultLocale %q is not a locale tag", cfg.DefaultLocale)
	}
	sets, err := loadTemplates(cfg.Overrides)
	if err != nil {
		return nil, err
	}
	r := &Renderer{branding: b, defaultLocale: def, sets: sets}
	if !slices.Contains(r.Locales(), def) {
		return nil, fmt.Errorf("mailer: DefaultLocale %q has no templates", def)
	}
	if err := r.check(); err != nil {
		return nil, err
	}
	return r, nil
}

// Locales lists the locales with at least one complete mail, sorted.
func (r *Renderer) Locales() []string {
	var out []string
	for k := range r.sets {
		loc, _, _ := strings.Cut(k, "/")
		if !slices.Contains(out, loc) {
			out = append(out, loc)
		}
	}
	slices.Sort(out)
	return out
}

// Locale returns the locale Render would use for kind: the first of locale,
// data[outbox.DataLocale] (the invitee's), data[outbox.DataOrgLocale] and
// the default that has templates for kind, each tried with its fallbacks
// ("de-AT" → "de").
func (r *Renderer) Locale(kind, locale string, data map[string]string) string {
	for _, cand := range []string{locale, data[outbox.DataLocale], data[outbox.DataOrgLocale], r.defaultLocale} {
		for _, loc := range localeFallbacks(NormalizeLocale(cand)) {
			if r.sets[loc+"/"+kind] != nil {
				return loc
			}
		}
	}
	return ""
}

// Render renders mail kind for the given data and secret (keys of package
// mailer/outbox). locale, when not empty, is preferred over data's locales
// (see Locale). The kinds with a link (outbox.HasLink) need
// secret[outbox.SecretAcceptURL], an http(s) URL. A template that fails on
// this data is a *TemplateError naming the file and the field.
//
// User-provided values can inject nothing: the HTML part is escaped by
// html/template (a URL that is not http(s)/mailto becomes "#ZgotmplZ"), and
// the subject is flattened to one line with SanitizeHeaderText.
func (r *Renderer) Render(kind, locale string, data, secret map[string]string) (Rendered, error) {
	loc := r.Locale(kind, locale, data)
	if loc == "" {
		return Rendered{}, fmt.Errorf("%w: %q", ErrUnknownKind, kind)
	}
	td := r.templateData(kind, loc, data, secret)
	if outbox.HasLink(kind) && !isHTTPURL(td.AcceptURL) {
		return Rendered{}, ErrMissingLink
	}
	return r.sets[loc+"/"+kind].execute(td)
}

func (r *Renderer) templateData(kind, loc string, data, secret map[string]string) TemplateData {
	td := TemplateData{
		Kind:        kind,
		Locale:      loc,
		App:         r.branding,
		OrgID:       data[outbox.DataOrgID],
		OrgName:     oneLine(data[outbox.DataOrgName]),
		FirstName:   oneLine(data[outbox.DataFirstName]),
		LastName:    oneLine(data[outbox.DataLastName]),
		Name:        oneLine(data[outbox.DataName]),
		InviterName: oneLine(data[outbox.DataInviterName]),
		Email:       oneLine(data[outbox.DataEmail]),
		AcceptURL:   strings.TrimSpace(secret[outbox.SecretAcceptURL]),
		Data:        data,
		Secret:      secret,
	}
	if td.Name == "" {
		td.Name = strings.TrimSpace(td.FirstName + " " + td.LastName)
	}
	if t, err := time.Parse(time.RFC3339Nano, data[outbox.DataExpireTime]); err == nil {
		td.ExpireTime = t
		td.Expires = formatExpire(loc, t)
	}
	return td
}

// templateSet is one locale's parsed templates of one kind.
type templateSet struct {
	locale, kind string
	subject      *texttemplate.Template
	text         *texttemplate.Template
	html         *htmltemplate.Template
	layout       bool // html defines "content": execute "layout"
}

// execute renders the three parts for td.
func (set *templateSet) execute(td TemplateData) (Rendered, error) {
	var subj, text, html bytes.Buffer
	if err := set.subject.Execute(&subj, td); err != nil {
		return Rendered{}, set.templateError("subject", err)
	}
	if err := set.text.Execute(&text, td); err != nil {
		return Rendered{}, set.templateError("text", err)
	}
	var err error
	if set.layout {
		err = set.html.ExecuteTemplate(&html, "layout", td)
	} else {
		err = set.html.Execute(&html, td)
	}
	if err != nil {
		return Rendered{}, set.templateError("html", err)
	}
	return Rendered{
		Subject: SanitizeHeaderText(subj.String()),
		Text:    strings.TrimSpace(normalizeNewlines(text.String())) + "\n",
		HTML:    strings.TrimSpace(html.String()) + "\n",
		Locale:  set.locale,
	}, nil
}

// oneLine flattens user-provided names: a name never spans lines, in any part.
func oneLine(s string) string { return SanitizeHeaderText(s) }

func normalizeNewlines(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.ReplaceAll(s, "\r", "\n")
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && !hasControl(s)
}

// isHexColor reports whether s is "#rgb" or "#rrggbb".
func isHexColor(s string) bool {
	if len(s) != 4 && len(s) != 7 || s[0] != '#' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') && (c < 'A' || c > 'F') {
			return false
		}
	}
	return true
}
