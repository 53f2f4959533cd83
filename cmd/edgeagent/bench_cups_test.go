package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/ledger"
	"github.com/edgeagent/edgeagent/internal/printer/printersim"
	"github.com/edgeagent/edgeagent/internal/zpl"
)

// cupsLabels is the size of one sample: a label order of this many labels
// through the agent, as many single-label jobs through CUPS.
const cupsLabels = 500

// BenchmarkLabelOrderAgainstCUPS is "label order printed through the API
// against CUPS raw queues, every label confirmed". The anchor is what a
// line without the agent does: a raw CUPS queue (socket backend) at a Zebra
// emulator, one job per pack label, submitted over IPP from here; it is
// timed from the first submission until the emulator has printed all of
// them, and CUPS confirms none (a job is "completed" when its bytes were
// written). The agent is the real binary with one printer at a second
// emulator with the same settings; one V2 label order of the same number
// of pack labels is timed from the POST until the emulator has printed them
// all and the agent's ledger (/metrics) counts every one printed, each
// confirmed by the printer's odometer. Three pairs, alternating CUPS and
// agent; the median labels/s of each and the ratio of the medians.
//
// It needs Debian's cups and cups-client (cupsd, lpadmin, lp; it skips
// without them) and runs its own cupsd on a free loopback port in a
// temporary directory, configured for its fastest: no job history, no job
// limit, warnings only in its log. Set EDGEAGENT_CUPS_SUBMIT=lp to submit
// each job with lp(1) instead of IPP (slower: a process a job).
func BenchmarkLabelOrderAgainstCUPS(b *testing.B) {
	tools := lookCUPS(b, "cupsd", "lpadmin", "lp")
	cupsd, lpadmin, lp := tools[0], tools[1], tools[2]
	useLP := os.Getenv("EDGEAGENT_CUPS_SUBMIT") == "lp"

	dir := b.TempDir()
	_ = os.Chmod(dir, 0o700) // the agent refuses a data directory others can read
	bin := filepath.Join(dir, "edgeagent")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Stderr = os.Stderr
	require.NoError(b, build.Run())

	cupsSim, err := printersim.Start(printersim.Config{Listen: "127.0.0.1:0"}, zerolog.Nop())
	require.NoError(b, err)
	b.Cleanup(func() { _ = cupsSim.Close() }) // after the agent and cupsd stop
	agentSim, err := printersim.Start(printersim.Config{Listen: "127.0.0.1:0"}, zerolog.Nop())
	require.NoError(b, err)
	b.Cleanup(func() { _ = agentSim.Close() }) // after the agent and cupsd stop

	q := startCUPS(b, cupsd, lpadmin, cupsSim.Addr())
	agent := startBenchAgent(b, bin, dir, agentSim.URL())

	// The CUPS jobs are the pack labels the agent prints: the built-in
	// pack template, rendered as the agent renders it, the same product
	// and batch, a distinct 12-character serial each. Rendered before the
	// clock starts.
	tp, ok := zpl.Builtin().Get("pack")
	require.True(b, ok)
	jobs := make([][]byte, 0, 3*b.N*cupsLabels)
	for i := range cap(jobs) {
		z, err := ledger.Render(tp, nil, ledger.PackData{GTIN: "09506000134352", Batch: "AB12", Expiry: "261231", Serial: fmt.Sprintf("CUPS%08d", i)})
		require.NoError(b, err)
		jobs = append(jobs, z)
	}

	ctx := context.Background()
	b.ResetTimer()
	var cupsRates, agentRates []float64
	rounds := 0
	for i := 0; i < b.N; i++ {
		for pair := 0; pair < 3; pair++ {
			rounds++

			start := time.Now()
			for _, z := range jobs[(rounds-1)*cupsLabels : rounds*cupsLabels] {
				if useLP {
					q.lp(b, lp, z)
				} else {
					q.printJob(b, z)
				}
			}
			wctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
			require.NoError(b, cupsSim.WaitPrinted(wctx, rounds*cupsLabels), "CUPS; its log: %s", q.logTail())
			cancel()
			cupsRates = append(cupsRates, cupsLabels/time.Since(start).Seconds())

			start = time.Now()
			agent.order(b, fmt.Sprintf("BENCH-%d", rounds))
			wctx, cancel = context.WithTimeout(ctx, 5*time.Minute)
			require.NoError(b, agentSim.WaitPrinted(wctx, rounds*cupsLabels), "the agent")
			cancel()
			agent.waitLedger(b, rounds)
			agentRates = append(agentRates, cupsLabels/time.Since(start).Seconds())
		}
	}
	require.Len(b, cupsSim.Printed(), rounds*cupsLabels, "CUPS printed each job once")
	require.Len(b, agentSim.Printed(), rounds*cupsLabels, "the agent printed each label once")

	b.Logf("labels/s, in order: CUPS %.0f, agent %.0f", cupsRates, agentRates)
	cups, ag := median(cupsRates), median(agentRates)
	b.ReportMetric(ag, "agent-labels/s")
	b.ReportMetric(cups, "cups-labels/s")
	b.ReportMetric(ag/cups, "ratio")
	b.ReportMetric(float64(len(cupsRates)), "pairs")
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

// lookCUPS finds the CUPS programs, or skips naming the missing ones: the
// benchmark needs CUPS on the machine, the project does not.
func lookCUPS(b *testing.B, names ...string) []string {
	var paths, missing []string
	for _, name := range names {
		p, err := exec.LookPath(name)
		if err != nil {
			// root's PATH has the sbin directories, others' may not
			for _, d := range []string{"/usr/sbin", "/usr/bin"} {
				if _, serr := os.Stat(filepath.Join(d, name)); serr == nil {
					p, err = filepath.Join(d, name), nil
					break
				}
			}
		}
		if err != nil {
			missing = append(missing, name)
		}
		paths = append(paths, p)
	}
	if len(missing) > 0 {
		b.Skipf("CUPS is not installed: %s not found (Debian: apt-get install cups cups-client)", strings.Join(missing, ", "))
	}
	return paths
}

func freePort(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(b, err)
	defer ln.Close()
	return ln.Addr().String()
}

// stopProcess ends a process this benchmark started: SIGTERM, then SIGKILL
// after five seconds.
func stopProcess(cmd *exec.Cmd) {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// cupsQueue is a private cupsd with one raw queue.
type cupsQueue struct {
	addr, root string
	client     *http.Client
	reqID      uint32
}

// startCUPS runs cupsd in the foreground with its own configuration and
// directories, listening on loopback only, with no sharing or browsing,
// and adds the raw queue "zebra" at the emulator. Cleanup stops it.
func startCUPS(b *testing.B, cupsd, lpadmin, printer string) *cupsQueue {
	// cupsd runs its backends as the lp user, which must reach the
	// spool: a directory of its own, not the 0700 test directory.
	root, err := os.MkdirTemp("", "edgeagent-bench-cups-")
	require.NoError(b, err)
	b.Cleanup(func() { _ = os.RemoveAll(root) })
	require.NoError(b, os.Chmod(root, 0o755))
	for _, d := range []string{"spool", "cache", "state", "log", "tmp"} {
		require.NoError(b, os.Mkdir(filepath.Join(root, d), 0o755))
	}
	addr := freePort(b)
	conf := fmt.Sprintf(`Listen %s
ServerName 127.0.0.1
Browsing No
BrowseLocalProtocols none
DefaultShared No
WebInterface No
LogLevel warn
MaxJobs 0
PreserveJobHistory No
PreserveJobFiles No
<Location />
  Order allow,deny
  Allow 127.0.0.1
</Location>
<Policy default>
  JobPrivateAccess all
  JobPrivateValues none
  SubscriptionPrivateAccess all
  SubscriptionPrivateValues none
  <Limit All>
    Order allow,deny
    Allow 127.0.0.1
  </Limit>
</Policy>
`, addr)
	files := fmt.Sprintf(`ServerRoot %[1]s
RequestRoot %[1]s/spool
CacheDir %[1]s/cache
StateDir %[1]s/state
TempDir %[1]s/tmp
AccessLog %[1]s/log/access_log
ErrorLog %[1]s/log/error_log
PageLog %[1]s/log/page_log
SystemGroup root
`, root)
	confPath, filesPath := filepath.Join(root, "cupsd.conf"), filepath.Join(root, "cups-files.conf")
	require.NoError(b, os.WriteFile(confPath, []byte(conf), 0o644))
	require.NoError(b, os.WriteFile(filesPath, []byte(files), 0o644))

	q := &cupsQueue{addr: addr, root: root, client: &http.Client{Timeout: time.Minute}}
	out, err := os.Create(filepath.Join(root, "log", "cupsd.out"))
	require.NoError(b, err)
	defer out.Close()
	cmd := exec.Command(cupsd, "-f", "-c", confPath, "-s", filesPath)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	require.NoError(b, cmd.Start())
	b.Cleanup(func() { stopProcess(cmd) })

	start := time.Now()
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		require.Less(b, time.Since(start), 10*time.Second, "cupsd did not listen; its log: %s", q.logTail())
		time.Sleep(5 * time.Millisecond)
	}
	// CUPS 2.4 still takes -m raw (it warns that raw queues are
	// deprecated); -E enables the queue and accepts jobs.
	adm := exec.Command(lpadmin, "-h", addr, "-p", "zebra", "-E", "-v", "socket://"+printer, "-m", "raw")
	msg, err := adm.CombinedOutput()
	require.NoError(b, err, "lpadmin: %s; cupsd's log: %s", msg, q.logTail())
	return q
}

func (q *cupsQueue) logTail() string {
	var s []string
	for _, f := range []string{"cupsd.out", "error_log"} {
		d, _ := os.ReadFile(filepath.Join(q.root, "log", f))
		if len(d) > 2000 {
			d = d[len(d)-2000:]
		}
		s = append(s, f+": "+string(d))
	}
	return strings.Join(s, "\n")
}

// printJob submits one raw job with an IPP Print-Job request (RFC 8011),
// as lp -o raw does, on a kept-alive connection.
func (q *cupsQueue) printJob(b *testing.B, doc []byte) {
	q.reqID++
	var req bytes.Buffer
	req.Write([]byte{2, 0, 0, 2}) // IPP 2.0, Print-Job
	_ = binary.Write(&req, binary.BigEndian, q.reqID)
	req.WriteByte(0x01) // operation-attributes-tag
	attr := func(tag byte, name, value string) {
		req.WriteByte(tag)
		_ = binary.Write(&req, binary.BigEndian, uint16(len(name)))
		req.WriteString(name)
		_ = binary.Write(&req, binary.BigEndian, uint16(len(value)))
		req.WriteString(value)
	}
	attr(0x47, "attributes-charset", "utf-8")
	attr(0x48, "attributes-natural-language", "en")
	attr(0x45, "printer-uri", "ipp://"+q.addr+"/printers/zebra")
	attr(0x42, "requesting-user-name", "bench")
	attr(0x42, "job-name", fmt.Sprintf("label-%d", q.reqID))
	attr(0x49, "document-format", "application/vnd.cups-raw")
	req.WriteByte(0x03) // end-of-attributes-tag
	req.Write(doc)
	resp, err := q.client.Post("http://"+q.addr+"/printers/zebra", "application/ipp", &req)
	require.NoError(b, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(b, err)
	require.Equal(b, http.StatusOK, resp.StatusCode)
	require.GreaterOrEqual(b, len(body), 8, "IPP response")
	status := binary.BigEndian.Uint16(body[2:4])
	require.Less(b, status, uint16(0x0100), "Print-Job: IPP status 0x%04x; cupsd's log: %s", status, q.logTail())
}

// lp submits one raw job with lp(1).
func (q *cupsQueue) lp(b *testing.B, lp string, doc []byte) {
	cmd := exec.Command(lp, "-h", q.addr, "-d", "zebra", "-o", "raw", "-s")
	cmd.Stdin = bytes.NewReader(doc)
	out, err := cmd.CombinedOutput()
	require.NoError(b, err, "lp: %s", out)
}

// benchAgent is the real binary, running.
type benchAgent struct{ addr string }

const benchToken = "a-long-enough-token"

func startBenchAgent(b *testing.B, bin, dir, printer string) *benchAgent {
	addr := freePort(b)
	cfgPath := filepath.Join(dir, "edgeagent-cups.yaml")
	require.NoError(b, os.WriteFile(cfgPath, []byte(fmt.Sprintf(`line:
  name: bench
  printers: [{tag: p1, url: "%s"}]
  products: [{gtin: "09506000134352", market: EU, batches: [{batch: AB12, expiry: "261231"}]}]
  serials: {generate: true}
data_dir: %s
log: {level: warn, format: json}
http: {listen: "%s", token: %s}
v2: {channel_keys: [bench-channel]}
`, printer, filepath.Join(dir, "data-cups"), addr, benchToken)), 0o600))
	cmd := exec.Command(bin, "run", "--config", cfgPath)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	require.NoError(b, cmd.Start())
	b.Cleanup(func() { stopProcess(cmd) })
	start := time.Now()
	for {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		require.Less(b, time.Since(start), 10*time.Second, "the agent was not ready")
		time.Sleep(5 * time.Millisecond)
	}
	return &benchAgent{addr: addr}
}

// order posts one label order of cupsLabels pack labels, no extra ones.
func (a *benchAgent) order(b *testing.B, id string) {
	body := fmt.Sprintf(`{"order_id":%q,"product_code":"09506000134352","product_code_schema":"GTIN","batch":"AB12","quantity":%d,"extra_label_amount":0,"extra_label_type":"amount","destination_tag":"p1","template_tag":"pack","execute":true}`, id, cupsLabels)
	req, err := http.NewRequest(http.MethodPost, "http://"+a.addr+"/v1/manufacturer/v2/api/label_orders/", strings.NewReader(body))
	require.NoError(b, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("x-access-token", benchToken)
	req.Header.Set("x-channel-key", "bench-channel")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(b, err)
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(b, http.StatusOK, resp.StatusCode, "label order: %s", answer)
}

// waitLedger waits until the ledger counts every label of the first
// `orders` orders printed, none unknown, and those orders completed.
func (a *benchAgent) waitLedger(b *testing.B, orders int) {
	start := time.Now()
	for {
		m := a.metrics(b)
		if m[`edgeagent_labels{state="printed"}`] == float64(orders*cupsLabels) && m[`edgeagent_label_orders{status="completed"}`] == float64(orders) {
			require.Zero(b, m[`edgeagent_labels{state="unknown"}`], "labels left unknown")
			return
		}
		require.Less(b, time.Since(start), time.Minute, "the ledger did not count the order printed: %v", m)
		time.Sleep(2 * time.Millisecond)
	}
}

// lineLabel is the line label that begins every sample's labels.
var lineLabel = regexp.MustCompile(`\{line="[^"]*",?`)

// metrics reads the agent's edgeagent_labels and edgeagent_label_orders,
// without the line label.
func (a *benchAgent) metrics(b *testing.B) map[string]float64 {
	resp, err := http.Get("http://" + a.addr + "/metrics")
	require.NoError(b, err)
	defer resp.Body.Close()
	require.Equal(b, http.StatusOK, resp.StatusCode)
	m := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		l := sc.Text()
		if !strings.HasPrefix(l, "edgeagent_labels{") && !strings.HasPrefix(l, "edgeagent_label_orders{") {
			continue
		}
		k, v, ok := strings.Cut(l, " ")
		k = lineLabel.ReplaceAllString(k, "{") // every sample carries the line's name first
		if f, err := strconv.ParseFloat(v, 64); ok && err == nil {
			m[k] = f
		}
	}
	require.NoError(b, sc.Err())
	return m
}
