package mailer

import (
	"errors"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/invitekit/invitekit/mailer/outbox"
)

// embeddedFile returns an embedded template file, for overrides that change
// one line of it.
func embeddedFile(t *testing.T, name string) string {
	t.Helper()
	b, err := embeddedTemplates.ReadFile("templates/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestNewRendererExecutesEveryTemplate: a template that parses but cannot
// execute fails NewRenderer, whichever file, part, kind, locale or branch it
// is in, with a *TemplateError naming the file and the action.
func TestNewRendererExecutesEveryTemplate(t *testing.T) {
	typo := func(name, old, new string) func(t *testing.T) fstest.MapFS {
		return func(t *testing.T) fstest.MapFS {
			body := embeddedFile(t, name)
			if !strings.Contains(body, old) {
				t.Fatalf("%s has no %q", name, old)
			}
			return fstest.MapFS{name: {Data: []byte(strings.Replace(body, old, new, 1))}}
		}
	}
	tests := []struct {
		name      string
		overrides func(t *testing.T) fstest.MapFS
		file      string // TemplateError.File
		part      string // TemplateError.Part
		field     string // in TemplateError.Field
	}{
		{"subject field typo", typo("en/invitation.subject.txt", "{{.OrgName}}", "{{.OrgNmae}}"), "en/invitation.subject.txt", "subject", ".OrgNmae"},
		{"text field typo", typo("de/reminder.txt", "{{.AcceptURL}}", "{{.AcceptUrl}}"), "de/reminder.txt", "text", ".AcceptUrl"},
		{"html field typo", typo("en/renewed.html", "{{.OrgName}}", "{{.Org.Name}}"), "en/renewed.html", "html", ".Org.Name"},
		// Only reached with an inviter, or without one.
		{"typo in a then branch", typo("de/added.subject.txt", "{{.OrgName}}", "{{if .InviterName}}{{.Inviter}}{{end}}"), "de/added.subject.txt", "subject", ".Inviter"},
		{"typo in an else branch", typo("en/invitation.txt", "{{.OrgName}}", "{{if .Expires}}x{{else}}{{.Expiry}}{{end}}"), "en/invitation.txt", "text", ".Expiry"},
		// Only reached with branding this config does not set.
		{"typo behind a branding branch", typo("layout.html", `{{if .App.LogoURL}}<img src="{{.App.LogoURL}}"`, `{{if .App.LogoURL}}<img src="{{.App.Logo}}"`), "layout.html", "html", ".App.Logo"},
		{"typo in a footer", typo("en/footer.txt", "{{.OrgName}}", "{{.Organization}}"), "en/footer.txt", "text", ".Organization"},
		{"text part without a footer", func(t *testing.T) fstest.MapFS {
			return fstest.MapFS{
				"fr/invitation.subject.txt": {Data: []byte("Invitation")},
				"fr/invitation.txt":         {Data: []byte("{{.AcceptURL}}\n{{template \"footer\" .}}")},
				"fr/invitation.html":        {Data: []byte(`<a href="{{.AcceptURL}}">ok</a>`)},
			}
		}, "fr/invitation.txt", "text", `template "footer"`},
		{"map data is no method", typo("en/invitation.txt", "{{.OrgName}}", "{{.Data.org_name.Upper}}"), "en/invitation.txt", "text", ".Data.org_name.Upper"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewRenderer(RenderConfig{Overrides: tt.overrides(t)})
			var te *TemplateError
			if !errors.As(err, &te) {
				t.Fatalf("NewRenderer: err = %v, want a *TemplateError", err)
			}
			if te.File != tt.file || te.Part != tt.part || !strings.Contains(te.Field, tt.field) || te.Line == 0 {
				t.Fatalf("TemplateError{File: %q, Line: %d, Part: %q, Field: %q}, want file %q, part %q, field %q", te.File, te.Line, te.Part, te.Field, tt.file, tt.part, tt.field)
			}
			if msg := err.Error(); !strings.Contains(msg, tt.file) || !strings.Contains(msg, tt.field) {
				t.Fatalf("error %q does not name the file %s and the field %s", msg, tt.file, tt.field)
			}
		})
	}
}

func TestNewRendererHTMLEscapingError(t *testing.T) {
	// Parses, but html/template cannot escape it: reported at NewRenderer.
	_, err := NewRenderer(RenderConfig{Overrides: fstest.MapFS{
		"en/added.html": {Data: []byte(`<p>{{.OrgName}}</p><a href="{{.App.AppURL}}`)},
	}})
	var te *TemplateError
	if !errors.As(err, &te) || te.Part != "html" || !strings.HasPrefix(te.File, "en/added.html") {
		t.Fatalf("err = %v (%+v), want a *TemplateError for en/added.html", err, te)
	}
}

// TestNewRendererRefusesUnusedOverrides: an override file the renderer would
// never read is an error, not silently ignored.
func TestNewRendererRefusesUnusedOverrides(t *testing.T) {
	ok := []byte("{{.OrgName}}")
	tests := []struct {
		name, file, want string
	}{
		{"templates/ prefix", "templates/en/invitation.subject.txt", `"templates" is not a locale directory`},
		{"misspelt kind", "en/invitaton.html", `no mail kind "invitaton" in en`},
		{"wrong extension", "en/invitation.htm", "not a template file name"},
		{"other file at the root", "README.md", "not a template file name"},
		{"other html at the root", "footer.html", "not a template file name"},
		{"too deep", "en/old/invitation.txt", "not a template file name"},
		{"footer of a locale without mail", "fr/footer.txt", "locale fr has no mail"},
		{"not a locale", "en_US!/invitation.txt", "is not a locale directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewRenderer(RenderConfig{Overrides: fstest.MapFS{tt.file: {Data: ok}}})
			if err == nil || !strings.Contains(err.Error(), tt.file) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("NewRenderer: err = %v, want one naming %s: %s", err, tt.file, tt.want)
			}
		})
	}
	t.Run("incomplete new kind", func(t *testing.T) {
		_, err := NewRenderer(RenderConfig{Overrides: fstest.MapFS{
			"en/welcome.subject.txt": {Data: ok},
			"en/welcome.txt":         {Data: ok},
		}})
		if err == nil || !strings.Contains(err.Error(), "en/welcome.html is missing") {
			t.Fatalf("NewRenderer: err = %v", err)
		}
	})
	t.Run("dot files are ignored", func(t *testing.T) {
		r := mustRenderer(t, RenderConfig{Overrides: fstest.MapFS{
			".DS_Store":                 {Data: []byte{0}},
			"en/.invitation.txt.swp":    {Data: []byte{0}},
			".git/config":               {Data: []byte{0}},
			"en/invitation.subject.txt": {Data: []byte("Hi from {{.OrgName}}")},
		}})
		out, err := r.Render(outbox.KindInvitation, "en", testData("en"), map[string]string{outbox.SecretAcceptURL: testLink})
		if err != nil || out.Subject != "Hi from Acme" {
			t.Fatalf("Render = %q, %v", out.Subject, err)
		}
	})
}

