// Package readme_test checks that every Go snippet in the repository's
// README.md compiles against the current code.
//
// # Convention
//
// Every block fenced with ```go is type-checked (go/parser + go/types, with
// the export data of the real packages from `go list -export`), each block
// as a package of its own. Errors name the README line ("README.md:123:5:
// undefined: currentUser"). Blocks fenced otherwise (```sh, plain ```) are
// not checked.
//
//   - A block whose first code line starts with "package" is a complete
//     file and is checked as it stands: its own imports, nothing added,
//     nothing tolerated. Imports of example.com/… stand for the reader's own
//     packages and resolve to the stand-ins in standins below.
//   - Any other block is a fragment. A fragment that begins with a
//     declaration (func, type, var, const) is checked as top-level
//     declarations; any other fragment as the statements of a function body.
//   - Fragments see the Quick start's variables — ctx, key, st, svc,
//     sessions, guard, flow and mux, typed as in examples/minimal/main.go —,
//     the request of a handler (w, r), and the Quick start's helpers that its
//     block leaves out (must, dashboard); see envSource. Everything else a
//     fragment uses must be defined in the block itself or be real API.
//   - A fragment's imports are inferred: a selector pkg.Name whose pkg is a
//     name in knownImports imports that package. Unused imports and unused
//     variables are tolerated in fragments (they show one call's result).
//   - An ellipsis alone between braces — { … }, {…} or { ... } — stands for
//     the reader's own code and is checked as {} (an empty block, or an
//     empty composite literal).
//
// The Quick start block must also appear verbatim in
// examples/minimal/main.go, which the README says it is.
package readme_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/scanner"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
)

// readmeName is how errors name the README (the file is ../../README.md).
const readmeName = "README.md"

// knownImports maps the package names fragments may use to import paths.
var knownImports = map[string]string{
	// standard library
	"context":  "context",
	"errors":   "errors",
	"fmt":      "fmt",
	"hex":      "encoding/hex",
	"http":     "net/http",
	"io":       "io",
	"log":      "log",
	"os":       "os",
	"slog":     "log/slog",
	"strings":  "strings",
	"subtle":   "crypto/subtle",
	"template": "html/template",
	"testing":  "testing",
	"time":     "time",
	// the kit
	"authflow":    "github.com/invitekit/invitekit/authflow",
	"csvimport":   "github.com/invitekit/invitekit/invite/csvimport",
	"invite":      "github.com/invitekit/invitekit/invite",
	"inviteapi":   "github.com/invitekit/invitekit/invite/inviteapi",
	"mailer":      "github.com/invitekit/invitekit/mailer",
	"mailpittest": "github.com/invitekit/invitekit/mailer/mailpittest",
	"memstore":    "github.com/invitekit/invitekit/store/memstore",
	"middleware":  "github.com/invitekit/invitekit/middleware",
	"pgstore":     "github.com/invitekit/invitekit/store/pgstore",
	"sqlitestore": "github.com/invitekit/invitekit/store/sqlitestore",
	"store":       "github.com/invitekit/invitekit/store",
	"storetest":   "github.com/invitekit/invitekit/store/storetest",
	"teampage":    "github.com/invitekit/invitekit/invite/teampage",
	"webhooks":    "github.com/invitekit/invitekit/invite/webhooks",
	"webhookapi":  "github.com/invitekit/invitekit/invite/webhooks/webhookapi",
	"scim":        "github.com/invitekit/invitekit/invite/scim",
	"ssoapi":      "github.com/invitekit/invitekit/invite/ssoapi",
	// third party, all required by the kit's go.mod
	"chi":        "github.com/go-chi/chi/v5",
	"pgxpool":    "github.com/jackc/pgx/v5/pgxpool",
	"pgxstore":   "github.com/alexedwards/scs/pgxstore",
	"redis":      "github.com/gomodule/redigo/redis",
	"redisstore": "github.com/alexedwards/scs/redisstore",
	"scs":        "github.com/alexedwards/scs/v2",
}

// envSource declares what every fragment sees: the Quick start's
// variables, a handler's w and r, and the helpers the Quick start block
// leaves out. It is a second file of each fragment's package.
const envSource = `package snippet

import (
	"context"
	"log"
	"net/http"

	"github.com/alexedwards/scs/v2"
	"github.com/invitekit/invitekit/authflow"
	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/middleware"
	"github.com/invitekit/invitekit/store/sqlitestore"
)

var (
	ctx      context.Context
	key      []byte // invite.Config.SecretKey, 32 bytes
	st       *sqlitestore.Store
	svc      *invite.Service
	sessions *scs.SessionManager
	guard    *middleware.Middleware
	flow     *authflow.Flow
	mux      *http.ServeMux

	w http.ResponseWriter
	r *http.Request

	dashboard http.HandlerFunc
)

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
`

