package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func runCLI(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestGS1ParseJSON(t *testing.T) {
	code, out, _ := runCLI(t, "]d2010950600013435217261231"+"10AB12\x1d21X", "gs1", "parse", "--json")
	require.Equal(t, 0, code)
	var got gs1JSON
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	require.Equal(t, "]d2", got.Symbology)
	require.Equal(t, "(01)09506000134352(17)261231(10)AB12(21)X", got.HRI)
	require.Len(t, got.Elements, 4)
	require.Equal(t, "21", got.Elements[3].AI)

	code, out, _ = runCLI(t, "", "gs1", "parse", "https://example.org/01/09506000134352/21/X", "--json")
	require.Equal(t, 0, code)
	require.JSONEq(t, `{"symbology":"","elements":[{"ai":"01","value":"09506000134352"},{"ai":"21","value":"X"}],"hri":"(01)09506000134352(21)X"}`, out)
}

func TestGS1ParseInvalidExitsOneWithOneLine(t *testing.T) {
	code, out, errs := runCLI(t, "(01)09506000134353", "gs1", "parse")
	require.Equal(t, 1, code)
	require.Empty(t, out)
	require.Equal(t, 1, strings.Count(errs, "\n"), "one line on stderr: %q", errs)
	require.Contains(t, errs, "AI (01): incorrect check digit")
}

// gs1 parse takes what echo or printf give it: one line ending is not
// data. Any other byte is.
func TestGS1ParseTrimsOneLineEnd(t *testing.T) {
	for _, in := range []string{"(01)09506000134352(21)X\n", "(01)09506000134352(21)X\r\n", "(01)09506000134352(21)X\r", "(01)09506000134352(21)X"} {
		code, out, errs := runCLI(t, in, "gs1", "parse")
		require.Equal(t, 0, code, "%q: %s", in, errs)
		require.Equal(t, "(01) GTIN                   09506000134352\n(21) SERIAL                 X\n", out, "%q", in)
		code, out, errs = runCLI(t, "", "gs1", "parse", in, "--json")
		require.Equal(t, 0, code, "%q: %s", in, errs)
		require.Contains(t, out, `"hri":"(01)09506000134352(21)X"`)
	}
	// Raw scanner data keeps its GS; only the last line ending goes.
	code, out, errs := runCLI(t, "]d20109506000134352"+"10AB\x1d21X\r\n", "gs1", "parse", "--json")
	require.Equal(t, 0, code, errs)
	require.Contains(t, out, `"hri":"(01)09506000134352(10)AB(21)X"`)
	for _, in := range []string{"(01)09506000134352(21)X\n\n", "(01)09506000134352(21)X \n"} {
		code, _, errs := runCLI(t, in, "gs1", "parse")
		require.Equal(t, 1, code, "%q", in)
		require.Contains(t, errs, "AI (21)", "%q", in)
	}
}

func TestGS1ParsePlainSymbologyExitsOne(t *testing.T) {
	for _, sym := range []string{"]d1", "]Q1"} {
		code, out, errs := runCLI(t, sym+"ORDER-17\n", "gs1", "parse")
		require.Equal(t, 1, code)
		require.Empty(t, out)
		require.Equal(t, "edgeagent gs1 parse: not GS1 data (symbology "+sym+" carries plain data)\n", errs)
	}
	code, out, errs := runCLI(t, "", "gs1", "parse", "]J1010950600013435217261231", "--json")
	require.Equal(t, 0, code, errs)
	require.Contains(t, out, `"symbology":"]J1"`)
}

func TestGS1SSCCAndCheckDigit(t *testing.T) {
	code, out, _ := runCLI(t, "", "gs1", "sscc", "--ext", "1", "--prefix", "0614141", "--ref", "123456789")
	require.Equal(t, 0, code)
	require.Equal(t, "106141411234567897\n", out)
	code, out, _ = runCLI(t, "", "gs1", "check-digit", "950600013435")
	require.Equal(t, 0, code)
	require.Equal(t, "9506000134352\n", out)
	code, _, errs := runCLI(t, "", "gs1", "sscc", "--ext", "1")
	require.Equal(t, 2, code)
	require.Contains(t, errs, "usage: edgeagent gs1 sscc")
	code, _, _ = runCLI(t, "", "gs1", "check-digit", "12x")
	require.Equal(t, 1, code)
}

func TestHelpEverywhere(t *testing.T) {
	for _, args := range [][]string{
		{"--help"}, {"help"}, {"gs1", "--help"}, {"gs1", "parse", "--help"}, {"gs1", "sscc", "--help"},
		{"gs1", "check-digit", "--help"}, {"run", "--help"}, {"init", "--help"}, {"config", "check", "--help"}, {"version", "--help"},
	} {
		code, out, _ := runCLI(t, "", args...)
		require.Equal(t, 0, code, "%v", args)
		require.Contains(t, strings.ToLower(out), "usage", "%v", args)
	}
	code, _, errs := runCLI(t, "", "frobnicate")
	require.Equal(t, 2, code)
	require.Contains(t, errs, `unknown command "frobnicate"`)
}

func TestInitThenConfigCheck(t *testing.T) {
	p := filepath.Join(t.TempDir(), "edgeagent.yaml")
	code, _, errs := runCLI(t, "", "init", p)
	require.Equal(t, 0, code, errs)
	st, err := os.Stat(p)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm())

	t.Setenv("EDGEAGENT_TOKEN", "")
	os.Unsetenv("EDGEAGENT_TOKEN")
	code, _, errs = runCLI(t, "", "config", "check", p)
	require.Equal(t, 1, code)
	require.Contains(t, errs, "EDGEAGENT_TOKEN is not set")

	t.Setenv("EDGEAGENT_TOKEN", "short")
	code, _, errs = runCLI(t, "", "config", "check", p)
	require.Equal(t, 1, code)
	require.Contains(t, errs, "http.token: is required and must be at least 16 characters")

	t.Setenv("EDGEAGENT_TOKEN", "a-long-enough-token")
	code, out, errs := runCLI(t, "", "config", "check", p)
	require.Equal(t, 0, code, errs)
	require.Contains(t, out, "ok")
}

