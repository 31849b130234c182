package main

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Sign-out returns to the app: the session ends, the provider's
// end-session endpoint is called with post_logout_redirect_uri, and the
// person lands on the app's own "signed out" page with a way back in.
func TestSignOutReturnsToApp(t *testing.T) {
	qa := startApp(t)
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	dashboard := qa.base + "/orgs/" + seedOrgID + "/dashboard"
	resp := devSignIn(t, client, qa.base, seedAdminEmail, "/orgs/"+seedOrgID+"/dashboard")
	if resp.Request.URL.String() != dashboard {
		t.Fatalf("login ended at %s", resp.Request.URL)
	}
	req, _ := http.NewRequest("POST", qa.base+"/logout", nil)
	req.Header.Set("Origin", qa.base)
	var hops []string
	client.CheckRedirect = func(r *http.Request, via []*http.Request) error { hops = append(hops, r.URL.String()); return nil }
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Request.URL.String() != qa.base+"/signed-out" {
		t.Fatalf("logout ended with %d at %s (hops %v)", resp.StatusCode, resp.Request.URL, hops)
	}
	if len(hops) == 0 || !strings.HasPrefix(hops[0], qa.IdP.Issuer) || !strings.Contains(hops[0], "post_logout_redirect_uri="+url.QueryEscape(qa.base+"/signed-out")) {
		t.Errorf("logout did not pass through the provider's end-session endpoint: %v", hops)
	}
	for _, want := range []string{"You are signed out", `href="/login"`, "prefers-color-scheme"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("signed-out page lacks %q:\n%s", want, body)
		}
	}
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if resp, err := client.Get(dashboard); err != nil || resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("dashboard after sign-out: %v %v, want a redirect to login", resp, err)
	}
}
