// Package archtest checks the kit's layering: which package of the kit
// may import which (the README's package table). A new import across the
// layers fails here, so the architecture stays what the README says.
package archtest

import (
	"encoding/json"
	"io"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/invitekit/invitekit"

// allowed lists, per package (relative to the module), the kit packages
// its non-test code may import directly. Packages not listed (scripts,
// test fixtures) are not checked.
var allowed = map[string][]string{
	"mailer/outbox":              {},
	"invite/csvimport":           {},
	"internal/sessionkeys":       {},
	"store":                      {"mailer/outbox"},
	"store/memstore":             {"store"},
	"store/sqlitestore":          {"store"},
	"store/pgstore":              {"store"},
	"store/storetest":            {"store", "mailer/outbox"},
	"mailer":                     {"store", "mailer/outbox", "internal/pages"},
	"mailer/mailpittest":         {},
	"invite":                     {"store", "mailer/outbox", "invite/csvimport"},
	"internal/httpx":             {"store", "invite/csvimport"},
	"internal/ratelimit":         {},
	"internal/dnstest":           {},
	"internal/pages":             {},
	"internal/pages/pagetest":    {},
	"invite/inviteapi":           {"invite", "store", "internal/httpx", "invite/csvimport", "internal/ratelimit"},
	"invite/webhooks":            {"invite", "store", "mailer/outbox", "internal/httpx"},
	"invite/webhooks/webhookapi": {"invite", "invite/webhooks", "invite/inviteapi", "store", "internal/httpx"},
	"invite/scim":                {"invite", "store", "internal/httpx", "internal/ratelimit"},
	"invite/teampage":            {"invite", "store", "invite/inviteapi", "internal/httpx", "invite/csvimport", "internal/ratelimit", "internal/pages", "authflow/ssocheck"},
	"authflow":                   {"invite", "store", "internal/httpx", "internal/sessionkeys", "internal/ratelimit", "internal/pages", "authflow/ssocheck"},
	"authflow/ssocheck":          {"store"},
	"invite/ssoapi":              {"invite", "store", "internal/httpx", "authflow/ssocheck"},
	"middleware":                 {"store", "internal/httpx", "internal/sessionkeys", "internal/pages"},
	"invite/internal/invitetest": {"invite", "store", "mailer/outbox", "store/memstore", "store/sqlitestore", "store/pgstore"},
}

// forbiddenStd are standard-library packages a layer must not import.
var forbiddenStd = map[string][]string{
	"invite":        {"net/http"},
	"store":         {"net/http"},
	"mailer/outbox": {"net/http"},
}

type pkg struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", module+"/...")
	cmd.Dir = filepath.Join("..", "..")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	var pkgs []pkg
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

func TestLayers(t *testing.T) {
	pkgs := listPackages(t)
	seen := map[string]bool{}
	for _, p := range pkgs {
		rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		allow, ok := allowed[rel]
		if !ok {
			if !strings.HasPrefix(rel, "scripts") && !strings.HasPrefix(rel, "internal/readme") && !strings.HasPrefix(rel, "internal/archtest") {
				t.Errorf("package %s is not in the layer table: add it to allowed (and to the README's package table)", rel)
			}
			continue
		}
		seen[rel] = true
		ok2 := map[string]bool{}
		for _, a := range allow {
			ok2[a] = true
		}
		for _, imp := range p.Imports {
			if !strings.HasPrefix(imp, module+"/") {
				continue
			}
			dep := strings.TrimPrefix(imp, module+"/")
			if !ok2[dep] {
				t.Errorf("%s imports %s, which its layer does not allow", rel, dep)
			}
		}
		for _, std := range forbiddenStd[rel] {
			for _, d := range p.Deps {
				if d == std {
					t.Errorf("%s depends on %s", rel, std)
				}
			}
		}
	}
	var missing []string
	for rel := range allowed {
		if !seen[rel] && rel != "internal/ratelimit" {
			missing = append(missing, rel)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("the layer table names packages that do not exist: %v", missing)
	}
}

// invite must not pull in an SMTP client or a rate limiter.
func TestInviteDependsOnNoTransport(t *testing.T) {
	for _, p := range listPackages(t) {
		if p.ImportPath != module+"/invite" {
			continue
		}
		for _, d := range p.Deps {
			if strings.Contains(d, "go-mail") || d == "golang.org/x/time/rate" || d == "net/http" {
				t.Errorf("invite depends on %s", d)
			}
		}
		return
	}
	t.Fatal("package invite not listed")
}