// TestRenderTemplateErrorNamesFileAndField: a failure that depends on the
// data (NewRenderer's samples do not reach it) is a *TemplateError at
// Render, naming the file (here the footer the text part calls) and field.
func TestRenderTemplateErrorNamesFileAndField(t *testing.T) {
	footer := embeddedFile(t, "en/footer.txt")
	footer = strings.Replace(footer, "{{.OrgName}}", `{{if eq .OrgName "Initech"}}{{.Company}}{{else}}{{.OrgName}}{{end}}`, 1)
	r := mustRenderer(t, RenderConfig{Overrides: fstest.MapFS{"en/footer.txt": {Data: []byte(footer)}}})
	secret := map[string]string{outbox.SecretAcceptURL: testLink}
	if _, err := r.Render(outbox.KindInvitation, "en", testData("en"), secret); err != nil {
		t.Fatalf("Acme: %v", err)
	}
	data := testData("en")
	data[outbox.DataOrgName] = "Initech"
	_, err := r.Render(outbox.KindInvitation, "en", data, secret)
	var te *TemplateError
	if !errors.As(err, &te) {
		t.Fatalf("err = %v, want a *TemplateError", err)
	}
	if te.File != "en/footer.txt" || te.Field != ".Company" || te.Part != "text" || te.Kind != outbox.KindInvitation || te.Locale != "en" {
		t.Fatalf("TemplateError %+v", te)
	}
	want := "mailer: template en/footer.txt:2 (text part of en/invitation) at <.Company>: can't evaluate field Company in type mailer.TemplateData"
	if err.Error() != want {
		t.Fatalf("error\n%s\nwant\n%s", err, want)
	}
	if strings.Contains(err.Error(), testLink) {
		t.Fatal("the error shows the accept link")
	}
}

