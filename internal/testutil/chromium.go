package testutil

import (
	"os"
	"os/exec"
	"testing"
)

// Chromium is the browser the browser tests drive: EDGEAGENT_CHROMIUM, or
// chromium on PATH. Without one the test skips, naming the install, unless
// EDGEAGENT_REQUIRE_CHROMIUM=1 (make test sets it): then a missing browser
// fails the run rather than passing it unseen. Under go test -short the
// browser tests skip too, saying so, unless the browser is required: they
// start a browser and an agent each, which -short is asked to spare.
func Chromium(t testing.TB) string {
	t.Helper()
	required := os.Getenv("EDGEAGENT_REQUIRE_CHROMIUM") == "1"
	if testing.Short() && !required {
		t.Skip("go test -short: browser tests skipped (they start Chromium and an agent); run without -short, or with EDGEAGENT_REQUIRE_CHROMIUM=1")
	}
	if p := os.Getenv("EDGEAGENT_CHROMIUM"); p != "" {
		return p
	}
	for _, n := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	const msg = "no chromium on PATH and EDGEAGENT_CHROMIUM unset: install Debian's chromium (apt-get install chromium) to run the browser tests"
	if required {
		t.Fatal(msg + " (EDGEAGENT_REQUIRE_CHROMIUM=1)")
	}
	t.Skip(msg)
	return ""
}
