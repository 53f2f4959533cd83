// Package internal_test keeps the import rules of the design brief from drifting.
package internal_test

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const module = "github.com/edgeagent/edgeagent/internal/"

// allowed lists, for each internal package, the internal packages its
// non-test code may import. Arrows only point down the design brief's table.
var allowed = map[string][]string{
	"gs1":       {},
	"zpl":       {"gs1"},
	"printer":   {"zpl", "label", "clock"},
	"scanner":   {"gs1"},
	"store":     {},
	"queue":     {"store"},
	"cloud":     {"v2"},
	"cloudsync": {"queue", "cloud", "facts"},
	"facts":     {"queue", "v2"},
	"line":      {"gs1", "zpl", "store", "queue", "v2", "facts"},
	"chaos":     {},
	"demo":      {"agent", "cloud", "gs1", "line", "printer", "queue", "store", "v2", "zpl"},
	"api":       {"line", "v2", "queue", "store", "zpl"},
	"config":    {},
	"agent":     {"api", "cloud", "cloudsync", "facts", "line", "printer", "queue", "scanner", "store", "zpl"},
	"v2":        {},
	"logging":   {},
	"testutil":  {},
	"clock":     {},
	"label":     {},
}

// pure packages do no I/O: no files, sockets, processes or devices.
var pure = map[string]bool{"gs1": true, "zpl": true, "v2": true}
var ioImports = []string{"os", "net", "net/http", "os/exec", "syscall", "io/ioutil", "database/sql"}

func TestImportRules(t *testing.T) {
	entries, err := os.ReadDir(".")
	require.NoError(t, err)
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		pkg := e.Name()
		rules, known := allowed[pkg]
		require.True(t, known, "internal/%s has no import rule: add it to allowed in deps_test.go", pkg)
		for _, imp := range imports(t, pkg) {
			if strings.HasPrefix(imp, module) {
				dep := strings.SplitN(strings.TrimPrefix(imp, module), "/", 2)[0]
				if dep != pkg {
					require.Contains(t, rules, dep, "internal/%s must not import internal/%s", pkg, dep)
				}
			}
			if pure[pkg] {
				require.NotContains(t, ioImports, imp, "internal/%s is pure and must not import %s", pkg, imp)
			}
		}
	}
}

// imports returns the imports of the package's non-test files, sub-packages included.
func imports(t *testing.T, dir string) []string {
	seen := map[string]bool{}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, s := range f.Imports {
			seen[strings.Trim(s.Path.Value, `"`)] = true
		}
		return nil
	})
	require.NoError(t, err)
	var out []string
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