// standins are the reader's own packages that complete-file snippets
// import, by import path.
var standins = map[string]string{
	"example.com/mystore": `// Package mystore stands in for the reader's own store.Store.
package mystore

import (
	"context"

	"github.com/invitekit/invitekit/store/memstore"
)

type Store struct{ *memstore.Store }

func Open(ctx context.Context, dsn string) (*Store, error) { return &Store{memstore.New()}, nil }
`,
}

// snippet is one ```go block.
type snippet struct {
	Line int    // README line of the block's first code line
	Code string // the block's lines, without the fences
}

// extract returns the ```go blocks of a Markdown text.
func extract(md string) ([]snippet, error) {
	var out []snippet
	lines := strings.Split(md, "\n")
	for i := 0; i < len(lines); i++ {
		fence := strings.TrimSpace(lines[i])
		if !strings.HasPrefix(fence, "```") {
			continue
		}
		lang := strings.TrimSpace(strings.TrimPrefix(fence, "```"))
		start := i + 1
		j := start
		for j < len(lines) && strings.TrimSpace(lines[j]) != "```" {
			j++
		}
		if j == len(lines) {
			return nil, fmt.Errorf("%s:%d: code block never closed", readmeName, i+1)
		}
		if lang == "go" {
			out = append(out, snippet{Line: start + 1, Code: strings.Join(lines[start:j], "\n")})
		}
		i = j
	}
	return out, nil
}

// placeholder is an ellipsis alone between braces.
var placeholder = regexp.MustCompile(`\{[ \t]*(…|\.\.\.)[ \t]*\}`)

// kind of a snippet.
type kind int

const (
	wholeFile kind = iota
	declarations
	statements
)

// kindOf tells what a snippet is from its first token.
func kindOf(code string) kind {
	var s scanner.Scanner
	fset := token.NewFileSet()
	src := []byte(code)
	s.Init(fset.AddFile("", -1, len(src)), src, nil, 0)
	for {
		_, tok, _ := s.Scan()
		switch tok {
		case token.PACKAGE:
			return wholeFile
		case token.FUNC, token.TYPE, token.VAR, token.CONST, token.IMPORT:
			return declarations
		default:
			return statements
		}
	}
}

// source is one snippet as a Go file: the text and where it came from.
type source struct {
	Kind    kind
	Text    string
	Imports []string // import paths the type check needs (without stand-ins)
}

// build turns a snippet into a Go file whose positions are README
// positions (by //line directives).
func build(sn snippet) (source, error) {
	code := placeholder.ReplaceAllString(sn.Code, "{}")
	k := kindOf(code)
	directive := fmt.Sprintf("//line %s:%d:1\n", readmeName, sn.Line)
	if k == wholeFile {
		text := directive + code + "\n"
		f, err := parser.ParseFile(token.NewFileSet(), readmeName, text, parser.ImportsOnly)
		if err != nil {
			return source{}, err
		}
		var paths []string
		for _, im := range f.Imports {
			p := strings.Trim(im.Path.Value, `"`)
			if _, ok := standins[p]; !ok {
				paths = append(paths, p)
			}
		}
		return source{Kind: k, Text: text, Imports: paths}, nil
	}
	// wrap writes the file; an inferred import is placed (by a //line
	// directive) at the first use of its name, so errors about it name
	// that line.
	wrap := func(imports []string, at map[string]token.Position) string {
		var b strings.Builder
		b.WriteString("package snippet\n\n")
		for _, p := range imports {
			fmt.Fprintf(&b, "//line %s:%d:%d\nimport %q\n", readmeName, at[p].Line, at[p].Column, p)
		}
		if k == statements {
			b.WriteString("\nfunc _() {\n")
		}
		b.WriteString(directive)
		b.WriteString(code)
		if k == statements {
			b.WriteString("\n}")
		}
		b.WriteString("\n")
		return b.String()
	}
	// Parse once without imports to find the package names used.
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, readmeName, wrap(nil, nil), 0)
	if err != nil {
		return source{}, err
	}
	used := map[string]token.Position{}
	ast.Inspect(f, func(n ast.Node) bool {
		if sel, ok := n.(*ast.SelectorExpr); ok {
			if id, ok := sel.X.(*ast.Ident); ok {
				if p, ok := knownImports[id.Name]; ok {
					if _, seen := used[p]; !seen {
						used[p] = fset.Position(id.Pos())
					}
				}
			}
		}
		return true
	})
	imports := make([]string, 0, len(used))
	for p := range used {
		imports = append(imports, p)
	}
	sort.Strings(imports)
	return source{Kind: k, Text: wrap(imports, used), Imports: imports}, nil
}

// envImports are the import paths of envSource.
func envImports() []string { return importsOf(envSource) }