// TestOverridesAtTheDocumentedPaths writes one override at each path the
// README's template section lists (with <locale> = en, <kind> =
// invitation) into a directory, as RenderConfig.Overrides' os.DirFS, and
// checks that each one takes effect.
func TestOverridesAtTheDocumentedPaths(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "### Templates, branding and locales\n")
	if !ok {
		t.Fatal("README.md has no template section")
	}
	block := regexp.MustCompile("(?s)```\n(.*?)```").FindStringSubmatch(section)
	if block == nil {
		t.Fatal("the README's template section lists no paths")
	}
	// What each documented file becomes (by its name), and what shows
	// that it was used.
	overrides := map[string]struct{ body, part, mark string }{
		"layout.html":            {`{{define "layout"}}<main>MARK-layout {{template "content" .}}{{template "footer" .}}</main>{{end}}`, "html", "MARK-layout"},
		"footer.html":            {`{{define "footer"}}MARK-footer-html{{end}}`, "html", "MARK-footer-html"},
		"footer.txt":             {`{{define "footer"}}MARK-footer-txt{{end}}`, "text", "MARK-footer-txt"},
		"invitation.subject.txt": {`MARK-subject {{.OrgName}}`, "subject", "MARK-subject Acme"},
		"invitation.txt":         {"MARK-text {{.AcceptURL}}\n{{template \"footer\" .}}", "text", "MARK-text " + testLink},
		"invitation.html":        {`{{define "content"}}MARK-html <a href="{{.AcceptURL}}">accept</a>{{end}}`, "html", "MARK-html"},
	}
	var paths []string
	for _, line := range strings.Split(strings.TrimSpace(block[1]), "\n") {
		doc := strings.Fields(line)[0]
		doc = strings.NewReplacer("<locale>", "en", "<kind>", "invitation").Replace(doc)
		first, alt, hasAlt := strings.Cut(doc, "|") // footer.html|.txt
		paths = append(paths, first)
		if hasAlt {
			paths = append(paths, strings.TrimSuffix(first, filepath.Ext(first))+alt)
		}
	}
	if len(paths) != len(overrides) {
		t.Fatalf("README lists %v, want the %d template files", paths, len(overrides))
	}
	for _, p := range paths {
		t.Run(p, func(t *testing.T) {
			o, ok := overrides[path.Base(p)]
			if !ok {
				t.Fatalf("README documents %q, not a template file name", p)
			}
			dir := t.TempDir()
			if err := os.MkdirAll(filepath.Join(dir, filepath.FromSlash(path.Dir(p))), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(p)), []byte(o.body), 0o644); err != nil {
				t.Fatal(err)
			}
			r, err := NewRenderer(RenderConfig{Overrides: os.DirFS(dir)})
			if err != nil {
				t.Fatalf("override at the documented path %s: %v", p, err)
			}
			out, err := r.Render(outbox.KindInvitation, "en", testData("en"), map[string]string{outbox.SecretAcceptURL: testLink})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{"subject": out.Subject, "text": out.Text, "html": out.HTML}[o.part]
			if !strings.Contains(got, o.mark) {
				t.Fatalf("override at the documented path %s not used: the %s part is\n%s", p, o.part, got)
			}
		})
	}
}
