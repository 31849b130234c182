package mailer

import (
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"path"
	"slices"
	"strings"
	texttemplate "text/template"
)

// Template file names inside a locale directory.
const (
	subjectSuffix = ".subject.txt"
	textSuffix    = ".txt"
	htmlSuffix    = ".html"
	footerText    = "footer.txt"
	footerHTML    = "footer.html"
	layoutHTML    = "layout.html"
)

// overridePaths is appended to every error about a misplaced override.
const overridePaths = "override paths are relative to the Overrides root: " +
	layoutHTML + ", <locale>/" + footerHTML + ", <locale>/" + footerText +
	", <locale>/<kind>" + subjectSuffix + ", <locale>/<kind>" + textSuffix + ", <locale>/<kind>" + htmlSuffix

// loadTemplates checks the override file names and parses every complete
// kind of every locale of the embedded templates layered under overrides.
func loadTemplates(overrides fs.FS) (map[string]*templateSet, error) {
	base, err := fs.Sub(embeddedTemplates, "templates")
	if err != nil {
		return nil, fmt.Errorf("mailer: %w", err)
	}
	lf := layeredFS{top: overrides, base: base}
	if err := lf.checkOverrides(); err != nil {
		return nil, err
	}
	locales, err := lf.dirs()
	if err != nil {
		return nil, err
	}
	sets := map[string]*templateSet{}
	for _, loc := range locales {
		kinds, err := lf.kinds(loc)
		if err != nil {
			return nil, err
		}
		for _, kind := range kinds {
			if sets[loc+"/"+kind], err = lf.parse(loc, kind); err != nil {
				return nil, err
			}
		}
	}
	return sets, nil
}

// layeredFS reads a file from top when it has it, else from base.
type layeredFS struct {
	top  fs.FS // may be nil
	base fs.FS
}

func (l layeredFS) read(name string) ([]byte, bool, error) {
	if l.top != nil {
		b, err := fs.ReadFile(l.top, name)
		if err == nil {
			return b, true, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, false, fmt.Errorf("mailer: template override %s: %w", name, err)
		}
	}
	b, err := fs.ReadFile(l.base, name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("mailer: template %s: %w", name, err)
	}
	return b, true, nil
}

func (l layeredFS) readDir(name string) ([]fs.DirEntry, error) {
	var all []fs.DirEntry
	for _, f := range []fs.FS{l.top, l.base} {
		if f == nil {
			continue
		}
		es, err := fs.ReadDir(f, name)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("mailer: templates: %w", err)
		}
		all = append(all, es...)
	}
	return all, nil
}

// dirs lists the top-level locale directories.
func (l layeredFS) dirs() ([]string, error) {
	es, err := l.readDir(".")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range es {
		if e.IsDir() && NormalizeLocale(e.Name()) == e.Name() && !slices.Contains(out, e.Name()) {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// kinds lists the kinds with a subject template in loc.
func (l layeredFS) kinds(loc string) ([]string, error) {
	es, err := l.readDir(loc)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range es {
		if kind, ok := strings.CutSuffix(e.Name(), subjectSuffix); ok && !e.IsDir() && !slices.Contains(out, kind) {
			out = append(out, kind)
		}
	}
	return out, nil
}

// checkOverrides refuses any file in top that would not be used: a file
// outside a locale directory other than layout.html, a part of a kind that
// has no subject template, a footer of a locale without mails.
func (l layeredFS) checkOverrides() error {
	if l.top == nil {
		return nil
	}
	return fs.WalkDir(l.top, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("mailer: template overrides: %w", err)
		}
		if name != "." && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		if reason := l.unusedOverride(name); reason != "" {
			return fmt.Errorf("mailer: template override %s: %s (%s)", name, reason, overridePaths)
		}
		return nil
	})
}

// unusedOverride says why the override file name would never be used, or
// returns "" for a template path.
func (l layeredFS) unusedOverride(name string) string {
	loc, file, ok := strings.Cut(name, "/")
	switch {
	case !ok && name == layoutHTML:
		return ""
	case !ok:
		return "not a template file name"
	case NormalizeLocale(loc) != loc:
		return fmt.Sprintf("%q is not a locale directory", loc)
	case strings.Contains(file, "/"):
		return "not a template file name (templates sit directly in a locale directory)"
	}
	kinds, err := l.kinds(loc)
	if err != nil {
		return err.Error()
	}
	if file == footerHTML || file == footerText {
		if len(kinds) == 0 {
			return fmt.Sprintf("locale %s has no mail (<kind>%s) to use it", loc, subjectSuffix)
		}
		return ""
	}
	for _, suffix := range []string{subjectSuffix, textSuffix, htmlSuffix} {
		if kind, ok := strings.CutSuffix(file, suffix); ok && kind != "" {
			if slices.Contains(kinds, kind) {
				return ""
			}
			return fmt.Sprintf("no mail kind %q in %s (no %s/%s%s)", kind, loc, loc, kind, subjectSuffix)
		}
	}
	return "not a template file name"
}

// parse parses one locale's templates of one kind; every part must exist.
func (l layeredFS) parse(loc, kind string) (*templateSet, error) {
	files := map[string][]byte{}
	for _, name := range []string{
		path.Join(loc, kind+subjectSuffix), path.Join(loc, kind+textSuffix), path.Join(loc, kind+htmlSuffix),
		path.Join(loc, footerText), path.Join(loc, footerHTML), layoutHTML,
	} {
		b, ok, err := l.read(name)
		if err != nil {
			return nil, err
		}
		if ok {
			files[name] = b
		}
	}
	for _, need := range []string{textSuffix, htmlSuffix} {
		if files[path.Join(loc, kind+need)] == nil {
			return nil, fmt.Errorf("mailer: template %s/%s%s is missing (mail kind %q in %s needs %s, %s and %s)",
				loc, kind, need, kind, loc, subjectSuffix, textSuffix, htmlSuffix)
		}
	}
	set := &templateSet{locale: loc, kind: kind}
	var err error
	name := path.Join(loc, kind+subjectSuffix)
	if set.subject, err = texttemplate.New(name).Option("missingkey=zero").Parse(string(files[name])); err != nil {
		return nil, fmt.Errorf("mailer: template %s: %w", name, err)
	}
	name = path.Join(loc, kind+textSuffix)
	if set.text, err = texttemplate.New(name).Option("missingkey=zero").Parse(string(files[name])); err != nil {
		return nil, fmt.Errorf("mailer: template %s: %w", name, err)
	}
	if footer := files[path.Join(loc, footerText)]; footer != nil {
		if _, err := set.text.New(path.Join(loc, footerText)).Parse(string(footer)); err != nil {
			return nil, fmt.Errorf("mailer: template %s/%s: %w", loc, footerText, err)
		}
	}
	name = path.Join(loc, kind+htmlSuffix)
	if set.html, err = htmltemplate.New(name).Option("missingkey=zero").Parse(string(files[name])); err != nil {
		return nil, fmt.Errorf("mailer: template %s: %w", name, err)
	}
	if set.html.Lookup("content") != nil {
		set.layout = true
		for _, extra := range []string{path.Join(loc, footerHTML), layoutHTML} {
			b := files[extra]
			if b == nil {
				return nil, fmt.Errorf("mailer: template %s needs %s", name, extra)
			}
			if _, err := set.html.New(extra).Parse(string(b)); err != nil {
				return nil, fmt.Errorf("mailer: template %s: %w", extra, err)
			}
		}
		if set.html.Lookup("layout") == nil {
			return nil, fmt.Errorf("mailer: template %s must define \"layout\"", layoutHTML)
		}
	}
	return set, nil
}
