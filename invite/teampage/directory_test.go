package teampage_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/invite/teampage"
	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/store/memstore"
)

const scimURL = "https://app.example.com/scim/v2"

var reSecret = regexp.MustCompile(`id="ik-dir-secret"[^>]*value="([^"]+)"`)

// secretOf is the token a page shows once ("" when it shows none).
func secretOf(body string) string {
	m := reSecret.FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return m[1]
}

func directoryFixture(t *testing.T) *fixture {
	return newFixture(t, func(c *teampage.Config) { c.SCIMBaseURL = scimURL })
}

// activeTokens is org's active directory tokens.
func activeTokens(t *testing.T, f *fixture, org string) []store.DirectoryToken {
	t.Helper()
	toks, err := f.svc.ListDirectoryTokens(context.Background(), org)
	if err != nil {
		t.Fatal(err)
	}
	var out []store.DirectoryToken
	for _, tok := range toks {
		if tok.RevokeTime == nil {
			out = append(out, tok)
		}
	}
	return out
}

// TestDirectoryTokens: create (the secret and the SCIM base URL shown
// once, in the answer to the POST; opening the page again shows the
// token's id and last use only), the token works against the Service,
// rotate (both active), revoke (a flash, the token refused), a repeated
// revoke refused; cross-origin and GET refused; a bad name changes
// nothing.
func TestDirectoryTokens(t *testing.T) {
	f := directoryFixture(t)
	ctx := context.Background()
	_, members, _ := get(t, f.base+"/")
	mustContain(t, members, `href="/organizations/org_acme/team/directory"`)

	status, page, _ := get(t, f.base+"/directory")
	if status != 200 {
		t.Fatalf("directory page: %d", status)
	}
	mustContain(t, page, "<title>Directory sync · Acme</title>", `id="ik-dir-no-tokens"`, "<code id=\"ik-dir-url\">"+scimURL+"</code>",
		`name="provision_status" value="ACTIVE" checked`, `name="delete_action" value="deactivate" checked`)

	// Cross-origin and GET create nothing.
	if status, _, _ := post(t, f.base+"/directory/tokens", url.Values{"name": {"Okta"}}, "Sec-Fetch-Site", "cross-site"); status != http.StatusForbidden {
		t.Fatalf("cross-origin create: %d", status)
	}
	if status, _, hdr := get(t, f.base+"/directory/tokens"); status != http.StatusSeeOther || hdr.Get("Location") != "/organizations/org_acme/team/directory" {
		t.Fatalf("GET tokens: %d %v", status, hdr)
	}
	// A name that is too long: the field's error, nothing created.
	status, page, _ = post(t, f.base+"/directory/tokens", url.Values{"name": {strings.Repeat("n", 101)}})
	if status != 422 || secretOf(page) != "" {
		t.Fatalf("long name: %d", status)
	}
	mustContain(t, page, `id="ik-dir-name-error"`, "at most 100 characters", `aria-invalid="true"`)
	if n := len(activeTokens(t, f, "org_acme")); n != 0 {
		t.Fatalf("%d tokens after refusals", n)
	}

	status, page, hdr := post(t, f.base+"/directory/tokens", url.Values{"name": {"Okta"}})
	secret := secretOf(page)
	if status != 200 || !strings.HasPrefix(secret, "dtk_") || hdr.Get("Cache-Control") != "no-store" {
		t.Fatalf("create: %d %q %v", status, secret, hdr)
	}
	mustContain(t, page, `Token “Okta” created`, `id="ik-dir-url-new"`, `value="`+scimURL+`"`)
	org, tokID, err := f.svc.AuthenticateDirectoryToken(ctx, secret)
	if err != nil || org != "org_acme" || !strings.HasPrefix(secret, tokID+".") {
		t.Fatalf("the shown token: %q %q %v", org, tokID, err)
	}
	evs, _ := f.svc.Events(ctx, "org_acme", 0, 1000)
	if ev := evs[len(evs)-1]; ev.Type != store.EventDirectoryTokenCreated || ev.ActorID != f.adminID {
		t.Fatalf("last event %+v", ev)
	}

	// Opening the page again: the id, the creator and the last use, never the secret.
	_, page, _ = get(t, f.base+"/directory")
	if secretOf(page) != "" || strings.Contains(page, strings.TrimPrefix(secret, tokID+".")) {
		t.Fatal("the page shows the secret again")
	}
	mustContain(t, page, `data-token="`+tokID+`"`, tokID+".…", "admin@acme.example", `class="ik-dir-last-used"><time datetime=`) // used once by AuthenticateDirectoryToken

	// Rotate: a new token with the same name; the old one still works.
	status, page, _ = post(t, f.base+"/directory/tokens/"+tokID+"/rotate", nil)
	newSecret := secretOf(page)
	if status != 200 || newSecret == "" || newSecret == secret {
		t.Fatalf("rotate: %d", status)
	}
	mustContain(t, page, "New token for “Okta”", "The old token "+tokID+" keeps working until you revoke it")
	if toks := activeTokens(t, f, "org_acme"); len(toks) != 2 || toks[1].Name != "Okta" {
		t.Fatalf("after rotate: %+v", toks)
	}

	// Revoke the old one: a flash; it is refused, the new one works.
	status, _, hdr = post(t, f.base+"/directory/tokens/"+tokID+"/revoke", nil)
	loc := hdr.Get("Location")
	if status != http.StatusSeeOther || !strings.HasPrefix(loc, "/organizations/org_acme/team/directory?flash=") {
		t.Fatalf("revoke: %d %q", status, loc)
	}
	_, page, _ = get(t, f.srv.URL+loc)
	mustContain(t, page, "Token “Okta” revoked", `id="ik-dir-revoked"`)
	if _, _, err := f.svc.AuthenticateDirectoryToken(ctx, secret); !errors.Is(err, invite.ErrInvalidToken) {
		t.Fatalf("revoked token: %v", err)
	}
	if _, _, err := f.svc.AuthenticateDirectoryToken(ctx, newSecret); err != nil {
		t.Fatalf("the rotated token: %v", err)
	}
	// Revoked twice, rotated after revocation: refused with a sentence.
	for _, action := range []string{"revoke", "rotate"} {
		status, page, _ = post(t, f.base+"/directory/tokens/"+tokID+"/"+action, nil)
		if status != http.StatusConflict {
			t.Fatalf("%s a revoked token: %d", action, status)
		}
		mustContain(t, page, `id="ik-alert"`, "already revoked")
	}
	if n := len(activeTokens(t, f, "org_acme")); n != 1 {
		t.Fatalf("%d active tokens", n)
	}
}

