// Package internal_test keeps the import rules of the architecture from
// drifting: every package, sub-packages and the command included, may
// import only the internal packages its rule names, and arrows only point
// down the layers (docs/architecture.md).
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

const module = "github.com/edgeagent/edgeagent/"

// allowed lists, for each package (by its path under the module), the
// internal packages its non-test code may import. The layers, bottom up:
//
//	pure:      spell, gs1, v2, label, clock, zpl/barcode, zpl, epcis
//	records:   audit (the hash-chained audit log; store seals it when migrating)
//	I/O:       store, queue, facts, journal, printer, scanner, cloud, config, logging
//	domain:    ledger < containers < orders, shipments < stations; users
//	edges:     api (HTTP), cloudsync (delivery), agent (assembly)
//	programs:  demo, cmd/edgeagent
//
// epcissim, the EPCIS repository emulator, stands beside cloud/cloudsim;
// testutil/epcisschema is for tests only.
var allowed = map[string][]string{
	"internal/gs1":                {},
	"internal/spell":              {},
	"internal/v2":                 {"spell"},
	"internal/label":              {},
	"internal/clock":              {},
	"internal/zpl/barcode":        {},
	"internal/zpl":                {"gs1", "zpl/barcode"},
	"internal/epcis":              {"gs1"},
	"internal/store":              {"audit"},
	"internal/queue":              {"audit", "store", "clock"},
	"internal/facts":              {"queue", "v2"},
	"internal/journal":            {"epcis", "facts", "queue"},
	"internal/printer":            {"zpl", "label", "clock"},
	"internal/printer/printersim": {"zpl"},
	"internal/scanner":            {"gs1", "clock"},
	"internal/cloud":              {"v2", "clock"},
	"internal/cloud/cloudsim":     {"cloud", "v2"},
	"internal/config":             {"gs1", "spell"},
	"internal/logging":            {},
	"internal/testutil":           {},
	"internal/chaos":              {},
	"internal/audit":              {},
	"internal/ledger":             {"audit", "facts", "journal", "label", "queue", "store", "zpl", "v2"},
	"internal/containers":         {"audit", "facts", "gs1", "journal", "label", "ledger", "store", "v2", "zpl"},
	"internal/orders":             {"audit", "containers", "facts", "label", "ledger", "store", "v2"},
	"internal/shipments":          {"audit", "facts", "gs1", "label", "ledger", "store"},
	"internal/stations":           {"audit", "containers", "gs1", "ledger", "orders", "shipments", "store"},
	"internal/users":              {"audit", "store"},
	"internal/api/apitest":        {},
	"internal/api":                {"audit", "containers", "epcis", "journal", "ledger", "orders", "queue", "shipments", "stations", "store", "users", "v2", "zpl"},
	"internal/cloudsync":          {"cloud", "clock", "epcis", "facts", "queue"},
	"internal/agent": {"api", "clock", "cloud", "cloudsync", "config", "containers", "epcis", "facts", "journal", "label", "ledger", "orders", "printer", "queue",
		"scanner", "shipments", "stations", "store", "users", "zpl"},
	"internal/demo": {"agent", "cloud/cloudsim", "config", "epcissim", "gs1", "orders", "printer/printersim", "stations", "users", "v2", "zpl"},
	"cmd/edgeagent": {"agent", "api", "audit", "cloud", "cloud/cloudsim", "config", "containers", "demo", "epcis", "epcissim", "gs1", "journal", "label", "ledger",
		"logging", "orders", "printer", "printer/printersim", "queue", "scanner", "stations", "store", "users", "zpl"},
	"internal/epcissim":             {"epcis"},
	"internal/testutil/epcisschema": {"testutil"},
}

// pure packages do no I/O: no files, sockets, processes or devices.
var pure = map[string]bool{"internal/spell": true, "internal/gs1": true, "internal/zpl": true, "internal/zpl/barcode": true, "internal/v2": true,
	"internal/label": true, "internal/epcis": true}
var ioImports = []string{"os", "net", "net/http", "os/exec", "syscall", "io/ioutil", "database/sql"}

func TestImportRules(t *testing.T) {
	pkgs := packages(t)
	require.NotEmpty(t, pkgs)
	for pkg, imps := range pkgs {
		rules, known := allowed[pkg]
		require.True(t, known, "%s has no import rule: add it to allowed in internal/deps_test.go", pkg)
		for _, imp := range imps {
			if dep, ok := strings.CutPrefix(imp, module+"internal/"); ok && "internal/"+dep != pkg {
				require.Contains(t, rules, dep, "%s must not import internal/%s", pkg, dep)
			}
			if pure[pkg] {
				require.NotContains(t, ioImports, imp, "%s is pure and must not import %s", pkg, imp)
			}
		}
	}
	for pkg := range allowed {
		require.Contains(t, pkgs, pkg, "the rule for %s names no package", pkg)
	}
}

// packages returns the imports of every package's non-test files, by the
// package's path under the module.
func packages(t *testing.T) map[string][]string {
	seen := map[string]map[string]bool{}
	for root, prefix := range map[string]string{".": "internal", "../cmd": "cmd"} {
		err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(root, filepath.Dir(path))
			if err != nil {
				return err
			}
			pkg := prefix + "/" + filepath.ToSlash(rel)
			if seen[pkg] == nil {
				seen[pkg] = map[string]bool{}
			}
			for _, s := range f.Imports {
				seen[pkg][strings.Trim(s.Path.Value, `"`)] = true
			}
			return nil
		})
		require.NoError(t, err)
	}
	out := map[string][]string{}
	for pkg, imps := range seen {
		out[pkg] = []string{}
		for k := range imps {
			out[pkg] = append(out[pkg], k)
		}
		sort.Strings(out[pkg])
	}
	return out
}
