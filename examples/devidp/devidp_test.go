package devidp_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/invitekit/invitekit/examples/devidp"
)

type resp struct {
	status   int
	location string
	body     string
}

func get(t *testing.T, c *http.Client, u string, lang string) resp {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	if lang != "" {
		req.Header.Set("Accept-Language", lang)
	}
	return do(t, c, req)
}

func do(t *testing.T, c *http.Client, req *http.Request) resp {
	t.Helper()
	r, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	return resp{r.StatusCode, r.Header.Get("Location"), string(b)}
}

// The login page a newcomer sees names the app, states the password,
// pre-fills the invited address from login_hint and is in the kit's look;
// a wrong password is explained; sign-out returns to the app.
func TestNewcomerPages(t *testing.T) {
	p, err := devidp.Start(devidp.Config{
		RedirectURIs:           []string{"http://localhost:9/auth/callback"},
		AppName:                "Acme Quickstart",
		AppURL:                 "http://localhost:9/",
		PostLogoutRedirectURIs: []string{"http://localhost:9/signed-out"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	q := url.Values{"client_id": {p.ClientID}, "redirect_uri": {"http://localhost:9/auth/callback"}, "response_type": {"code"},
		"scope": {"openid email profile"}, "state": {"s"}, "login_hint": {"ann@example.com"}}
	r := get(t, c, p.Issuer+"auth?"+q.Encode(), "")
	if r.status != http.StatusFound || !strings.Contains(r.location, "/login/username?authRequestID=") {
		t.Fatalf("authorize: %d %q %s", r.status, r.location, r.body)
	}
	loginURL, _ := url.Parse(p.Issuer)
	loginURL, _ = loginURL.Parse(r.location)
	id := loginURL.Query().Get("authRequestID")
	r = get(t, c, loginURL.String(), "")
	for _, want := range []string{"Sign in to Acme Quickstart", "<code>dev</code>", `value="ann@example.com"`, `id="password"`,
		"prefers-color-scheme", `class="ik-shell"`, "not for production"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("login page lacks %q:\n%s", want, r.body)
		}
	}
	if strings.Contains(r.body, "Username:") {
		t.Error(`login page still says "Username:"`)
	}
	if de := get(t, c, loginURL.String(), "de").body; !strings.Contains(de, "Bei Acme Quickstart anmelden") || !strings.Contains(de, `lang="de"`) {
		t.Errorf("German login page:\n%s", de)
	}

	post := func(user, pw string) resp {
		req, _ := http.NewRequest("POST", p.Issuer+"login/username", strings.NewReader(url.Values{"id": {id}, "username": {user}, "password": {pw}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return do(t, c, req)
	}
	r = post("ann@example.com", "wrong")
	if r.status != http.StatusUnauthorized || !strings.Contains(r.body, `id="login-error"`) || !strings.Contains(r.body, `value="ann@example.com"`) {
		t.Fatalf("wrong password: %d %s", r.status, r.body)
	}
	r = post("ann@example.com", devidp.Password)
	if r.status != http.StatusFound || !strings.Contains(r.location, "callback?id=") {
		t.Fatalf("right password: %d %q %s", r.status, r.location, r.body)
	}

	// RP-initiated logout returns to the app's registered URI.
	lq := url.Values{"client_id": {p.ClientID}, "post_logout_redirect_uri": {"http://localhost:9/signed-out"}}
	r = get(t, c, p.Issuer+"end_session?"+lq.Encode(), "")
	if r.status/100 != 3 || r.location != "http://localhost:9/signed-out" {
		t.Fatalf("end_session: %d %q %s", r.status, r.location, r.body)
	}
	// Without one, the provider's own signed-out page links back.
	r = get(t, c, p.Issuer+"logged-out", "")
	if !strings.Contains(r.body, `href="http://localhost:9/"`) || !strings.Contains(r.body, "Back to Acme Quickstart") {
		t.Fatalf("signed-out page: %s", r.body)
	}
}
