package i18n

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/validation"
)

// problemSources are the packages whose validation problems reach pages.
var problemSources = []string{
	"../account", "../rules", "../admin/adminsvc", "../admin/api", "../admin/panel", "../auth/passkey",
}

// problemFormats finds, by reading the source, every English problem
// sentence: the format argument of validation.New and of the small
// helpers that wrap it, and every validation.Term.
func problemFormats(t *testing.T) map[string]string {
	t.Helper()
	formatArg := map[string]int{"add": 2, "Add": 2, "New": 2, "One": 2, "problem": 2, "fieldError": 1}
	found := map[string]string{}
	fset := token.NewFileSet()
	for _, dir := range problemSources {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, path := range files {
			if strings.HasSuffix(path, "_test.go") {
				continue
			}
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			f, err := parser.ParseFile(fset, path, src, 0)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(f, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				var name string
				switch fn := call.Fun.(type) {
				case *ast.Ident:
					name = fn.Name
				case *ast.SelectorExpr:
					name = fn.Sel.Name
				}
				i, ok := formatArg[name]
				if name == "Term" && len(call.Args) == 1 {
					i, ok = 0, true
				}
				if !ok || len(call.Args) <= i {
					return true
				}
				lit, ok := call.Args[i].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					return true
				}
				s, err := strconv.Unquote(lit.Value)
				// A bare "%s" passes on a message made elsewhere; the page
				// says it by its code instead (a password policy code).
				if err == nil && s != "%s" && ((name != "add" && name != "Add") || len(call.Args) >= 3) {
					found[s] = fset.Position(lit.Pos()).String()
				}
				return true
			})
		}
	}
	return found
}

// TestEveryProblemIsTranslated fails when a validation problem's sentence
// has no catalogue entry, so a French or Japanese page never shows it in
// English.
func TestEveryProblemIsTranslated(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	formats := problemFormats(t)
	if len(formats) < 50 {
		t.Fatalf("found only %d problem sentences: the source scan is broken", len(formats))
	}
	for format, where := range formats {
		key := validation.MessageKey(format)
		for _, lang := range Languages {
			if _, ok := c.Lookup(lang, key); !ok {
				t.Errorf("%s: %s lacks %q", where, lang, key)
			}
		}
	}
}

// verbRE finds the fmt verbs of a problem sentence, with their explicit
// argument index when there is one.
var verbRE = regexp.MustCompile(`%(\[(\d+)\])?([a-zA-Z])`)

// verbs lists "argument:verb" for every verb of format, numbering
// arguments as fmt does, so two formats fill the same arguments alike.
func verbs(format string) []string {
	var out []string
	next := 1
	for _, m := range verbRE.FindAllStringSubmatch(strings.ReplaceAll(format, "%%", ""), -1) {
		if m[2] != "" {
			next, _ = strconv.Atoi(m[2])
		}
		out = append(out, strconv.Itoa(next)+":"+m[3])
		next++
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// TestTranslatedProblemsKeepTheirArguments fails when a translation of a
// problem sentence uses other arguments or verbs than the English one,
// which would print %!q(int=3) on a page.
func TestTranslatedProblemsKeepTheirArguments(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	for key, en := range c.messages["en"] {
		if !strings.HasPrefix(key, "msg.") {
			continue
		}
		want := verbs(en)
		for _, lang := range Languages[1:] {
			if got := verbs(c.T(lang, key)); !slices.Equal(got, want) {
				t.Errorf("%s:%s fills %v, English fills %v", lang, key, got, want)
			}
		}
	}
}