// importsOf returns the import paths of a Go file of this test.
func importsOf(src string) []string {
	f, err := parser.ParseFile(token.NewFileSet(), "", src, parser.ImportsOnly)
	if err != nil {
		panic(err)
	}
	var paths []string
	for _, im := range f.Imports {
		paths = append(paths, strings.Trim(im.Path.Value, `"`))
	}
	return paths
}

// checker type-checks snippets against the export data of real packages.
type checker struct {
	fset     *token.FileSet
	gc       types.Importer
	exports  map[string]string // import path → export data file
	standins map[string]*types.Package
	mu       sync.Mutex
}

// newChecker builds (or finds in the build cache) the export data of
// paths and their dependencies, with the go command of this toolchain.
func newChecker(t *testing.T, paths []string) *checker {
	t.Helper()
	goCmd, err := exec.LookPath("go") // go test puts its own toolchain first in PATH
	if err != nil {
		t.Fatalf("the go command is needed to build the export data: %v", err)
	}
	args := append([]string{"list", "-e", "-export", "-deps", "-json=ImportPath,Export,Error", "--"}, paths...)
	cmd := exec.Command(goCmd, args...)
	cmd.Dir = filepath.Join("..", "..") // the root module: it requires every package the README uses
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -export: %v\n%s", err, stderr.Bytes())
	}
	c := &checker{fset: token.NewFileSet(), exports: map[string]string{}, standins: map[string]*types.Package{}}
	dec := json.NewDecoder(bytes.NewReader(out))
	var broken []string
	for {
		var p struct {
			ImportPath string
			Export     string
			Error      *struct{ Err string }
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		if p.Error != nil {
			// A package that does not build (or no longer exists): the
			// snippets that import it fail with this message.
			broken = append(broken, fmt.Sprintf("%s: %s", p.ImportPath, p.Error.Err))
			continue
		}
		c.exports[p.ImportPath] = p.Export
	}
	for _, b := range broken {
		t.Logf("go list: %s", b)
	}
	c.gc = importer.ForCompiler(c.fset, "gc", func(path string) (io.ReadCloser, error) {
		file, ok := c.exports[path]
		if !ok || file == "" {
			return nil, fmt.Errorf("no export data for %q (see the go list messages above)", path)
		}
		return os.Open(file)
	})
	return c
}

// standin type-checks the stand-in for path (once).
func (c *checker) standin(path, src string) (*types.Package, error) {
	if pkg, ok := c.standins[path]; ok {
		return pkg, nil
	}
	f, err := parser.ParseFile(c.fset, path+"/standin.go", src, 0)
	if err != nil {
		return nil, fmt.Errorf("stand-in %s: %v", path, err)
	}
	conf := types.Config{Importer: c.gc}
	pkg, err := conf.Check(path, c.fset, []*ast.File{f}, nil)
	if err != nil {
		return nil, fmt.Errorf("stand-in %s: %v", path, err)
	}
	c.standins[path] = pkg
	return pkg, nil
}

func (c *checker) Import(path string) (*types.Package, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if src, ok := standins[path]; ok {
		return c.standin(path, src)
	}
	return c.gc.Import(path)
}

// tolerated reports whether a type error is one fragments may have.
func tolerated(err types.Error) bool {
	return err.Soft && (strings.Contains(err.Msg, "declared and not used") || strings.Contains(err.Msg, "imported and not used"))
}

// check type-checks one snippet and returns its errors, each starting
// with the README position.
func (c *checker) check(src source) []string {
	f, err := parser.ParseFile(c.fset, readmeName, src.Text, parser.SkipObjectResolution)
	if err != nil {
		return errorList(err)
	}
	files := []*ast.File{f}
	if src.Kind != wholeFile {
		env, err := parser.ParseFile(c.fset, "env.go", envSource, parser.SkipObjectResolution)
		if err != nil {
			panic(err)
		}
		files = append(files, env)
	}
	var errs []string
	conf := types.Config{
		Importer:  c,
		GoVersion: "go1.26",
		Error: func(err error) {
			var te types.Error
			if errors.As(err, &te) && src.Kind != wholeFile && tolerated(te) {
				return
			}
			errs = append(errs, err.Error())
		},
	}
	conf.Check("snippet", c.fset, files, nil)
	return errs
}

func errorList(err error) []string {
	var list scanner.ErrorList
	if errors.As(err, &list) {
		var out []string
		for _, e := range list {
			out = append(out, e.Error())
		}
		return out
	}
	return []string{err.Error()}
}

