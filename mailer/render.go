package mailer

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"net/url"
	"path"
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
	// ErrMissingLink means an invitation-type mail was rendered without a
	// usable accept_url in its secret data.
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

// RenderConfig configures NewRenderer. The zero value renders the embedded
// English and German templates with default branding.
type RenderConfig struct {
	Branding Branding
	// DefaultLocale is used when neither the invitee's nor the org's
	// locale has templates (default "en"; it must have templates).
	DefaultLocale string
	// Overrides replaces any embedded template file with a file of the
	// same path, and may add locales (a new directory) or kinds (a new
	// "<kind>.subject.txt" with its ".txt" and ".html"). Paths:
	//
	//	layout.html               HTML shell: defines "layout", calls "content" and "footer"
	//	<locale>/footer.html      defines "footer" (HTML)
	//	<locale>/footer.txt       defines "footer" (text)
	//	<locale>/<kind>.subject.txt  subject (text/template, flattened to one line)
	//	<locale>/<kind>.txt       text part (text/template)
	//	<locale>/<kind>.html      HTML part (html/template): defines "content" to
	//	                          use the layout, or is a whole document itself
	//
	// Kinds are outbox.KindInvitation, KindReminder, KindRenewed, KindAdded.
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

// TemplateData is what every template sees as ".".
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

	Data   map[string]string // all non-secret data
	Secret map[string]string // all secret data (the accept link); never log it
}

// Renderer renders mails from embedded (or overridden) templates. All
// templates are parsed by NewRenderer; Render only executes them. A Renderer
// is safe for concurrent use.
type Renderer struct {
	branding      Branding
	defaultLocale string
	sets          map[string]*templateSet // key: locale + "/" + kind
	kinds         map[string]bool
}