// TestDirectorySettings: the provisioning mode, the delete action and the
// group→role mapping are saved through the Service (an event); refusals
// (an unknown role, a group without a role, a group twice, a bad mode)
// answer 422 with the reason and change nothing.
func TestDirectorySettings(t *testing.T) {
	f := directoryFixture(t)
	ctx := context.Background()
	good := url.Values{
		"provision_status": {"PENDING_INVITE"}, "delete_action": {"remove"},
		"group": {" Acme Admins ", "", "Billing"}, "role": {"admin", "", "billing"},
	}
	if status, _, _ := post(t, f.base+"/directory/settings", good, "Sec-Fetch-Site", "cross-site"); status != http.StatusForbidden {
		t.Fatalf("cross-origin: %d", status)
	}
	status, _, hdr := post(t, f.base+"/directory/settings", good)
	if status != http.StatusSeeOther {
		t.Fatalf("save: %d", status)
	}
	_, page, _ := get(t, f.srv.URL+hdr.Get("Location"))
	mustContain(t, page, "Directory settings saved.", `value="PENDING_INVITE" checked`, `value="remove" checked`,
		`name="group" value="Acme Admins"`, `name="group" value="Billing"`, `<option value="billing" selected>`)
	ds, err := f.svc.DirectorySettings(ctx, "org_acme")
	if err != nil || ds.ProvisionStatus != store.StatusPendingInvite || ds.DeleteAction != store.DeleteRemove ||
		len(ds.GroupRoles) != 2 || ds.GroupRoles["Acme Admins"] != "admin" || ds.GroupRoles["Billing"] != "billing" {
		t.Fatalf("settings %+v %v", ds, err)
	}
	evs, _ := f.svc.Events(ctx, "org_acme", 0, 1000)
	if ev := evs[len(evs)-1]; ev.Type != store.EventDirectorySettings || ev.ActorID != f.adminID {
		t.Fatalf("last event %+v", ev)
	}

	for _, tc := range []struct {
		name string
		form url.Values
		want string
	}{
		{"unknown role", url.Values{"provision_status": {"ACTIVE"}, "group": {"X"}, "role": {"owner"}}, "The role “owner” is not one of this app&#39;s roles."},
		{"group without role", url.Values{"group": {"Sales"}, "role": {""}}, "Choose a role for the group “Sales”."},
		{"role without group", url.Values{"group": {""}, "role": {"admin"}}, "enter the group&#39;s name"},
		{"group twice", url.Values{"group": {"Sales", "Sales"}, "role": {"admin", "billing"}}, "is mapped twice"},
		{"bad mode", url.Values{"provision_status": {"INACTIVE"}}, "Choose one of the options."},
		{"bad delete action", url.Values{"delete_action": {"purge"}}, "Choose one of the options."},
		{"long group name", url.Values{"group": {strings.Repeat("g", 257)}, "role": {"admin"}}, "1 to 256 characters"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, page, _ := post(t, f.base+"/directory/settings", tc.form)
			if status != 422 {
				t.Fatalf("%d", status)
			}
			mustContain(t, page, tc.want)
			after, _ := f.svc.DirectorySettings(ctx, "org_acme")
			if after.ProvisionStatus != ds.ProvisionStatus || after.DeleteAction != ds.DeleteAction || len(after.GroupRoles) != 2 {
				t.Fatalf("changed: %+v", after)
			}
		})
	}
}

