package main

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/printer"
	"github.com/edgeagent/edgeagent/internal/printer/printersim"
)

func sim(t *testing.T, cfg printersim.Config) *printersim.Sim {
	cfg.Listen = "127.0.0.1:0"
	s, err := printersim.Start(cfg, zerolog.Nop())
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

func TestPrinterStatusSendAndTest(t *testing.T) {
	s := sim(t, printersim.Config{})
	code, out, errs := runCLI(t, "", "printer", "status", s.URL())
	require.Equal(t, 0, code, errs)
	require.Contains(t, out, "model:     ZT411-203dpi, firmware V92.21.39Z, 8 dpmm, 8192KB")
	require.Contains(t, out, "faults:    none")
	require.Contains(t, out, "ready:     yes")

	code, out, _ = runCLI(t, "", "printer", "status", "--json", s.URL())
	require.Equal(t, 0, code)
	var st printer.Status
	require.NoError(t, json.Unmarshal([]byte(out), &st))
	require.True(t, st.Ready)

	code, out, errs = runCLI(t, "^XA^FDhello^FS^XZ", "printer", "send", s.URL(), "-")
	require.Equal(t, 0, code, errs)
	require.Contains(t, out, "sent 17 bytes")
	require.NoError(t, s.WaitPrinted(context.Background(), 1))

	code, out, errs = runCLI(t, "", "printer", "test", s.URL())
	require.Equal(t, 0, code, errs)
	require.Contains(t, out, "printed: the printer confirmed the test label")
	require.Equal(t, int64(2), s.Odometer())

	s.SetFault(printersim.HeadOpen, true)
	code, out, errs = runCLI(t, "", "printer", "status", s.URL())
	require.Equal(t, 1, code)
	require.Contains(t, out, "faults:    head open")
	require.Contains(t, out, "buffer:    unknown: ~HS: no answer from the printer (possibly faulted)\n")
	require.NotContains(t, out, "~HS: ~HS:")
	require.Contains(t, errs, "printer not ready")

	code, _, errs = runCLI(t, "", "printer", "status", "ftp://x")
	require.Equal(t, 1, code)
	require.Contains(t, errs, "scheme must be tcp, usb, serial or file")
}

// An address without tcp:// is refused with the URL meant.
func TestPrinterStatusWithoutSchemeSuggestsTCP(t *testing.T) {
	s := sim(t, printersim.Config{})
	code, out, errs := runCLI(t, "", "printer", "status", s.Addr())
	require.Equal(t, 1, code)
	require.Empty(t, out)
	require.Contains(t, errs, "has no scheme: for a network printer write tcp://"+s.Addr())
	require.NotContains(t, errs, "first path segment")
}

// Every key of printer status --json is snake_case, the nested ones too.
func TestPrinterStatusJSONKeysAreSnakeCase(t *testing.T) {
	s := sim(t, printersim.Config{})
	code, out, errs := runCLI(t, "", "printer", "status", "--json", s.URL())
	require.Equal(t, 0, code, errs)
	var doc map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &doc))
	var keys []string
	var walk func(v any, path string)
	walk = func(v any, path string) {
		if m, ok := v.(map[string]any); ok {
			for k, sub := range m {
				keys = append(keys, path+k)
				walk(sub, path+k+".")
			}
		}
	}
	walk(doc, "")
	for _, k := range []string{"id.model", "id.dpmm", "extended.errors", "host.formats_in_buffer", "host.labels_remaining", "host.head_open", "ready"} {
		require.Contains(t, keys, k)
	}
	snake := regexp.MustCompile(`^[a-z0-9_]+$`)
	for _, k := range keys {
		for _, part := range strings.Split(k, ".") {
			require.Regexp(t, snake, part, "key %s", k)
		}
	}
}

