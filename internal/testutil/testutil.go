// Package testutil holds helpers shared by the project's tests.
package testutil

import (
	"os"
	"path/filepath"
	"testing"
)

// ModuleRoot returns the directory holding go.mod, searching up from the
// test's working directory.
func ModuleRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test directory")
		}
		dir = parent
	}
}

// SharedFile returns the path of a reference file under the shared/
// directory that sits beside the project checkout (override with
// EDGEAGENT_SHARED). The test is skipped, naming the missing path, when the
// file is not there: a user's own clone has no shared/ directory.
func SharedFile(t testing.TB, rel string) string {
	t.Helper()
	base := os.Getenv("EDGEAGENT_SHARED")
	if base == "" {
		base = filepath.Join(ModuleRoot(t), "..", "shared")
	}
	p := filepath.Join(base, rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("reference file %s is not available (set EDGEAGENT_SHARED to the shared/ directory): %v", p, err)
	}
	return p
}
