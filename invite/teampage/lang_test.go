package teampage_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/invitekit/invitekit/internal/pages"
	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/invite/teampage"
)

func getLang(t *testing.T, u, acceptLanguage string) (int, string, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	if acceptLanguage != "" {
		req.Header.Set("Accept-Language", acceptLanguage)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp.StatusCode, b.String(), resp.Header
}

// The page's language is negotiated the one way of every kit page:
// Config.Locale (the person's own), then Accept-Language, then the
// organization's locale, then English; the whole page follows, its
// dates included, and the response says which language it is.
func TestTeamPageLanguage(t *testing.T) {
	personal := map[string]string{} // Accept-Language → what Config.Locale answers
	f := newFixture(t, func(c *teampage.Config) {
		c.Locale = func(r *http.Request) string { return personal[r.Header.Get("Accept-Language")] }
	})
	f.invite(t, "ann@example.com")
	personal["x-personal"] = "de-AT"
	for _, tc := range []struct {
		name, acceptLanguage, want string
	}{
		{"default", "", "en"},
		{"accept-language", "fr;q=1, de;q=0.8, en;q=0.5", "de"},
		{"person's own locale first", "x-personal", "de"},
		{"english asked", "en-GB", "en"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body, hdr := getLang(t, f.base+"/", tc.acceptLanguage)
			if status != 200 {
				t.Fatalf("status %d", status)
			}
			if got := hdr.Get("Content-Language"); got != tc.want {
				t.Errorf("Content-Language %q, want %q", got, tc.want)
			}
			if !strings.Contains(hdr.Get("Vary"), "Accept-Language") {
				t.Errorf("Vary %q", hdr.Get("Vary"))
			}
			mustContain(t, body, `<html lang="`+tc.want+`">`,
				pages.T(tc.want, "team.add_title"), pages.T(tc.want, "team.col_invited_by"), pages.T(tc.want, "team.st_pending"),
				map[string]string{"en": " at ", "de": " um "}[tc.want]+time.Now().UTC().Format("15")) // the dates' way ("… at 15:04 UTC")
			if tc.want == "de" {
				mustContain(t, body, "<title>Team · Acme</title>", "Person hinzufügen", "Mitglieder", `data-label="Eingeladen von"`, " um ")
				for _, english := range []string{"Add a person", "Invited by", "Send invitation email", "Pending</span>"} {
					if strings.Contains(body, english) {
						t.Errorf("the German page shows %q", english)
					}
				}
			}
		})
	}
	// A refusal on the page, and the flash after an action, in German.
	req, _ := http.NewRequest(http.MethodPost, f.base+"/", strings.NewReader(url.Values{"email": {"x@example.com"}, "first_name": {strings.Repeat("a", 101)}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept-Language", "de")
	req.Header.Set("Origin", f.srv.URL)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	buf := new(strings.Builder)
	b := make([]byte, 64<<10)
	for {
		n, err := resp.Body.Read(b)
		buf.Write(b[:n])
		if err != nil {
			break
		}
	}
	resp.Body.Close()
	if resp.StatusCode != 422 {
		t.Fatalf("long first name: %d", resp.StatusCode)
	}
	mustContain(t, buf.String(), "Vorname darf höchstens 100 Zeichen lang sein")

	// The organization's locale decides when the request says nothing.
	if _, _, err := f.svc.CreateOrganization(t.Context(), invite.CreateOrganizationRequest{ID: "org_de", Name: "Gmbh", Locale: "de"}); err != nil {
		t.Fatal(err)
	}
	deBase := strings.Replace(f.base, "org_acme", "org_de", 1)
	_, body, hdr := getLang(t, deBase+"/", "")
	if hdr.Get("Content-Language") != "de" || !strings.Contains(body, "Person hinzufügen") {
		t.Errorf("organization locale de: Content-Language %q", hdr.Get("Content-Language"))
	}
	_, _, hdr = getLang(t, deBase+"/", "en")
	if hdr.Get("Content-Language") != "en" {
		t.Errorf("Accept-Language en beats the organization's de: %q", hdr.Get("Content-Language"))
	}
}

// The plain-text answers (an unknown path, an address the kit refuses)
// speak the request's language too; English stays as it was.
func TestTeamPagePlainAnswersLanguage(t *testing.T) {
	f := newFixture(t, nil)
	for _, tc := range []struct {
		name, path, lang string
		status           int
		want             string
	}{
		{"unknown path", "/nope", "de", 404, "Nicht gefunden.\n"},
		{"unknown path, English", "/nope", "en", 404, "Not found.\n"},
		{"bad query", "/?q=%00", "de", 0, "Die Adresse ist ungültig (Feld q)."},
		{"bad query, English", "/?q=%00", "en", 0, "The address is not valid: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body, hdr := getLang(t, f.base+tc.path, tc.lang)
			if (tc.status != 0 && status != tc.status) || status/100 != 4 {
				t.Fatalf("status %d", status)
			}
			if !strings.Contains(body, tc.want) || hdr.Get("Content-Language") != tc.lang {
				t.Errorf("%q (Content-Language %q), want %q", body, hdr.Get("Content-Language"), tc.want)
			}
		})
	}
}
