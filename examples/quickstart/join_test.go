package main

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestJoinPageMounted: the quickstart serves the app's join link
// /orgs/{orgID}/join; signed out, it sends the person to sign in first.
func TestJoinPageMounted(t *testing.T) {
	qa := startApp(t)
	client := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(qa.base + "/orgs/" + seedOrgID + "/join")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode/100 != 3 || !strings.Contains(loc, "/login") {
		t.Fatalf("GET /orgs/%s/join = %d, Location %q; want a redirect to sign in", seedOrgID, resp.StatusCode, loc)
	}
}
