package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/invitekit/invitekit/examples/devidp"
)

// devSignIn signs email in as a browser does, through the app's /login and
// the dev provider's form (any email, the password devidp.Password), and
// follows the redirects back to the app; client must have a cookie jar. It
// returns the last response (its body closed): the page the sign-in lands
// on, normally returnTo.
func devSignIn(t testing.TB, client *http.Client, base, email, returnTo string) *http.Response {
	t.Helper()
	resp, err := client.Get(base + "/login?return_to=" + url.QueryEscape(returnTo))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	form := *resp.Request.URL
	if !strings.HasSuffix(form.Path, "/login/username") {
		t.Fatalf("login went to %s, want the dev provider's form", resp.Request.URL)
	}
	form.RawQuery = ""
	resp, err = client.PostForm(form.String(), url.Values{
		"id":       {resp.Request.URL.Query().Get("authRequestID")},
		"username": {email},
		"password": {devidp.Password},
	})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}