type templateSet struct {
	subject *texttemplate.Template
	text    *texttemplate.Template
	html    *htmltemplate.Template
	layout  bool // html defines "content": execute "layout"
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

// NewRenderer parses the embedded templates and cfg.Overrides. A template
// that does not parse, a bad branding value, or a DefaultLocale without
// templates is an error.
func NewRenderer(cfg RenderConfig) (*Renderer, error) {
	b := cfg.Branding
	if b.AppName == "" {
		b.AppName = "invitekit"
	}
	if b.PrimaryColor == "" {
		b.PrimaryColor = "#2563eb"
	}
	if b.BackgroundColor == "" {
		b.BackgroundColor = "#f4f4f5"
	}
	for _, c := range []struct{ name, v string }{{"PrimaryColor", b.PrimaryColor}, {"BackgroundColor", b.BackgroundColor}} {
		if !isHexColor(c.v) {
			return nil, fmt.Errorf("mailer: Branding.%s %q: want #rgb or #rrggbb", c.name, c.v)
		}
	}
	for _, u := range []struct{ name, v string }{{"LogoURL", b.LogoURL}, {"AppURL", b.AppURL}} {
		if u.v != "" && !isHTTPURL(u.v) {
			return nil, fmt.Errorf("mailer: Branding.%s: want an absolute http(s) URL", u.name)
		}
	}
	if hasControl(b.AppName) || hasControl(b.FooterText) || hasControl(b.SupportEmail) {
		return nil, fmt.Errorf("mailer: Branding: %w", ErrHeaderInjection)
	}
	def := cfg.DefaultLocale
	if def == "" {
		def = "en"
	}
	if NormalizeLocale(def) == "" {
		return nil, fmt.Errorf("mailer: DefaultLocale %q is not a locale tag", def)
	}
	def = NormalizeLocale(def)

	base, err := fs.Sub(embeddedTemplates, "templates")
	if err != nil {
		return nil, fmt.Errorf("mailer: %w", err)
	}
	lf := layeredFS{top: cfg.Overrides, base: base}
	r := &Renderer{branding: b, defaultLocale: def, sets: map[string]*templateSet{}, kinds: map[string]bool{}}

	locales, err := lf.dirs()
	if err != nil {
		return nil, err
	}
	for _, loc := range locales {
		if NormalizeLocale(loc) != loc {
			continue // not a locale directory
		}
		kinds, err := lf.kinds(loc)
		if err != nil {
			return nil, err
		}
		for _, kind := range kinds {
			set, err := lf.parse(loc, kind)
			if err != nil {
				return nil, err
			}
			if set != nil {
				r.sets[loc+"/"+kind] = set
				r.kinds[kind] = true
			}
		}
	}
	if !slices.ContainsFunc(r.Locales(), func(l string) bool { return l == def }) {
		return nil, fmt.Errorf("mailer: DefaultLocale %q has no templates", def)
	}
	return r, nil
}

// Locales lists the locales with at least one complete mail, sorted.
func (r *Renderer) Locales() []string {
	seen := map[string]bool{}
	var out []string
	for k := range r.sets {
		loc, _, _ := strings.Cut(k, "/")
		if !seen[loc] {
			seen[loc] = true
			out = append(out, loc)
		}
	}
	slices.Sort(out)
	return out
}

// Locale returns the locale Render would use for kind: the first of locale,
// data[outbox.DataLocale] (the invitee's), data[outbox.DataOrgLocale] and
// the default that has templates for kind, each tried with its fallbacks ("de-AT" → "de").
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
// secret[outbox.SecretAcceptURL], an http(s) URL.
//
// User-provided values can inject nothing: the HTML part is escaped by
// html/template (a URL that is not http(s)/mailto becomes "#ZgotmplZ"), and
// the subject is flattened to one line with SanitizeHeaderText.
func (r *Renderer) Render(kind, locale string, data, secret map[string]string) (Rendered, error) {
	loc := r.Locale(kind, locale, data)
	if loc == "" {
		return Rendered{}, fmt.Errorf("%w: %q", ErrUnknownKind, kind)
	}
	set := r.sets[loc+"/"+kind]
	td := r.templateData(kind, loc, data, secret)
	if outbox.HasLink(kind) && !isHTTPURL(td.AcceptURL) {
		return Rendered{}, ErrMissingLink
	}
	var subj, text, html bytes.Buffer
	if err := set.subject.Execute(&subj, td); err != nil {
		return Rendered{}, fmt.Errorf("mailer: render %s/%s subject: %w", loc, kind, err)
	}
	if err := set.text.Execute(&text, td); err != nil {
		return Rendered{}, fmt.Errorf("mailer: render %s/%s text: %w", loc, kind, err)
	}
	var err error
	if set.layout {
		err = set.html.ExecuteTemplate(&html, "layout", td)
	} else {
		err = set.html.Execute(&html, td)
	}
	if err != nil {
		return Rendered{}, fmt.Errorf("mailer: render %s/%s html: %w", loc, kind, err)
	}
	return Rendered{
		Subject: SanitizeHeaderText(subj.String()),
		Text:    strings.TrimSpace(normalizeNewlines(text.String())) + "\n",
		HTML:    strings.TrimSpace(html.String()) + "\n",
		Locale:  loc,
	}, nil
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

// layeredFS reads a file from top when it has it, else from base.
type layeredFS struct {
	top  fs.FS // may be nil
	base fs.FS
}

func (l layeredFS) read(name string) ([]byte, bool, error) {
	if l.top != nil {
		b, err := fs.ReadFile(l.top, name)
		if err == nil {
			return b, true, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, false, fmt.Errorf("mailer: template override %s: %w", name, err)
		}
	}
	b, err := fs.ReadFile(l.base, name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("mailer: template %s: %w", name, err)
	}
	return b, true, nil
}

func (l layeredFS) readDir(name string) ([]fs.DirEntry, error) {
	var all []fs.DirEntry
	for _, f := range []fs.FS{l.top, l.base} {
		if f == nil {
			continue
		}
		es, err := fs.ReadDir(f, name)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("mailer: templates: %w", err)
		}
		all = append(all, es...)
	}
	return all, nil
}

// dirs lists the top-level directories (candidate locales).
func (l layeredFS) dirs() ([]string, error) {
	es, err := l.readDir(".")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range es {
		if e.IsDir() && !slices.Contains(out, e.Name()) {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// kinds lists the kinds with a subject template in loc.
func (l layeredFS) kinds(loc string) ([]string, error) {
	es, err := l.readDir(loc)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range es {
		if kind, ok := strings.CutSuffix(e.Name(), ".subject.txt"); ok && !e.IsDir() && !slices.Contains(out, kind) {
			out = append(out, kind)
		}
	}
	return out, nil
}

// parse parses one locale's templates of one kind. It returns nil, nil when
// a part is missing (the kind is then not available in loc).
func (l layeredFS) parse(loc, kind string) (*templateSet, error) {
	files := map[string][]byte{}
	for _, name := range []string{
		path.Join(loc, kind+".subject.txt"), path.Join(loc, kind+".txt"), path.Join(loc, kind+".html"),
		path.Join(loc, "footer.txt"), path.Join(loc, "footer.html"), "layout.html",
	} {
		b, ok, err := l.read(name)
		if err != nil {
			return nil, err
		}
		if ok {
			files[name] = b
		}
	}
	for _, need := range []string{".subject.txt", ".txt", ".html"} {
		if files[path.Join(loc, kind+need)] == nil {
			return nil, nil
		}
	}
	set := &templateSet{}
	var err error
	name := path.Join(loc, kind+".subject.txt")
	if set.subject, err = texttemplate.New(name).Option("missingkey=zero").Parse(string(files[name])); err != nil {
		return nil, fmt.Errorf("mailer: template %s: %w", name, err)
	}
	name = path.Join(loc, kind+".txt")
	if set.text, err = texttemplate.New(name).Option("missingkey=zero").Parse(string(files[name])); err != nil {
		return nil, fmt.Errorf("mailer: template %s: %w", name, err)
	}
	if footer := files[path.Join(loc, "footer.txt")]; footer != nil {
		if _, err := set.text.New(path.Join(loc, "footer.txt")).Parse(string(footer)); err != nil {
			return nil, fmt.Errorf("mailer: template %s/footer.txt: %w", loc, err)
		}
	}
	name = path.Join(loc, kind+".html")
	if set.html, err = htmltemplate.New(name).Option("missingkey=zero").Parse(string(files[name])); err != nil {
		return nil, fmt.Errorf("mailer: template %s: %w", name, err)
	}
	if set.html.Lookup("content") != nil {
		set.layout = true
		for _, extra := range []string{path.Join(loc, "footer.html"), "layout.html"} {
			b := files[extra]
			if b == nil {
				return nil, fmt.Errorf("mailer: template %s needs %s", name, extra)
			}
			if _, err := set.html.New(extra).Parse(string(b)); err != nil {
				return nil, fmt.Errorf("mailer: template %s: %w", extra, err)
			}
		}
		if set.html.Lookup("layout") == nil {
			return nil, fmt.Errorf("mailer: template layout.html must define \"layout\"")
		}
	}
	return set, nil
}
