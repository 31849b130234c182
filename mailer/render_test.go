package mailer

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/invitekit/invitekit/mailer/outbox"
)

const testLink = "https://app.example/accept?token=inv_01abc.c2VjcmV0LXZlcmlmaWVy"

func testData(locale string) map[string]string {
	return map[string]string{
		"org_id": "org_1", "org_name": "Acme", "first_name": "Ann", "last_name": "Lee",
		"inviter_name": "Bob Boss", "email": "ann@example.com", "locale": locale,
		"expire_time": "2026-12-09T10:00:00Z",
	}
}

func mustRenderer(t testing.TB, cfg RenderConfig) *Renderer {
	t.Helper()
	r, err := NewRenderer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRenderAllKindsAndLocales(t *testing.T) {
	r := mustRenderer(t, RenderConfig{Branding: Branding{AppName: "Shipyard", AppURL: "https://app.example/"}})
	if got := strings.Join(r.Locales(), ","); got != "de,en" {
		t.Fatalf("Locales() = %s, want de,en", got)
	}
	tests := []struct {
		kind, locale, subject, textHas string
		link                           bool
	}{
		{outbox.KindInvitation, "en", "Bob Boss invited you to join Acme", "Accept the invitation:", true},
		{outbox.KindInvitation, "de", "Bob Boss hat Sie zu Acme eingeladen", "Einladung annehmen:", true},
		{outbox.KindReminder, "en", "Reminder: your invitation to join Acme", "this is a reminder", true},
		{outbox.KindReminder, "de", "Erinnerung: Ihre Einladung zu Acme", "wir möchten Sie erinnern", true},
		{outbox.KindRenewed, "en", "Your new invitation to join Acme", "has been renewed", true},
		{outbox.KindRenewed, "de", "Ihre neue Einladung zu Acme", "wurde erneuert", true},
		{outbox.KindAdded, "en", "You were added to Acme", "There is nothing to accept", false},
		{outbox.KindAdded, "de", "Sie wurden zu Acme hinzugefügt", "Sie müssen nichts annehmen", false},
	}
	for _, tt := range tests {
		t.Run(tt.kind+"/"+tt.locale, func(t *testing.T) {
			var secret map[string]string
			if tt.link {
				secret = map[string]string{outbox.SecretAcceptURL: testLink}
			}
			out, err := r.Render(tt.kind, "", testData(tt.locale), secret)
			if err != nil {
				t.Fatal(err)
			}
			if out.Subject != tt.subject {
				t.Errorf("subject = %q, want %q", out.Subject, tt.subject)
			}
			if out.Locale != tt.locale {
				t.Errorf("locale = %q", out.Locale)
			}
			if !strings.Contains(out.Text, tt.textHas) || !strings.Contains(out.Text, "Ann") {
				t.Errorf("text part lacks %q or the first name:\n%s", tt.textHas, out.Text)
			}
			if !strings.Contains(out.HTML, `<html lang="`+tt.locale+`">`) || !strings.Contains(out.HTML, "Shipyard") {
				t.Errorf("HTML part lacks layout or branding:\n%s", out.HTML)
			}
			escapedLink := strings.ReplaceAll(testLink, "&", "&amp;")
			if tt.link {
				if !strings.Contains(out.Text, testLink) || !strings.Contains(out.HTML, `href="`+escapedLink+`"`) {
					t.Errorf("accept link missing:\n%s\n%s", out.Text, out.HTML)
				}
				wantDate := map[string]string{"en": "December 9, 2026 at 10:00 UTC", "de": "9. Dezember 2026 um 10:00 UTC"}[tt.locale]
				if !strings.Contains(out.Text, wantDate) || !strings.Contains(out.HTML, wantDate) {
					t.Errorf("expiry %q missing:\n%s", wantDate, out.Text)
				}
			} else if !strings.Contains(out.HTML, `href="https://app.example/"`) {
				t.Errorf("added notice lacks the app link:\n%s", out.HTML)
			}
		})
	}
}

func TestRenderLocaleChoice(t *testing.T) {
	r := mustRenderer(t, RenderConfig{})
	tests := []struct {
		name      string
		arg       string
		data      map[string]string
		want      string
		subjectIn string
	}{
		{"invitee locale", "", map[string]string{"locale": "de", "org_locale": "en"}, "de", "Einladung"},
		{"region falls back to language", "", map[string]string{"locale": "de-AT"}, "de", "Einladung"},
		{"underscore and case", "", map[string]string{"locale": "DE_ch"}, "de", "Einladung"},
		{"unknown invitee locale uses org's", "", map[string]string{"locale": "fr", "org_locale": "de"}, "de", "Einladung"},
		{"org locale when invitee has none", "", map[string]string{"org_locale": "de-DE"}, "de", "Einladung"},
		{"default when nothing matches", "", map[string]string{"locale": "fr", "org_locale": "ja"}, "en", "invited"},
		{"hostile locale ignored", "", map[string]string{"locale": "../../etc/passwd"}, "en", "invited"},
		{"argument wins", "de", map[string]string{"locale": "en"}, "de", "Einladung"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := map[string]string{"org_name": "Acme"}
			for k, v := range tt.data {
				data[k] = v
			}
			out, err := r.Render(outbox.KindInvitation, tt.arg, data, map[string]string{outbox.SecretAcceptURL: testLink})
			if err != nil {
				t.Fatal(err)
			}
			if out.Locale != tt.want || !strings.Contains(out.Subject, tt.subjectIn) {
				t.Fatalf("locale %q subject %q, want %q / %q", out.Locale, out.Subject, tt.want, tt.subjectIn)
			}
		})
	}
	t.Run("default locale de", func(t *testing.T) {
		r := mustRenderer(t, RenderConfig{DefaultLocale: "de"})
		out, err := r.Render(outbox.KindInvitation, "", map[string]string{"locale": "fr"}, map[string]string{outbox.SecretAcceptURL: testLink})
		if err != nil || out.Locale != "de" {
			t.Fatalf("got %q, %v", out.Locale, err)
		}
	})
}

