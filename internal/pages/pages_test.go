package pages_test

import (
	"bytes"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/invitekit/invitekit/internal/httpx"
	"github.com/invitekit/invitekit/internal/pages"
)

// A missing translation fails here, not in front of a person: every key
// exists in every language, and none is empty.
func TestCatalogComplete(t *testing.T) {
	base := pages.Keys(pages.DefaultLang)
	if len(base) < 50 {
		t.Fatalf("catalog has %d keys", len(base))
	}
	for _, lang := range pages.Langs {
		got := pages.Keys(lang)
		have := map[string]bool{}
		for _, k := range got {
			have[k] = true
			if strings.TrimSpace(pages.T(lang, k)) == "" {
				t.Errorf("%s: %s is empty", lang, k)
			}
			if !pages.Has(pages.DefaultLang, k) {
				t.Errorf("%s has %s, English does not", lang, k)
			}
		}
		for _, k := range base {
			if !have[k] {
				t.Errorf("%s: missing translation of %s", lang, k)
			}
		}
		// The verbs of a formatted text are the same in every language.
		for _, k := range base {
			if v, e := strings.Count(pages.T(lang, k), "%"), strings.Count(pages.T("en", k), "%"); v != e {
				t.Errorf("%s: %s has %d verbs, English %d", lang, k, v, e)
			}
		}
	}
	if got := pages.T("de", "step.home"); got == pages.T("en", "step.home") {
		t.Errorf("German step.home is the English %q", got)
	}
}

// Every code of the one error table has a refusal page decided for it,
// in every language, and none shows a catalog key.
func TestEveryTableCodeHasARefusalPage(t *testing.T) {
	links := pages.Links{Home: "/", SignIn: "/auth/login", SignOut: "/auth/logout", Organizations: "/orgs", Retry: "/here"}
	for _, code := range httpx.Codes() {
		if !pages.Known(code) {
			t.Errorf("code %q has no refusal page words (add it to the catalog or to sameAs)", code)
			continue
		}
		for _, lang := range pages.Langs {
			r := pages.Refusal{Lang: lang, Status: 403, Code: code, Links: links}
			for _, s := range []string{r.Title(), r.Body()} {
				if s == "" || strings.Contains(s, ".title") || strings.Contains(s, ".body") {
					t.Errorf("%s/%s: %q", lang, code, s)
				}
			}
			steps := r.Steps()
			if len(steps) == 0 || steps[len(steps)-1].Kind == "" {
				t.Errorf("%s/%s: no next step", lang, code)
			}
			var b bytes.Buffer
			if err := pages.WriteRefusal(&b, r, "Acme"); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(b.String(), `lang="`+lang+`"`) || !strings.Contains(b.String(), `id="error-code">`+code+`<`) {
				t.Errorf("%s/%s: page lacks lang or code", lang, code)
			}
		}
	}
}

func stepKinds(r pages.Refusal) []string {
	var out []string
	for _, s := range r.Steps() {
		out = append(out, s.Kind)
	}
	return out
}

// The wrong texts of issue 20 stay fixed.
func TestRefusalsSayTheRightThing(t *testing.T) {
	links := pages.Links{Home: "/", SignIn: "/auth/login", SignOut: "/auth/logout", Organizations: "/orgs", Retry: "/x"}
	for _, code := range []string{"invitation_pending", "membership_inactive"} {
		r := pages.Refusal{Lang: "en", Status: 403, Code: code, Links: links}
		if strings.Contains(r.Body(), "Ask an administrator for an invitation") || strings.Contains(r.Body(), "invitation-only") {
			t.Errorf("%s tells the person to ask for an invitation: %q", code, r.Body())
		}
	}
	if b := (pages.Refusal{Lang: "en", Status: 403, Code: "invitation_pending", Links: links}).Body(); !strings.Contains(b, "not accepted yet") {
		t.Errorf("pending: %q", b)
	}
	for _, code := range []string{"invite_revoked", "invite_used"} {
		for _, k := range stepKinds(pages.Refusal{Lang: "en", Status: 410, Code: code, Links: links}) {
			if k == "signin" || k == "restart" {
				t.Errorf("%s offers %s (which leads to invitation_required)", code, k)
			}
		}
	}
	for _, code := range []string{"token_exchange_failed", "id_token_signature", "id_token_missing", "userinfo_failed"} {
		b := (pages.Refusal{Lang: "en", Status: 502, Code: code, Links: links}).Body()
		if strings.Contains(b, "reached") {
			t.Errorf("%s says the provider could not be reached: %q", code, b)
		}
	}
	if got := stepKinds(pages.Refusal{Lang: "en", Status: 403, Code: "not_member", Links: links}); strings.Join(got, ",") != "orgs,signout_other,home" {
		t.Errorf("not_member steps %v", got)
	}
	// Steps without a link are left out; home is "/" by default.
	got := pages.Refusal{Lang: "de", Status: 403, Code: "not_member"}.Steps()
	if len(got) != 1 || got[0].Href != "/" || got[0].Label != "Zur Startseite" {
		t.Errorf("steps without links: %+v", got)
	}
	// A code without words of its own shows the table's message (English).
	r := pages.Refusal{Lang: "en", Status: 409, Code: "already_member", Message: "the user is already a member of this organization"}
	if r.Body() != "The user is already a member of this organization." {
		t.Errorf("generic body %q", r.Body())
	}
}