// TestDirectoryTenant: org_acme's page lists only org_acme's tokens; a
// token of org_other, an unknown id and an id of no token's shape are the
// same 404 for rotate and revoke, and org_other's token stays active and
// unrotated.
func TestDirectoryTenant(t *testing.T) {
	f := directoryFixture(t)
	ctx := context.Background()
	otherSecret, other, err := f.svc.CreateDirectoryToken(ctx, "org_other", "Other's Entra", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.svc.CreateDirectoryToken(ctx, "org_acme", "Acme's Okta", f.adminID); err != nil {
		t.Fatal(err)
	}
	_, page, _ := get(t, f.base+"/directory")
	mustContain(t, page, "Acme&#39;s Okta")
	if strings.Contains(page, other.ID) || strings.Contains(page, "Other&#39;s Entra") {
		t.Fatal("org_acme's page shows org_other's token")
	}
	for _, id := range []string{other.ID, "dtk_" + strings.Repeat("a", 26), "dtk_NOPE", "usr_x", "dtk_" + strings.Repeat("a", 80)} {
		for _, action := range []string{"revoke", "rotate"} {
			status, body, _ := post(t, f.base+"/directory/tokens/"+url.PathEscape(id)+"/"+action, nil)
			if status != http.StatusNotFound || body != "Not found.\n" {
				t.Errorf("%s %s: %d %q", action, id, status, body)
			}
		}
	}
	if toks := activeTokens(t, f, "org_other"); len(toks) != 1 {
		t.Fatalf("org_other's tokens: %+v", toks)
	}
	if _, _, err := f.svc.AuthenticateDirectoryToken(ctx, otherSecret); err != nil {
		t.Fatalf("org_other's token after org_acme's attempts: %v", err)
	}
	if toks := activeTokens(t, f, "org_acme"); len(toks) != 1 {
		t.Fatalf("org_acme's tokens: %d", len(toks))
	}
	// Other paths under the section: 404, and an unknown method 405.
	for _, p := range []string{"/directory/nope", "/directory/tokens/" + other.ID, "/directory/tokens/" + other.ID + "/delete"} {
		if status, _, _ := post(t, f.base+p, nil); status != http.StatusNotFound {
			t.Errorf("POST %s: %d", p, status)
		}
	}
	if status, _, _ := post(t, f.base+"/directory", nil); status != http.StatusMethodNotAllowed {
		t.Errorf("POST /directory: %d", status)
	}
}

// TestDirectoryNeedsStore: without store.Directory there is no section
// (404) and no link to it.
func TestDirectoryNeedsStore(t *testing.T) {
	ctx := context.Background()
	svc, err := invite.New(plainStore{memstore.New()}, invite.Config{SecretKey: testKey, AcceptURL: "https://app.example.com/invite/accept"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.CreateOrganization(ctx, invite.CreateOrganizationRequest{ID: "org_acme", Name: "Acme"}); err != nil {
		t.Fatal(err)
	}
	page, err := teampage.New(svc, teampage.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { page.Close() })
	mux := http.NewServeMux()
	mux.Handle("/organizations/{orgID}/team/", page)
	base := httptestServer(t, mux) + "/organizations/org_acme/team"
	if _, body, _ := get(t, base+"/"); strings.Contains(body, "/directory") {
		t.Fatal("a Directory sync link without store.Directory")
	}
	if status, _, _ := get(t, base+"/directory"); status != http.StatusNotFound {
		t.Fatalf("directory page: %d", status)
	}
}

// TestDirectoryLanguage: the section speaks the page's language (German
// here, by Accept-Language): headings, the table, the form, the flash and
// a refusal; no catalog key and none of the English shows.
func TestDirectoryLanguage(t *testing.T) {
	f := directoryFixture(t)
	de := func(method, u string, form url.Values) (int, string, http.Header) {
		t.Helper()
		req, _ := http.NewRequest(method, u, strings.NewReader(form.Encode()))
		req.Header.Set("Accept-Language", "de-DE,de;q=0.9")
		if method == http.MethodPost {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header
	}
	_, members, _ := de(http.MethodGet, f.base+"/", nil)
	mustContain(t, members, `id="ik-directory-link">Verzeichnis-Synchronisierung</a>`)
	status, created, _ := de(http.MethodPost, f.base+"/directory/tokens", url.Values{"name": {"Okta"}})
	if status != 200 {
		t.Fatalf("create: %d", status)
	}
	mustContain(t, created, `<html lang="de">`, "Token „Okta“ erstellt", "Kopieren Sie es jetzt", "Zuletzt benutzt", "Nie", "Erneuern",
		"Gruppen, die Rollen vergeben", "Einstellungen speichern", "1 aktives Token")
	_, refused, _ := de(http.MethodPost, f.base+"/directory/settings", url.Values{"group": {"Sales"}, "role": {""}})
	mustContain(t, refused, "Wählen Sie eine Rolle für die Gruppe „Sales“.")
	tok := activeTokens(t, f, "org_acme")[0]
	_, _, hdr := de(http.MethodPost, f.base+"/directory/tokens/"+tok.ID+"/revoke", nil)
	_, revoked, _ := de(http.MethodGet, f.srv.URL+hdr.Get("Location"), nil)
	mustContain(t, revoked, "Token „Okta“ widerrufen", "1 widerrufenes Token")
	for _, p := range []string{members, created, refused, revoked} {
		if i := strings.Index(p, "team."); i >= 0 {
			t.Fatalf("a catalog key shows: %s", p[i:min(len(p), i+40)])
		}
		for _, en := range []string{"Directory sync", "Create token", "Last used", "Save settings"} {
			if strings.Contains(p, en) {
				t.Fatalf("English %q on the German page", en)
			}
		}
	}
}
