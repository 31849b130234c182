package teampage_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/invitekit/invitekit/invite"
)

// TestSSOSection: the page shows its own organization's connection only
// (never another's, never a secret); hostile input is refused with the
// field marked and nothing saved; GET on the action addresses is refused.
func TestSSOSection(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	otherSecret := "other-marker-secret"
	if _, err := f.svc.SaveSSOConnection(ctx, "org_other", invite.SSOConnectionRequest{
		Name: "Other marker IdP", Issuer: "https://other-marker.example.com", ClientID: "other-marker-client", ClientSecret: &otherSecret,
	}, ""); err != nil {
		t.Fatal(err)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string) (int, string) {
		resp, err := client.Get(f.base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	post := func(path string, form url.Values) (int, string) {
		resp, err := client.PostForm(f.base+path, form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	status, body := get("/sso")
	if status != 200 || strings.Contains(body, "marker") || !strings.Contains(body, `id="ik-sso-none"`) {
		t.Fatalf("own page: %d, shows another organization's connection or none-notice missing", status)
	}
	for _, tc := range []struct {
		form  url.Values
		field string
	}{
		{url.Values{"name": {"Acme\x00"}, "issuer": {"https://idp.example.com"}, "clientId": {"web"}}, "ik-sso-name"},
		{url.Values{"name": {"Acme"}, "issuer": {"ftp://idp.example.com"}, "clientId": {"web"}}, "ik-sso-issuer"},
		{url.Values{"name": {"Acme"}, "issuer": {"https://idp.example.com"}, "clientId": {""}}, "ik-sso-client"},
		{url.Values{"name": {"Acme"}, "issuer": {"https://idp.example.com"}, "clientId": {"web"}, "emailClaim": {"e mail"}}, "ik-sso-claim"},
	} {
		for _, path := range []string{"/sso", "/sso/test"} {
			status, body := post(path, tc.form)
			if status != 422 || !strings.Contains(body, `id="`+tc.field+`" class="ik-input"`) || !strings.Contains(body, tc.field+`-error`) {
				t.Errorf("POST %s %v: %d, field %s not marked", path, tc.form, status, tc.field)
			}
		}
	}
	if _, err := f.svc.SSOConnection(ctx, "org_acme"); err == nil {
		t.Fatal("a refused form saved a connection")
	}
	for _, path := range []string{"/sso/test", "/sso/delete"} {
		if status, _ := get(path); status != http.StatusMethodNotAllowed {
			t.Errorf("GET %s: %d", path, status)
		}
	}
	if status, _ := get("/sso/other"); status != 404 {
		t.Errorf("unknown address: %d", status)
	}
	if c, _ := f.svc.SSOConnection(ctx, "org_other"); c.Name != "Other marker IdP" {
		t.Fatal("the other organization's connection changed")
	}
}