// A printer test on a faulted printer says so at once and prints nothing;
// with --wait it prints once the fault is cleared.
func TestPrinterTestReportsAFaultAtOnceUnlessWait(t *testing.T) {
	s := sim(t, printersim.Config{})
	s.SetFault(printersim.HeadOpen, true)
	start := time.Now()
	code, out, errs := runCLI(t, "", "printer", "test", s.URL())
	require.Equal(t, 1, code, out)
	require.Less(t, time.Since(start), 5*time.Second, "at once, not at the two-minute timeout")
	require.Contains(t, errs, "the printer has a fault: head open; nothing was printed (clear the fault and try again, or give --wait)")
	require.Zero(t, s.Odometer())

	fix := time.AfterFunc(500*time.Millisecond, func() { s.SetFault(printersim.HeadOpen, false) })
	defer fix.Stop()
	code, out, errs = runCLI(t, "", "printer", "test", "--wait", s.URL())
	require.Equal(t, 0, code, errs)
	require.Contains(t, out, "waiting: the printer has a fault: head open\n")
	require.Contains(t, out, "printed: the printer confirmed the test label")
	require.Equal(t, int64(1), s.Odometer())
}

func TestPrinterTestRefusesNonZPL(t *testing.T) {
	s := sim(t, printersim.Config{Language: "epl"})
	code, _, errs := runCLI(t, "", "printer", "test", s.URL())
	require.Equal(t, 1, code)
	require.Contains(t, errs, `printer is not in ZPL mode: device.languages is "epl"`)
	require.Zero(t, s.Odometer())
}

func TestEmulatePrinter(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	dir := t.TempDir()
	_ = os.Chmod(dir, 0o700) // the agent refuses a data directory others can read
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	var code int
	go func() {
		defer wg.Done()
		var out, errb strings.Builder
		code = run(ctx, []string{"emulate", "printer", "--listen", addr, "--speed", "0", "--out", dir}, strings.NewReader(""), &out, &errb)
	}()
	var tr printer.Transport
	require.Eventually(t, func() bool {
		tr, err = printer.Open(context.Background(), "tcp://"+addr, printer.Options{})
		return err == nil
	}, 5*time.Second, 20*time.Millisecond)
	_, err = tr.Write(context.Background(), []byte("^XA^FDx^FS^XZ"))
	require.NoError(t, err)
	require.Eventually(t, func() bool { _, err := os.Stat(filepath.Join(dir, "label-000001.zpl")); return err == nil }, 5*time.Second, 20*time.Millisecond)
	tr.Close()
	cancel()
	wg.Wait()
	require.Equal(t, 0, code)

	c, _, errs := runCLI(t, "", "emulate", "printer", "--faults", "jam@3")
	require.Equal(t, 2, c)
	require.Contains(t, errs, "--faults: fault \"jam@3\": kind must be")
}

func TestScannerListen(t *testing.T) {
	code, out, errs := runCLI(t, "]d2010950600013435217261231"+"10AB-12\x1d21SN1\n]C0CMD:CLOSE\n]d20109506000134353\n", "scanner", "listen", "stdin")
	require.Equal(t, 0, code, errs)
	require.Contains(t, out, "]d2  ]d2010950600013435217261231"+"10AB-12<GS>21SN1  stdin\n    (01) 09506000134352\n    (17) 261231\n    (10) AB-12\n    (21) SN1\n")
	require.Contains(t, out, "    plain: \"CMD:CLOSE\"\n")
	require.Contains(t, out, "    refused: Barcode not usable: AI (01): incorrect check digit")
	code, _, errs = runCLI(t, "", "scanner", "listen", "evdev:///dev/input/x?layout=jp")
	require.Equal(t, 1, code)
	require.Contains(t, errs, `layout "jp" must be us, uk, de or fr`)
}

func TestEmulateCloud(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	ln, err = net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	epcisAddr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	go func() {
		var out, errb strings.Builder
		done <- run(ctx, []string{"emulate", "cloud", "--listen", addr, "--faults", "latency=1ms", "--epcis", epcisAddr}, strings.NewReader(""), &out, &errb)
	}()
	var resp *http.Response
	require.Eventually(t, func() bool {
		resp, err = http.Get("http://" + addr + "/_sim/state")
		return err == nil
	}, 5*time.Second, 20*time.Millisecond)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	require.Eventually(t, func() bool {
		resp, err = http.Get("http://" + epcisAddr + "/events")
		return err == nil
	}, 5*time.Second, 20*time.Millisecond)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode, "the EPCIS repository answers its query")
	require.Equal(t, "2.0.0", resp.Header.Get("GS1-EPCIS-Version"))
	cancel()
	require.Equal(t, 0, <-done)

	code, _, errs := runCLI(t, "", "emulate", "cloud", "--faults", "error=nowhere:1")
	require.Equal(t, 2, code)
	require.Contains(t, errs, `endpoint "nowhere"`)
}