// checkMarkdown checks every Go snippet of md and returns the errors.
func checkMarkdown(t *testing.T, md string) (snippets int, errs []string) {
	t.Helper()
	sns, err := extract(md)
	if err != nil {
		return 0, []string{err.Error()}
	}
	var srcs []source
	paths := envImports()
	for _, src := range standins {
		paths = append(paths, importsOf(src)...)
	}
	for _, sn := range sns {
		src, err := build(sn)
		if err != nil {
			errs = append(errs, errorList(err)...)
			srcs = append(srcs, source{})
			continue
		}
		srcs = append(srcs, src)
		paths = append(paths, src.Imports...)
	}
	slices.Sort(paths)
	c := newChecker(t, slices.Compact(paths))
	seen := map[string]bool{} // a package that does not build fails every snippet that uses it: say so once
	for _, src := range srcs {
		if src.Text == "" {
			continue
		}
		for _, e := range c.check(src) {
			if !seen[e] {
				seen[e] = true
				errs = append(errs, e)
			}
		}
	}
	return len(sns), errs
}

func readREADME(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", readmeName))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestREADMESnippetsCompile is the check itself.
func TestREADMESnippetsCompile(t *testing.T) {
	n, errs := checkMarkdown(t, readREADME(t))
	if n == 0 {
		t.Fatal("no ```go blocks found in README.md")
	}
	for _, e := range errs {
		t.Error(e)
	}
	t.Logf("%d Go snippets checked", n)
}

// TestCheckerCatchesErrors shows the check is not hollow: an undefined
// identifier, a wrong call and a syntax error in a fragment, and an unused
// import in a complete file, each fail with the README line.
func TestCheckerCatchesErrors(t *testing.T) {
	md := strings.Join([]string{
		"# title", // 1
		"",        // 2
		"```go",   // 3
		"res, err := svc.CreateUserAndMembership(ctx, \"org_acme\", invite.InviteRequest{Email: \"a@example.com\"})", // 4: fine (unused res, err tolerated)
		"api, _ := invite.NewHandler(svc, invite.AdminOnly(svc, currentUser), invite.HandlerConfig{})",               // 5: currentUser undefined
		"```",                                    // 6
		"",                                       // 7
		"```go",                                  // 8
		"guard.RequireMember(\"not a handler\")", // 9: wrong argument type
		"```",                                    // 10
		"```go",                                  // 11
		"if err != nil { … }",                    // 12: placeholder, fine once err exists
		"```",                                    // 13
		"```go",                                  // 14
		"package p",                              // 15
		"",                                       // 16
		"import \"fmt\"",                         // 17: unused in a complete file
		"```",                                    // 18
		"```go",                                  // 19
		"x := := 1",                              // 20: syntax error
		"```",                                    // 21
		"```sh",                                  // 22
		"not go at all",                          // 23
		"```",                                    // 24
	}, "\n")
	n, errs := checkMarkdown(t, md)
	if n != 5 {
		t.Fatalf("found %d Go blocks, want 5", n)
	}
	want := []string{
		"README.md:5:", "undefined: currentUser",
		"README.md:9:", "RequireMember",
		"README.md:12:", "undefined: err",
		"README.md:17:", `"fmt" imported and not used`,
		"README.md:20:", "expected",
	}
	all := strings.Join(errs, "\n")
	for i := 0; i < len(want); i += 2 {
		found := false
		for _, e := range errs {
			if strings.HasPrefix(e, want[i]) && strings.Contains(e, want[i+1]) {
				found = true
			}
		}
		if !found {
			t.Errorf("no error %q…%q; got:\n%s", want[i], want[i+1], all)
		}
	}
	for _, e := range errs {
		if strings.HasPrefix(e, "README.md:4:") {
			t.Errorf("line 4 is valid, got %s", e)
		}
	}
}

// TestQuickStartIsMinimalExample checks the Quick start block still is the
// main function of examples/minimal/main.go, as the README says.
func TestQuickStartIsMinimalExample(t *testing.T) {
	md := readREADME(t)
	before, after, ok := strings.Cut(md, "\n## Quick start\n")
	if !ok {
		t.Fatal(`README.md has no "## Quick start" section`)
	}
	sns, err := extract(after)
	if err != nil || len(sns) == 0 {
		t.Fatalf("no Go block in the Quick start: %v", err)
	}
	block := sns[0].Code
	if !strings.HasPrefix(block, "func main() {") {
		t.Fatalf("the Quick start's first Go block does not start with func main():\n%s", block)
	}
	mainGo, err := os.ReadFile(filepath.Join("..", "..", "examples", "minimal", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(mainGo), block+"\n") {
		first := ""
		for i, line := range strings.Split(block, "\n") {
			if !strings.Contains(string(mainGo), line+"\n") {
				at := strings.Count(before, "\n") + 2 + sns[0].Line + i // lines of before, the heading, the block
				first = fmt.Sprintf("; %s:%d is not in it: %s", readmeName, at, strings.TrimSpace(line))
				break
			}
		}
		t.Errorf("the README's Quick start block is not the func main of examples/minimal/main.go%s; update one of them", first)
	}
}