// TestRunServesHealthAndStopsOnSIGTERM runs the real binary.
func TestRunServesHealthAndStopsOnSIGTERM(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "edgeagent")
	build := exec.Command("go", "build", "-ldflags", "-X main.version=test-1.0", "-o", bin, ".")
	build.Stderr = os.Stderr
	require.NoError(t, build.Run())

	out, err := exec.Command(bin, "version").Output()
	require.NoError(t, err)
	require.Equal(t, "edgeagent test-1.0\n", string(out))

	dir := t.TempDir()
	_ = os.Chmod(dir, 0o700) // the agent refuses a data directory others can read
	cfgPath := filepath.Join(dir, "edgeagent.yaml")
	token := "s3cret-token-never-logged"
	cfg := fmt.Sprintf("line: {name: test}\ndata_dir: %s\nlog: {format: json}\nhttp: {listen: \"127.0.0.1:0\", token: \"${T}\"}\nshutdown_timeout: 5s\n", filepath.Join(dir, "data"))
	require.NoError(t, os.WriteFile(cfgPath, []byte(cfg), 0o600))

	// systemd's notify socket: the agent says READY, pings the watchdog and
	// says STOPPING.
	sockPath := filepath.Join(dir, "notify.sock")
	notify, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sockPath, Net: "unixgram"})
	require.NoError(t, err)
	defer notify.Close()
	var notes []string
	var notesMu sync.Mutex
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := notify.Read(buf)
			if err != nil {
				return
			}
			notesMu.Lock()
			notes = append(notes, string(buf[:n]))
			notesMu.Unlock()
		}
	}()
	cmd := exec.Command(bin, "run", "--config", cfgPath)
	cmd.Env = append(os.Environ(), "T="+token, "NOTIFY_SOCKET="+sockPath, "WATCHDOG_USEC=200000")
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	defer cmd.Process.Kill()

	var logs bytes.Buffer
	addrRE := regexp.MustCompile(`"addr":"([^"]+)"`)
	sc := bufio.NewScanner(stderr)
	addr := ""
	deadline := time.Now().Add(20 * time.Second)
	for addr == "" && time.Now().Before(deadline) && sc.Scan() {
		logs.WriteString(sc.Text() + "\n")
		if m := addrRE.FindStringSubmatch(sc.Text()); m != nil {
			addr = m[1]
		}
	}
	require.NotEmpty(t, addr, "no listen address in logs:\n%s", logs.String())

	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get("http://" + addr + path)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, path)
	}

	require.Eventually(t, func() bool {
		notesMu.Lock()
		defer notesMu.Unlock()
		return strings.Contains(strings.Join(notes, "|"), "WATCHDOG=1")
	}, 5*time.Second, 10*time.Millisecond, "watchdog pings")
	start := time.Now()
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	rest, _ := io.ReadAll(stderr)
	logs.Write(rest)
	require.NoError(t, cmd.Wait(), "clean exit after SIGTERM; logs:\n%s", logs.String())
	require.Less(t, time.Since(start), 5*time.Second)
	require.Contains(t, logs.String(), "edgeagent stopped")
	notesMu.Lock()
	all := strings.Join(notes, "|")
	notesMu.Unlock()
	require.True(t, strings.HasPrefix(all, "READY=1"), all)
	require.Contains(t, all, "STOPPING=1")
	require.Contains(t, logs.String(), "sqlite_version")
	require.NotContains(t, logs.String(), token, "the token must never be logged")

	st, err := os.Stat(filepath.Join(dir, "data", "edgeagent.db"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm())
}

// Every command's summary starts in the same column, on the next line
// when the command and its arguments are too long for the column.
func TestHelpSummariesLineUp(t *testing.T) {
	code, out, _ := runCLI(t, "", "--help")
	require.Equal(t, 0, code)
	lines := strings.Split(out, "\n")
	for _, c := range commands() {
		found := false
		for _, l := range lines {
			if strings.HasSuffix(l, " "+c.summary) {
				found = true
				assert.Equal(t, 31, len(l)-len(c.summary), "%q: the summary starts in column 31", l)
			}
		}
		assert.True(t, found, "%s is listed", c.name)
	}
}
