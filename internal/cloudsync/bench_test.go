package cloudsync

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/edgeagent/edgeagent/internal/cloud"
	"github.com/edgeagent/edgeagent/internal/cloud/cloudsim"
	"github.com/edgeagent/edgeagent/internal/facts"
	"github.com/edgeagent/edgeagent/internal/queue"
	"github.com/edgeagent/edgeagent/internal/store"
)

// The drain benchmark runs three processes: the benchmark, which queues
// the commissions, times the drain and checks the result; the emulator;
// and the agent's sync, which opens the database and delivers it. The two
// children are this test binary started again, each told by its
// environment which one to be; each ends when its standard input closes,
// so that none outlives a benchmark that failed.
const (
	envCloudsimChild = "EDGEAGENT_CLOUDSIM_CHILD" // "1": be the emulator
	envDrainDB       = "EDGEAGENT_DRAIN_DB"       // be the agent delivering this database…
	envDrainCloud    = "EDGEAGENT_DRAIN_CLOUD"    // …to this emulator…
	envDrainItems    = "EDGEAGENT_DRAIN_ITEMS"    // …until this many are delivered
	// A directory: each child writes its CPU profile there (-cpuprofile
	// profiles only the benchmark's own process).
	envDrainProfile = "EDGEAGENT_DRAIN_PROFILE"
)

// TestCloudsimChild runs the emulator in a process of its own for the drain
// benchmark, so that the agent's process holds only the agent. It does
// nothing unless started by BenchmarkDrain1M.
func TestCloudsimChild(t *testing.T) {
	if os.Getenv(envCloudsimChild) == "" {
		return
	}
	// MaxRecorded: the benchmark asks the state, not the requests.
	sim, err := cloudsim.Start(cloudsim.Config{Listen: "127.0.0.1:0", Seed: cloudsim.DefaultSeed(), Log: zerolog.Nop(), MaxRecorded: 100})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println("LISTEN", sim.URL())
	_, _ = io.Copy(io.Discard, os.Stdin)
}