func TestNegotiate(t *testing.T) {
	for _, tt := range []struct{ user, accept, org, want string }{
		{"", "", "", "en"},
		{"de-AT", "en", "en", "de"},
		{"fr", "de-DE,de;q=0.9,en;q=0.8", "en", "de"},
		{"", "fr-FR, en;q=0.5, de;q=0.7", "", "de"},
		{"", "de;q=0, en;q=0.1", "", "en"},
		{"", "fr", "de", "de"},
		{"", "*", "de_CH", "de"},
		{"xx", "garbage;q=x", "zz", "en"},
	} {
		if got := pages.Negotiate(tt.user, tt.accept, tt.org); got != tt.want {
			t.Errorf("Negotiate(%q, %q, %q) = %q, want %q", tt.user, tt.accept, tt.org, got, tt.want)
		}
	}
}

// The shared stylesheet follows dark mode, shows focus, and its colour
// pairs meet WCAG 2.2 AA (4.5:1 for text, 3:1 for the focus ring) in
// both schemes.
func TestCSSContrast(t *testing.T) {
	css := pages.CSS()
	for _, want := range []string{"prefers-color-scheme:dark", ":focus-visible", "overflow-wrap:anywhere"} {
		if !strings.Contains(css, want) {
			t.Errorf("CSS lacks %s", want)
		}
	}
	blocks := regexp.MustCompile(`:root\{([^}]*)\}`).FindAllStringSubmatch(css, -1)
	if len(blocks) != 2 {
		t.Fatalf("want a light and a dark :root block, got %d", len(blocks))
	}
	text := [][2]string{{"fg", "bg"}, {"fg", "card"}, {"muted", "card"}, {"muted", "bg"}, {"accent", "card"}, {"accent", "bg"},
		{"accent-dark", "card"}, {"accent-fg", "accent"}, {"accent-fg", "accent-dark"}, {"danger", "card"}, {"note-fg", "note-bg"}}
	for i, b := range blocks {
		vars := map[string]string{}
		for _, m := range regexp.MustCompile(`--ik-([a-z-]+):(#[0-9a-f]{6})`).FindAllStringSubmatch(b[1], -1) {
			vars[m[1]] = m[2]
		}
		for _, p := range text {
			if r := contrast(t, vars[p[0]], vars[p[1]]); r < 4.5 {
				t.Errorf("scheme %d: %s on %s is %.2f:1, want 4.5:1", i, p[0], p[1], r)
			}
		}
		for _, bg := range []string{"bg", "card"} {
			if r := contrast(t, vars["focus"], vars[bg]); r < 3 {
				t.Errorf("scheme %d: focus ring on %s is %.2f:1, want 3:1", i, bg, r)
			}
		}
		if r := contrast(t, vars["muted"], vars["card"]); r < 3 {
			t.Errorf("scheme %d: input border %.2f:1", i, r)
		}
	}
}

func contrast(t *testing.T, a, b string) float64 {
	t.Helper()
	la, lb := luminance(t, a), luminance(t, b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

func luminance(t *testing.T, hex string) float64 {
	t.Helper()
	if len(hex) != 7 {
		t.Fatalf("colour %q is not #rrggbb", hex)
	}
	var c [3]float64
	for i := range c {
		v, err := strconv.ParseUint(hex[1+2*i:3+2*i], 16, 8)
		if err != nil {
			t.Fatal(err)
		}
		s := float64(v) / 255
		if s <= 0.04045 {
			c[i] = s / 12.92
		} else {
			c[i] = math.Pow((s+0.055)/1.055, 2.4)
		}
	}
	return 0.2126*c[0] + 0.7152*c[1] + 0.0722*c[2]
}
