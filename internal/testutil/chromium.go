package testutil

import (
	"os"
	"os/exec"
	"testing"
)

// Chromium is the browser the browser tests drive: EDGEAGENT_CHROMIUM, or
// chromium on PATH. Without one the test skips, naming the install, unless
// EDGEAGENT_REQUIRE_CHROMIUM=1 (make test sets it): then a missing browser
// fails the run rather than passing it unseen.
func Chromium(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("EDGEAGENT_CHROMIUM"); p != "" {
		return p
	}
	for _, n := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	const msg = "no chromium on PATH and EDGEAGENT_CHROMIUM unset: install Debian's chromium (apt-get install chromium) to run the browser tests"
	if os.Getenv("EDGEAGENT_REQUIRE_CHROMIUM") == "1" {
		t.Fatal(msg + " (EDGEAGENT_REQUIRE_CHROMIUM=1)")
	}
	t.Skip(msg)
	return ""
}
