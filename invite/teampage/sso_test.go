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
		{url.Values{"name": {"Acme"}, "issuer": {"https://idp.example.com"}, "clientId": {"web"}, "nameClaim": {"full name"}}, "ik-sso-name-claim"},
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

// TestSSOTrustSection: the "Trusted connections" part of the section
// lists, adds and removes the connection ids the organization trusts.
// The id of another organization's real connection and an id no
// connection has are kept alike, with answers identical but for the id
// itself, so the form tells nothing about other organizations; bad ids
// and the organization's own connection are refused with the field
// marked and named and nothing written; cross-origin posts and GETs are
// refused; the other organization's list never changes.
func TestSSOTrustSection(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	secret := "s3cret"
	foreign, err := f.svc.SaveSSOConnection(ctx, "org_other", invite.SSOConnectionRequest{
		Name: "Other IdP", Issuer: "https://other.example.com", ClientID: "other", ClientSecret: &secret}, "")
	if err != nil {
		t.Fatal(err)
	}
	own, err := f.svc.SaveSSOConnection(ctx, "org_acme", invite.SSOConnectionRequest{
		Name: "Acme IdP", Issuer: "https://acme.example.com", ClientID: "acme"}, "")
	if err != nil {
		t.Fatal(err)
	}
	unknown := "ssc_" + strings.Repeat("0", len(foreign.ID)-len("ssc_"))
	trust := func(org string) []string {
		t.Helper()
		ids, err := f.svc.SSOTrust(ctx, org)
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}
	// add trusts id through the form and returns the redirect (without
	// its sealed flash, which differs every time) and the page it leads
	// to with id replaced by a placeholder.
	add := func(path, id string) (int, string, string) {
		t.Helper()
		status, _, hdr := post(t, f.base+path, url.Values{"connectionId": {id}})
		loc, _, _ := strings.Cut(hdr.Get("Location"), "?flash=")
		_, page, _ := get(t, f.srv.URL+hdr.Get("Location"))
		return status, loc, strings.ReplaceAll(page, id, "ssc_ID")
	}
	status, body, _ := get(t, f.base+"/sso")
	if status != 200 || !strings.Contains(body, `id="ik-sso-trust-none"`) || !strings.Contains(body, own.ID) || strings.Contains(body, foreign.ID) {
		t.Fatalf("page: %d, trust list not empty, own connection id missing or the other's shown", status)
	}
	s1, loc1, page1 := add("/sso/trust", foreign.ID)
	if got := trust("org_acme"); len(got) != 1 || got[0] != foreign.ID {
		t.Fatalf("after trusting the other organization's connection: %v", got)
	}
	if !strings.Contains(page1, `<code>ssc_ID</code>`) || !strings.Contains(page1, "Connection trusted.") {
		t.Fatalf("the page does not list the trusted id:\n%s", page1)
	}
	s2, loc2, removed := add("/sso/trust/remove", foreign.ID)
	if got := trust("org_acme"); len(got) != 0 || s2 != 303 || !strings.Contains(removed, `id="ik-sso-trust-none"`) || !strings.Contains(removed, "Connection no longer trusted.") {
		t.Fatalf("remove: %d, list %v", s2, got)
	}
	s3, loc3, page3 := add("/sso/trust", unknown)
	if got := trust("org_acme"); len(got) != 1 || got[0] != unknown {
		t.Fatalf("an unknown id was not kept: %v", got)
	}
	if s1 != 303 || s1 != s3 || loc1 != loc3 || loc1 != loc2 || page1 != page3 {
		t.Fatalf("an existing and an unknown connection id answer differently: %d %q vs %d %q\n%s\n---\n%s", s1, loc1, s3, loc3, page1, page3)
	}
	// Adding an id twice keeps one; removing one not listed changes nothing.
	add("/sso/trust", unknown)
	add("/sso/trust/remove", foreign.ID)
	if got := trust("org_acme"); len(got) != 1 || got[0] != unknown {
		t.Fatalf("after a repeated add and a remove of an unlisted id: %v", got)
	}
	for _, id := range []string{"", "   ", "abc", "ssc_", "ssc_a\x00b", "ssc_\xff", "ssc_" + strings.Repeat("a", 125), own.ID} {
		status, body, _ := post(t, f.base+"/sso/trust", url.Values{"connectionId": {id}})
		if status != 422 || !strings.Contains(body, `aria-describedby="ik-sso-trust-id-hint ik-sso-trust-id-error" aria-invalid="true"`) ||
			!strings.Contains(body, `id="ik-alert"`) || !strings.Contains(body, `id="ik-sso-trust-id-error">Connection id`) && !strings.Contains(body, `id="ik-sso-trust-id-error">connectionId`) {
			t.Errorf("add %q: %d, field not marked or not named:\n%s", id, status, body)
		}
		if status, _, _ := post(t, f.base+"/sso/trust/remove", url.Values{"connectionId": {id}}); id != own.ID && status != 422 {
			t.Errorf("remove %q: %d", id, status)
		}
	}
	for _, path := range []string{"/sso/trust", "/sso/trust/remove"} {
		if status, _, _ := post(t, f.base+path, url.Values{"connectionId": {foreign.ID}}, "Sec-Fetch-Site", "cross-site"); status != http.StatusForbidden {
			t.Errorf("cross-origin POST %s: %d", path, status)
		}
		if status, _, _ := get(t, f.base+path); status != http.StatusMethodNotAllowed {
			t.Errorf("GET %s: %d", path, status)
		}
	}
	if got := trust("org_acme"); len(got) != 1 || got[0] != unknown {
		t.Fatalf("a refused form changed the list: %v", got)
	}
	if got := trust("org_other"); len(got) != 0 {
		t.Fatalf("the other organization's list changed: %v", got)
	}
}
