package invite

import (
	"crypto/sha256"
	"encoding/base64"
	"go/ast"
	"go/parser"
	"go/token"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/invitekit/invitekit/store/memstore"
)

func TestVerifierShape(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		v, hash := newVerifier()
		raw, err := base64.RawURLEncoding.DecodeString(v)
		if err != nil || len(raw) != 32 {
			t.Fatalf("verifier %d chars decodes to %d bytes (%v), want 32 bytes = 256 bits", len(v), len(raw), err)
		}
		want := sha256.Sum256([]byte(v))
		if string(hash) != string(want[:]) {
			t.Fatal("hash is not SHA-256 of the verifier")
		}
		if seen[v] {
			t.Fatal("verifier repeated")
		}
		seen[v] = true
		id, got, err := parseToken(formatToken("inv_01jd8abc", v))
		if err != nil || id != "inv_01jd8abc" || got != v {
			t.Fatalf("round trip = %q %q %v", id, got, err)
		}
	}
}

func TestParseTokenRejects(t *testing.T) {
	v, _ := newVerifier()
	tests := map[string]string{
		"empty":             "",
		"no dot":            "inv_abc" + v,
		"no selector":       "." + v,
		"wrong prefix":      "usr_abc." + v,
		"upper selector":    "inv_ABC." + v,
		"short verifier":    "inv_abc." + v[:42],
		"long verifier":     "inv_abc." + v + "A",
		"bad verifier char": "inv_abc." + v[:42] + "=",
		"two dots":          "inv_abc." + v[:20] + "." + v[21:],
		"huge":              strings.Repeat("a", 10000),
		"long selector":     "inv_" + strings.Repeat("a", 70) + "." + v,
		"newline":           "inv_abc." + v[:42] + "\n",
	}
	for name, tok := range tests {
		t.Run(name, func(t *testing.T) {
			if _, _, err := parseToken(tok); err != ErrInvalidToken {
				t.Fatalf("parseToken = %v, want ErrInvalidToken", err)
			}
		})
	}
}

func TestVerifierMatches(t *testing.T) {
	v, hash := newVerifier()
	if !verifierMatches(v, hash) {
		t.Fatal("own verifier does not match")
	}
	other, _ := newVerifier()
	for name, h := range map[string][]byte{"other": hashVerifier(other), "short": hash[:31], "nil": nil} {
		if verifierMatches(v, h) {
			t.Errorf("%s hash matches", name)
		}
	}
}

// TestConstantTimeCompare checks, on the source, that verifiers are
// compared only with crypto/subtle.ConstantTimeCompare and that the token
// check goes through verifierMatches.
func TestConstantTimeCompare(t *testing.T) {
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	calls := map[string]map[string]bool{} // func name → selector calls in it
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			set := map[string]bool{}
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				switch f := call.Fun.(type) {
				case *ast.SelectorExpr:
					if x, ok := f.X.(*ast.Ident); ok {
						set[x.Name+"."+f.Sel.Name] = true
					}
				case *ast.Ident:
					set[f.Name] = true
				}
				return true
			})
			calls[fn.Name.Name] = set
			for _, banned := range []string{"bytes.Equal", "bytes.Compare", "reflect.DeepEqual", "hmac.Equal"} {
				if set[banned] {
					t.Errorf("%s: %s calls %s; compare secrets with subtle.ConstantTimeCompare", name, fn.Name.Name, banned)
				}
			}
		}
	}
	if !calls["verifierMatches"]["subtle.ConstantTimeCompare"] {
		t.Error("verifierMatches does not call subtle.ConstantTimeCompare")
	}
	if !calls["checkToken"]["verifierMatches"] {
		t.Error("checkToken does not verify through verifierMatches")
	}
}

// TestAcceptLinkParts: the accept link made from the parts computed once
// is what setting "token" in the accept URL's query gives, whatever else
// the URL carries.
func TestAcceptLinkParts(t *testing.T) {
	reference := func(raw, token string) string {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		q.Set("token", token)
		u.RawQuery = q.Encode()
		return u.String()
	}
	v, _ := newVerifier()
	tokens := []string{formatToken("inv_01jd8abc", v), "a b&c=d/é?#"}
	for _, raw := range []string{
		"https://app.example.com/accept",
		"https://app.example.com/accept?",
		"https://app.example.com",
		"http://app.example.com:8080/a%20b/accept",
		"https://app.example.com/accept?a=1&z=2&tok=3&tokenx=4&Z=5",
		"https://app.example.com/accept?token=old&token=older&utm=x",
		"https://app.example.com/accept?z=%2F%20&a=1&a=2#frag%20ment",
		"https://app.example.com/accept#/route?x=1",
		"https://user:pw@app.example.com/accept?lang=de",
		"https://app.example.com/accept?flag",
	} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		svc := &Service{link: newLinkParts(u)} // Config.AcceptURL refuses fragments: built here
		for _, tok := range tokens {
			if got, want := svc.acceptLink(tok), reference(raw, tok); got != want {
				t.Errorf("accept URL %s, token %q:\n got %s\nwant %s", raw, tok, got, want)
			}
		}
	}
	svc, err := New(memstore.New(), Config{SecretKey: make([]byte, 32), AcceptURL: "https://app.example.com/accept?z=1&a=2"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := svc.acceptLink(tokens[0]), reference("https://app.example.com/accept?z=1&a=2", tokens[0]); got != want {
		t.Errorf("New: got %s, want %s", got, want)
	}
}