// TestDrainAgentChild is the agent's sync in a process of its own for the
// drain benchmark: the store, the dispatcher, the sender and the client
// with the agent's default settings (config: store and sync), delivering a
// database queued beforehand. It says READY once the database is open,
// starts on GO, and says DONE with its peak resident memory and the CPU
// time it used since GO once the dispatcher has committed every item as
// delivered. It does nothing unless
// started by BenchmarkDrain1M.
func TestDrainAgentChild(t *testing.T) {
	path := os.Getenv(envDrainDB)
	if path == "" {
		return
	}
	want, err := strconv.ParseUint(os.Getenv(envDrainItems), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	db, err := store.Open(ctx, store.Config{Path: path, MaxBatch: 128}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	c, err := cloud.New(cloud.Config{BaseURL: os.Getenv(envDrainCloud), ChannelKey: "demo-channel", Token: "demo-static-token"})
	if err != nil {
		t.Fatal(err)
	}
	d := queue.NewDispatcher(db, &Sender{Client: c}, queue.Config{Workers: 4, DefaultBatch: 500}, zerolog.Nop())
	in := bufio.NewScanner(os.Stdin)
	// The peak is the drain's own: what opening the database cost is
	// forgotten (Linux resets the high-water mark to the current size).
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
	fmt.Println("READY")
	if !in.Scan() || in.Text() != "GO" {
		t.Fatal("no GO")
	}
	cpu := cpuTime()
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { d.Run(runCtx); close(done) }()
	defer func() { stop(); <-done }()
	// The dispatcher's counters move when a delivery's record commits;
	// reading them costs nothing, so the check does not slow the drain
	// it times.
	var last uint64
	moved := time.Now()
	for {
		delivered, parked := d.Totals()
		if parked > 0 {
			t.Fatalf("%d parked", parked)
		}
		if delivered >= want {
			break
		}
		if delivered != last {
			last, moved = delivered, time.Now()
		} else if time.Since(moved) > time.Minute {
			t.Fatalf("stuck at %d of %d delivered", delivered, want)
		}
		time.Sleep(time.Millisecond)
	}
	fmt.Printf("DONE %.2f %.3f\n", peakRSS(), (cpuTime() - cpu).Seconds())
}

// cpuTime is the CPU time the process has used, in user and kernel mode.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// peakRSS is the process's high-water resident set size, in MiB.
func peakRSS() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(data), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// child is this test binary started again as one of the drain's processes.
type child struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string // its standard output, line by line; closed at its end
	log   *strings.Builder
}

func startChild(b *testing.B, test string, env ...string) *child {
	b.Helper()
	args := []string{"-test.run=^" + test + "$", "-test.v"}
	if dir := os.Getenv(envDrainProfile); dir != "" {
		args = append(args, "-test.cpuprofile="+filepath.Join(dir, test+".prof"))
	}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	c := &child{cmd: cmd, stdin: stdin, lines: make(chan string, 16), log: &strings.Builder{}}
	go func() {
		defer close(c.lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
	}()
	b.Cleanup(c.stop)
	return c
}

// await returns the rest of the first line that starts with prefix.
func (c *child) await(b *testing.B, prefix string) string {
	b.Helper()
	for l := range c.lines {
		if rest, ok := strings.CutPrefix(l, prefix); ok {
			return strings.TrimSpace(rest)
		}
		fmt.Fprintln(c.log, l)
	}
	c.cmd.Wait()
	b.Fatalf("%s ended before %q:\n%s", c.cmd.Args[1], prefix, c.log)
	return ""
}

// stop closes the child's input, which ends it, and waits for it.
func (c *child) stop() {
	if c.stdin != nil {
		c.stdin.Close()
		c.stdin = nil
		for l := range c.lines {
			fmt.Fprintln(c.log, l)
		}
		c.cmd.Wait()
	}
}

// queueCommissions writes a database with n serial commissions pending in
// 8 streams (packaging orders), in transactions of 5,000.
func queueCommissions(b *testing.B, path string, n int) {
	ctx := context.Background()
	db, err := store.Open(ctx, store.Config{Path: path, MaxBatch: 128}, zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	ob := queue.New(db)
	for start := 0; start < n; start += 5000 {
		err := db.Write(ctx, func(tx *sql.Tx) error {
			items := make([]queue.Item, 0, 5000)
			for i := start; i < min(start+5000, n); i++ {
				items = append(items, facts.CommissionItem(fmt.Sprintf("PO-%d", i%8), facts.SerialFact{ProductCode: gtin, Batch: "AB12", ExpiryDate: "261231", Serial: fmt.Sprintf("D%09d", i)}))
			}
			_, err := ob.EnqueueMany(tx, items)
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}
}

// checkDrained checks, untimed, that the database holds n items delivered
// and none else, and that the emulator holds n distinct serials
// commissioned: nothing lost, nothing sent twice.
func checkDrained(b *testing.B, path, cloudURL string, n int) {
	b.Helper()
	ctx := context.Background()
	db, err := store.OpenReadOnly(ctx, store.Config{Path: path}, zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	counts := map[string]int{}
	rows, err := db.Reader().QueryContext(ctx, `SELECT state, COUNT(*) FROM outbox GROUP BY state`)
	if err != nil {
		b.Fatal(err)
	}
	for rows.Next() {
		var state string
		var k int
		if err := rows.Scan(&state, &k); err != nil {
			b.Fatal(err)
		}
		counts[state] = k
	}
	if err := rows.Close(); err != nil {
		b.Fatal(err)
	}
	if len(counts) != 1 || counts[queue.StateDelivered] != n {
		b.Fatalf("outbox after the drain: %v, want %d delivered only", counts, n)
	}
	resp, err := http.Get(cloudURL + "/_sim/state")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var st cloudsim.State
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		b.Fatal(err)
	}
	// The emulator keeps one entry per serial and refuses a second
	// commission of one: n entries are n distinct serials, once each.
	if st.Commissioned != n {
		b.Fatalf("the emulator holds %d serials commissioned, want %d", st.Commissioned, n)
	}
}

// BenchmarkDrain1M delivers 1,000,000 queued serial commissions from the
// agent's sync, in a process of its own, to the emulator, in another, on
// loopback: the time from GO until the agent has committed the last item
// as delivered, and the agent's peak resident memory meanwhile. The
// emulator's count of serials is checked afterwards, untimed.
func BenchmarkDrain1M(b *testing.B) {
	const n = 1000000
	var total time.Duration
	var rss, cpu, cloudCPU float64
	runs := 0
	for b.Loop() {
		b.StopTimer()
		path := filepath.Join(b.TempDir(), "data", "q.db")
		queueCommissions(b, path, n)
		sim := startChild(b, "TestCloudsimChild", envCloudsimChild+"=1")
		url := sim.await(b, "LISTEN ")
		agent := startChild(b, "TestDrainAgentChild", envDrainDB+"="+path, envDrainCloud+"="+url, envDrainItems+"="+strconv.Itoa(n))
		agent.await(b, "READY")
		b.StartTimer()
		begin := time.Now()
		if _, err := io.WriteString(agent.stdin, "GO\n"); err != nil {
			b.Fatal(err)
		}
		doneLine := agent.await(b, "DONE ")
		elapsed := time.Since(begin)
		b.StopTimer()
		agent.stop()
		if !agent.cmd.ProcessState.Success() {
			b.Fatalf("the agent failed:\n%s", agent.log)
		}
		checkDrained(b, path, url, n)
		sim.stop()
		var peak, agentCPU float64
		if _, err := fmt.Sscan(doneLine, &peak, &agentCPU); err != nil {
			b.Fatalf("the agent said DONE %s: %v", doneLine, err)
		}
		total += elapsed
		rss = max(rss, peak)
		cpu += agentCPU
		if ru, ok := sim.cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			cloudCPU += time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
		}
		runs++
		b.StartTimer()
	}
	b.ReportMetric(total.Seconds()/float64(runs), "s/1M-serials")
	b.ReportMetric(rss, "peak-RSS-MiB")
	// The CPU time each process used for it: on a busy machine the drain
	// waits for the cores, and these tell its own cost.
	b.ReportMetric(cpu/float64(runs), "agent-CPU-s")
	b.ReportMetric(cloudCPU/float64(runs), "emulator-CPU-s")
}
