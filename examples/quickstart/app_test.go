package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/invitekit/invitekit/mailer/outbox"
	"github.com/invitekit/invitekit/store"
)

// TestRoutes checks the quickstart's routes for a visitor who is not
// signed in, without a browser.
func TestRoutes(t *testing.T) {
	qa := startApp(t)
	client := &http.Client{
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	tests := []struct {
		name, method, path, accept string
		status                     int
		location, contains         string
	}{
		{"home", "GET", "/", "text/html", 200, "", "password <code>dev</code>"},
		{"dev inbox", "GET", "/dev/inbox", "text/html", 200, "", "No mail yet"},
		{"dashboard, browser", "GET", "/orgs/org_acme/dashboard", "text/html", 303, "/login?return_to=%2Forgs%2Forg_acme%2Fdashboard", ""},
		{"dashboard, API", "GET", "/orgs/org_acme/dashboard", "application/json", 401, "", `"unauthenticated"`},
		{"team page, browser", "GET", "/orgs/org_acme/team/", "text/html", 303, "/login?return_to=%2Forgs%2Forg_acme%2Fteam%2F", ""},
		{"JSON API", "GET", "/api/organizations/org_acme/users", "application/json", 401, "", `"unauthenticated"`},
		{"login", "GET", "/login?return_to=/orgs/org_acme/team/", "text/html", 303, qa.IdP.Issuer + "auth?", ""},
		{"login, open redirect", "GET", "/login?return_to=https://evil.example", "text/html", 400, "", "return_to"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), tt.method, qa.base+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Accept", tt.accept)
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, tt.location) {
				t.Errorf("Location %q, want prefix %q", loc, tt.location)
			}
			if !strings.Contains(string(body), tt.contains) {
				t.Errorf("body does not contain %q", tt.contains)
			}
		})
	}
}

// TestRestartKeepsData opens the same data folder twice: the secret key is
// reused and the seed is not repeated.
func TestRestartKeepsData(t *testing.T) {
	dir := t.TempDir()
	cfg := config{BaseURL: "http://127.0.0.1:1", DataDir: dir, DevIdPAddr: "127.0.0.1:0"}
	a, err := newApp(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	key1, err := os.ReadFile(filepath.Join(dir, "secret.key"))
	if err != nil || len(key1) != outbox.KeySize {
		t.Fatalf("secret.key: %d bytes, %v", len(key1), err)
	}
	a.Close()

	a, err = newApp(t.Context(), cfg)
	if err != nil {
		t.Fatalf("second start: %v", err)
	}
	defer a.Close()
	key2, _ := os.ReadFile(filepath.Join(dir, "secret.key"))
	if !bytes.Equal(key1, key2) {
		t.Error("the secret key changed on restart (links in queued mail would no longer open)")
	}
	org, err := a.Service.Organization(t.Context(), seedOrgID)
	if err != nil || org.Name != seedOrgName {
		t.Fatalf("seeded organization after restart: %+v, %v", org, err)
	}
	page, err := a.Service.ListMembers(t.Context(), seedOrgID, store.ListOptions{Limit: 10})
	if err != nil || len(page.Members) != 1 || page.Members[0].User.Email != seedAdminEmail {
		t.Fatalf("members after restart: %+v, %v; want only the seeded admin", page.Members, err)
	}
}

func TestLoadOrCreateKeyRefusesBadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secret.key")
	if err := os.WriteFile(path, []byte("short"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadOrCreateKey(path); err == nil || !strings.Contains(err.Error(), "secret.key") {
		t.Fatalf("loadOrCreateKey(5-byte file) = %v, want an error naming the file", err)
	}
}

// The dev inbox shows working accept links, so it answers this machine
// only, and exists only while the dev provider is in use.
func TestDevInboxOnlyLocalAndWithDevProvider(t *testing.T) {
	inbox := func(h http.Handler, remote string) int {
		t.Helper()
		r := httptest.NewRequest("GET", "/dev/inbox", nil)
		r.RemoteAddr = remote
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec.Code
	}
	dev := startApp(t)
	if code := inbox(dev.Handler, "127.0.0.1:40000"); code != http.StatusOK {
		t.Fatalf("dev provider, local client: /dev/inbox %d, want 200", code)
	}
	if code := inbox(dev.Handler, "203.0.113.7:40000"); code != http.StatusForbidden {
		t.Fatalf("dev provider, remote client: /dev/inbox %d, want 403", code)
	}

	real := startApp(t, func(c *config) {
		c.Issuer = "https://idp.example.com"
		c.ClientID = "quickstart"
		c.ClientSecret = "secret"
		c.RedirectURL = c.BaseURL + "/auth/callback"
	})
	if real.IdP != nil {
		t.Fatal("the dev provider runs although a real one is configured")
	}
	if code := inbox(real.Handler, "127.0.0.1:40000"); code != http.StatusNotFound {
		t.Fatalf("real provider, local client: /dev/inbox %d, want 404 (not mounted)", code)
	}
	resp, err := http.Get(real.base + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(body), "/dev/inbox") || strings.Contains(string(body), "password <code>") {
		t.Errorf("real provider: the home page still points at the dev inbox or the dev password:\n%s", body)
	}
}