func TestRenderMaliciousInput(t *testing.T) {
	r := mustRenderer(t, RenderConfig{})
	names := []string{
		"<script>alert(1)</script>",
		"Ann\r\nBcc: evil@x",
		`"><img src=x onerror=alert(1)>`,
		"Ann\nSubject: pwned",
		"Ann\u2028Bcc: evil@x",
	}
	for _, name := range names {
		for _, locale := range []string{"en", "de"} {
			t.Run(locale+"/"+name, func(t *testing.T) {
				data := testData(locale)
				data["first_name"], data["inviter_name"], data["org_name"] = name, name, name
				out, err := r.Render(outbox.KindInvitation, "", data, map[string]string{outbox.SecretAcceptURL: testLink})
				if err != nil {
					t.Fatal(err)
				}
				if strings.ContainsAny(out.Subject, "\r\n") || hasControl(out.Subject) {
					t.Errorf("subject carries a line break: %q", out.Subject)
				}
				if strings.Contains(out.HTML, "<script>") || strings.Contains(out.HTML, "<img src=x") {
					t.Errorf("markup injected into HTML:\n%s", out.HTML)
				}
				if strings.Contains(out.Text, "\nBcc:") || strings.Contains(out.Text, "\nSubject:") {
					t.Errorf("a name broke a line of the text part:\n%s", out.Text)
				}
			})
		}
	}
	t.Run("javascript accept link is neutralised or refused", func(t *testing.T) {
		_, err := r.Render(outbox.KindInvitation, "", testData("en"), map[string]string{outbox.SecretAcceptURL: "javascript:alert(1)"})
		if !errors.Is(err, ErrMissingLink) {
			t.Fatalf("err = %v, want ErrMissingLink", err)
		}
	})
	t.Run("missing link", func(t *testing.T) {
		for _, kind := range []string{outbox.KindInvitation, outbox.KindReminder, outbox.KindRenewed} {
			if _, err := r.Render(kind, "", testData("en"), nil); !errors.Is(err, ErrMissingLink) {
				t.Errorf("%s: err = %v, want ErrMissingLink", kind, err)
			}
		}
	})
	t.Run("unknown kind", func(t *testing.T) {
		if _, err := r.Render("nope", "", testData("en"), nil); !errors.Is(err, ErrUnknownKind) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestRenderOverridesAndBranding(t *testing.T) {
	over := fstest.MapFS{
		// Replace the English subject only.
		"en/invitation.subject.txt": {Data: []byte("Join {{.OrgName}} now\r\nBcc: from-template@x")},
		// A new locale, complete for one kind, with a whole-document HTML part.
		"fr/invitation.subject.txt": {Data: []byte("Invitation à rejoindre {{.OrgName}}")},
		"fr/invitation.txt":         {Data: []byte("Bonjour {{.FirstName}}, {{.AcceptURL}}")},
		"fr/invitation.html":        {Data: []byte(`<p>Bonjour {{.FirstName}}</p><a href="{{.AcceptURL}}">Accepter</a>`)},
		// A new kind in English.
		"en/welcome.subject.txt": {Data: []byte("Welcome, {{.FirstName}}")},
		"en/welcome.txt":         {Data: []byte("Hi {{.FirstName}} {{.Data.custom}}")},
		"en/welcome.html":        {Data: []byte(`{{define "content"}}<p>Hi {{.FirstName}}</p>{{end}}`)},
		// A custom layout.
		"layout.html": {Data: []byte(`{{define "layout"}}<main style="color:{{.App.PrimaryColor}}" data-app="{{.App.AppName}}">{{if .App.LogoURL}}<img src="{{.App.LogoURL}}">{{end}}{{template "content" .}}{{template "footer" .}}</main>{{end}}`)},
	}
	r := mustRenderer(t, RenderConfig{
		Overrides: over,
		Branding:  Branding{AppName: "Shipyard", LogoURL: "https://cdn.example/logo.png", PrimaryColor: "#ff0066", SupportEmail: "help@shipyard.test", FooterText: "Shipyard Ltd, Dock 1"},
	})
	secret := map[string]string{outbox.SecretAcceptURL: testLink}

	out, err := r.Render(outbox.KindInvitation, "", testData("en"), secret)
	if err != nil {
		t.Fatal(err)
	}
	if out.Subject != "Join Acme now Bcc: from-template@x" {
		t.Errorf("override subject = %q", out.Subject)
	}
	for _, want := range []string{`style="color:#ff0066"`, `data-app="Shipyard"`, `src="https://cdn.example/logo.png"`, "help@shipyard.test", "Shipyard Ltd, Dock 1", "Accept invitation"} {
		if !strings.Contains(out.HTML, want) {
			t.Errorf("HTML lacks %q:\n%s", want, out.HTML)
		}
	}

	out, err = r.Render(outbox.KindInvitation, "", testData("fr-CA"), secret)
	if err != nil || out.Locale != "fr" || out.Subject != "Invitation à rejoindre Acme" || !strings.Contains(out.Text, testLink) {
		t.Fatalf("fr: %+v %v", out, err)
	}
	// fr has no reminder: falls back to the default locale.
	out, err = r.Render(outbox.KindReminder, "", testData("fr"), secret)
	if err != nil || out.Locale != "en" {
		t.Fatalf("fr reminder: %q %v", out.Locale, err)
	}

	data := testData("de")
	data["custom"] = "<b>x</b>"
	out, err = r.Render("welcome", "", data, nil)
	if err != nil || out.Locale != "en" || out.Subject != "Welcome, Ann" || !strings.Contains(out.Text, "Hi Ann <b>x</b>") || !strings.Contains(out.HTML, "<p>Hi Ann</p>") {
		t.Fatalf("custom kind: %+v %v", out, err)
	}
}

func TestNewRendererErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  RenderConfig
	}{
		{"bad color", RenderConfig{Branding: Branding{PrimaryColor: "red;background:url(x)"}}},
		{"bad background", RenderConfig{Branding: Branding{BackgroundColor: "#12"}}},
		{"relative logo", RenderConfig{Branding: Branding{LogoURL: "/logo.png"}}},
		{"javascript app url", RenderConfig{Branding: Branding{AppURL: "javascript:alert(1)"}}},
		{"app name with newline", RenderConfig{Branding: Branding{AppName: "A\r\nB"}}},
		{"default locale without templates", RenderConfig{DefaultLocale: "fr"}},
		{"bad default locale", RenderConfig{DefaultLocale: "../x"}},
		{"broken override", RenderConfig{Overrides: fstest.MapFS{"en/invitation.txt": {Data: []byte("{{.Broken")}}}},
		{"broken html override", RenderConfig{Overrides: fstest.MapFS{"de/added.html": {Data: []byte(`{{define "content"}}{{if}}{{end}}`)}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewRenderer(tt.cfg); err == nil {
				t.Fatal("NewRenderer succeeded, want an error")
			}
		})
	}
}

func FuzzRender(f *testing.F) {
	f.Add("Ann", "Acme", "de-AT")
	f.Add("<script>alert(1)</script>", "Ann\r\nBcc: evil@x", "en")
	f.Add("\u2028", "{{.AcceptURL}}", "../de")
	r := mustRenderer(f, RenderConfig{})
	f.Fuzz(func(t *testing.T, name, org, locale string) {
		data := map[string]string{"first_name": name, "inviter_name": name, "org_name": org, "locale": locale}
		out, err := r.Render(outbox.KindInvitation, "", data, map[string]string{outbox.SecretAcceptURL: testLink})
		if err != nil {
			t.Fatal(err)
		}
		if hasControl(out.Subject) {
			t.Fatalf("control character in subject %q", out.Subject)
		}
		// Every "<" in the HTML part comes from the templates: rendering
		// with harmless names of the same emptiness gives as many.
		safe := func(s string) string {
			if oneLine(s) == "" {
				return ""
			}
			return "x"
		}
		base, err := r.Render(outbox.KindInvitation, out.Locale, map[string]string{"first_name": safe(name), "inviter_name": safe(name), "org_name": safe(org)}, map[string]string{outbox.SecretAcceptURL: testLink})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := strings.Count(out.HTML, "<"), strings.Count(base.HTML, "<"); got != want {
			t.Fatalf("markup injected: %d tags, want %d\n%s", got, want, out.HTML)
		}
		if got, want := strings.Count(out.Text, "\n"), strings.Count(base.Text, "\n"); got != want {
			t.Fatalf("line break injected into the text part: %d lines, want %d", got, want)
		}
		if out.Locale != "en" && out.Locale != "de" {
			t.Fatalf("locale %q", out.Locale)
		}
	})
}
