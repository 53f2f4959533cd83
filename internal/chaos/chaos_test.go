package chaos

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"math/rand"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/cloud/cloudsim"
	"github.com/edgeagent/edgeagent/internal/epcis"
	"github.com/edgeagent/edgeagent/internal/epcissim"
	"github.com/edgeagent/edgeagent/internal/printer/printersim"
	"github.com/edgeagent/edgeagent/internal/testutil"
	"github.com/edgeagent/edgeagent/internal/testutil/epcisschema"
)

const (
	gtin   = "09506000134352"
	token  = "chaos-token-0123456789"
	ch     = "chaos-channel"
	perJob = 12 // labels per label order
	inCase = 6  // packs per case
)

// settings: the suite in make test is small; make chaos sets
// EDGEAGENT_CHAOS_KILLS (and the workload grows with it).
// seedFromEnv is the seed of the run's random choices (when to kill, which
// cloud requests fail): EDGEAGENT_CHAOS_SEED, or one drawn now. The report
// prints it, so a failing run can be replayed.
func seedFromEnv(t *testing.T) uint64 {
	if v := os.Getenv("EDGEAGENT_CHAOS_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		require.NoError(t, err, "EDGEAGENT_CHAOS_SEED")
		require.NotZero(t, n, "EDGEAGENT_CHAOS_SEED must not be 0")
		return n
	}
	n := uint64(time.Now().UnixNano())%1_000_000_000 + 1
	t.Logf("chaos seed %d (replay with EDGEAGENT_CHAOS_SEED=%d)", n, n)
	return n
}

func sortedKeys(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func kills(t *testing.T) int {
	if v := os.Getenv("EDGEAGENT_CHAOS_KILLS"); v != "" {
		n, err := strconv.Atoi(v)
		require.NoError(t, err, "EDGEAGENT_CHAOS_KILLS")
		return n
	}
	if testing.Short() {
		return 3
	}
	return 6
}

// agentProc is the real binary, started and killed by the suite.
type agentProc struct {
	t       *testing.T
	bin     string
	cfgPath string
	cfg     string
	addr    string
	cmd     *exec.Cmd
	logs    *os.File
	kills   atomic.Int32
	retries atomic.Int32 // restarts that needed a second try
}

func (a *agentProc) writeConfig(maxPages int) {
	cfg := strings.Replace(a.cfg, "max_pages: 0", fmt.Sprintf("max_pages: %d", maxPages), 1)
	require.NoError(a.t, os.WriteFile(a.cfgPath, []byte(cfg), 0o600))
}

func (a *agentProc) start() error {
	err := a.startOnce()
	if err == nil {
		return nil
	}
	// An agent that does not come up is reported with what it said and
	// where it was (a goroutine dump), then started once more: the suite
	// is about what survives the kills, and counts these.
	a.t.Logf("restart needed a second try: %v", err)
	a.retries.Add(1)
	_ = a.cmd.Process.Signal(syscall.SIGKILL)
	_ = a.cmd.Wait()
	return a.startOnce()
}

func (a *agentProc) startOnce() error {
	a.cmd = exec.Command(a.bin, "run", "--config", a.cfgPath)
	a.cmd.Stdout, a.cmd.Stderr = a.logs, a.logs
	if err := a.cmd.Start(); err != nil {
		return err
	}
	deadline := time.Now().Add(15 * time.Second)
	last := ""
	probe := &http.Client{Timeout: 2 * time.Second}
	for time.Now().Before(deadline) {
		resp, err := probe.Get("http://" + a.addr + "/readyz")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
			last = fmt.Sprintf("/readyz answered %d %s", resp.StatusCode, body)
		} else {
			last = "/readyz: " + err.Error()
		}
		time.Sleep(5 * time.Millisecond)
	}
	state := "running"
	if err := a.cmd.Process.Signal(syscall.Signal(0)); err != nil {
		state = "gone: " + err.Error()
	}
	// A stuck agent says where it is stuck.
	_ = a.cmd.Process.Signal(syscall.SIGQUIT)
	time.Sleep(500 * time.Millisecond)
	b, _ := os.ReadFile(a.logs.Name())
	if len(b) > 12000 {
		b = b[len(b)-12000:]
	}
	return fmt.Errorf("the agent (pid %d, %s) did not get ready (last: %s); its log ends:\n%s", a.cmd.Process.Pid, state, last, b)
}

func (a *agentProc) kill() {
	_ = a.cmd.Process.Signal(syscall.SIGKILL)
	_ = a.cmd.Wait()
	a.kills.Add(1)
}

func (a *agentProc) stop() {
	_ = a.cmd.Process.Signal(syscall.SIGTERM)
	require.NoError(a.t, a.cmd.Wait(), "clean stop")
}

// client talks to the agent like an ERP and a station page would; every
// call is retried while the agent is down.
type client struct {
	base     string
	http     *http.Client
	mu       sync.Mutex
	diskFull int // answers refusing work because the disk was full
}

func (c *client) do(method, path, body string, v2 bool) (int, []byte, error) {
	req, _ := http.NewRequest(method, c.base+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if v2 {
		req.Header.Set("x-access-token", token)
		req.Header.Set("x-channel-key", ch)
	} else {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, nil
}

// until repeats a call until it gets an answer that is not "try again"
// (no connection, 5xx, 429).
func (c *client) until(ctx context.Context, method, path, body string, v2 bool) (int, []byte) {
	for {
		code, b, err := c.do(method, path, body, v2)
		if err == nil && code < 500 && code != 429 {
			return code, b
		}
		if code == 503 && bytes.Contains(b, []byte("disk")) {
			c.mu.Lock()
			c.diskFull++
			c.mu.Unlock()
		}
		select {
		case <-ctx.Done():
			return 0, nil
		case <-time.After(20 * time.Millisecond):
		}
	}
}

type verdict struct {
	OK        bool   `json:"ok"`
	Code      string `json:"code"`
	Message   string `json:"message"`
	Container string `json:"container"`
	Count     int    `json:"count"`
}

// acks are the events the agent acknowledged, as the clients saw them.
type acks struct {
	labelOrders []string
	packs       map[string]string // serial → case it was acknowledged in
	closed      map[string]bool   // cases acknowledged closed
	decomm      []string
}

// TestChaos runs the real binary against the cloud and printer emulators
// with a line workload while killing it, faulting the cloud and the
// printer, and filling its disk; then checks that nothing acknowledged was
// lost or duplicated and no serial was printed twice.
func TestChaos(t *testing.T) {
	root := testutil.ModuleRoot(t)
	dir := t.TempDir()
	_ = os.Chmod(dir, 0o700) // the agent refuses a data directory others can read
	bin := filepath.Join(dir, "edgeagent")
	build := exec.Command("go", "build", "-o", bin, "./cmd/edgeagent")
	build.Dir, build.Stderr = root, os.Stderr
	require.NoError(t, build.Run())

	chaosSeed := seedFromEnv(t)
	seed := cloudsim.DefaultSeed()
	sim, err := cloudsim.Start(cloudsim.Config{Listen: "127.0.0.1:0", Seed: seed, Log: zerolog.Nop()})
	require.NoError(t, err)
	defer sim.Close()
	faults := cloudsim.Faults{ErrorRate: map[string]float64{"*": 0.08}, Throttle: map[string]float64{"*": 0.05},
		Reset:      map[string]float64{"commission": 0.08, "aggregate": 0.08, "decommission": 0.08, "packaging_order": 0.1},
		RetryAfter: 200 * time.Millisecond, TokenTTL: 2 * time.Second, Seed: chaosSeed}
	sim.SetFaults(faults)
	printer, err := printersim.Start(printersim.Config{Listen: "127.0.0.1:0", Speed: 60, Faults: []printersim.Fault{
		{Kind: printersim.MediaOut, After: 20, For: 400 * time.Millisecond},
		{Kind: printersim.HeadOpen, After: 45, For: 400 * time.Millisecond},
		{Kind: printersim.Drop, After: 70},
		{Kind: printersim.Drop, After: 130},
	}}, zerolog.Nop())
	require.NoError(t, err)
	defer printer.Close()
	// The EPCIS repository: its capture jobs run a while, and it fails
	// some captures (an error, a dropped answer after it took the events,
	// a 503 with Retry-After) and some looks at a job.
	repo := epcissim.New(epcissim.Options{Token: "chaos-epcis-token", JobDelay: 30 * time.Millisecond, CaptureLimit: 40})
	repoSrv := httptest.NewServer(repo)
	defer repoSrv.Close()
	repo.FailCaptures(1, epcissim.Fault{Status: 500})
	repo.FailCaptures(1, epcissim.Fault{Drop: true})
	repo.FailCaptures(1, epcissim.Fault{Status: 503, RetryAfter: time.Second})
	repo.FailJobs(2, epcissim.Fault{Status: 500})

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	logs, err := os.Create(filepath.Join(dir, "agent.log"))
	require.NoError(t, err)
	defer logs.Close()
	a := &agentProc{t: t, bin: bin, cfgPath: filepath.Join(dir, "edgeagent.yaml"), addr: addr, logs: logs, cfg: fmt.Sprintf(`line:
  name: chaos
  printers: [{tag: p1, url: "%s"}]
  products: [{gtin: "%s", market: EU, batches: [{batch: AB12, expiry: "261231"}], case_capacity: %d}]
  serials: {generate: true, length: 10}
  sscc: {company_prefix: "9506000", extension: 4}
  stations: [{name: case-1}]
data_dir: %s
log: {level: info, format: json}
http: {listen: "%s", token: %s}
store: {max_pages: 0}
v2: {channel_keys: [%s]}
cloud: {base_url: "%s", channel_key: demo-channel, api_key: demo-key, api_secret: demo-secret, timeout: 2s}
sync: {workers: 4, max_batch: 50, retention: 720h}
epcis: {site: "9506000000008", read_point: CHAOS, capture_url: "%s", token: chaos-epcis-token, timeout: 2s}
shutdown_timeout: 5s
`, printer.URL(), gtin, inCase, filepath.Join(dir, "data"), addr, token, ch, sim.URL(), repoSrv.URL)}
	a.writeConfig(0)
	require.NoError(t, a.start())
	c := &client{base: "http://" + addr, http: &http.Client{Timeout: 3 * time.Second}}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()

	code, body := c.until(ctx, "POST", "/v1/manufacturer/v2/api/packaging_order", fmt.Sprintf(
		`{"order_id":"PO-CHAOS","product_code":"%s","product_code_schema":"GTIN","batch":"AB12","expiry_date":"261231"}`, gtin), true)
	require.True(t, code == 200 || strings.Contains(string(body), "already exists"), "%d %s", code, body)

	db := filepath.Join(dir, "data", "edgeagent.db")
	dbr, err := sql.Open("sqlite3", "file:"+db+"?mode=ro&_busy_timeout=5000")
	require.NoError(t, err)
	defer dbr.Close()
	// The chaos: kills at random moments, a cloud outage, a full disk.
	want := kills(t)
	var chaosWG sync.WaitGroup
	chaosDone := make(chan struct{})
	chaosErr := make(chan error, 1)
	var mu sync.Mutex // a.cmd across the chaos and the end
	chaosWG.Add(1)
	go func() {
		defer chaosWG.Done()
		rnd := rand.New(rand.NewSource(int64(chaosSeed)))
		for i := 0; i < want; i++ {
			select {
			case <-chaosDone:
				return
			case <-time.After(time.Duration(300+rnd.Intn(1500)) * time.Millisecond):
			}
			mu.Lock()
			a.kill()
			switch {
			case i == want/3:
				sim.SetDown(true)
				time.AfterFunc(2*time.Second, func() { sim.SetDown(false) })
				repo.FailCaptures(2, epcissim.Fault{Drop: true})
			case i == want/2, i == want/2+1:
				// A full disk for this run of the agent and the next: each
				// is given room for its start (recovery marks the label in
				// flight unknown, and the counters and indexes that follow
				// it), not for its work.
				var pages int
				if err := dbr.QueryRow(`SELECT page_count FROM pragma_page_count()`).Scan(&pages); err == nil {
					a.writeConfig(pages + 16)
				}
			case i == want/2+2:
				a.writeConfig(0)
			}
			err := a.start()
			mu.Unlock()
			if err != nil {
				chaosErr <- err
				cancel()
				return
			}
		}
	}()

	// The workload: label orders, packs into cases, decommissions.
	ack := acks{packs: map[string]string{}, closed: map[string]bool{}}
	printed := func(order string) []string {
		rows, err := dbr.Query(`SELECT serial FROM labels WHERE order_id = ? AND state = 'printed' ORDER BY id`, order)
		if err != nil {
			return nil
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var s string
			_ = rows.Scan(&s)
			out = append(out, s)
		}
		return out
	}
	station := func() verdict {
		_, b := c.until(ctx, "GET", "/api/v1/stations/case-1", "", false)
		var st verdict
		_ = json.Unmarshal(b, &st)
		return st
	}
	scan := func(data string) verdict {
		body, _ := json.Marshal(map[string]string{"data": data})
		code, b := c.until(ctx, "POST", "/api/v1/stations/case-1/scan", string(body), false)
		var v verdict
		_ = json.Unmarshal(b, &v)
		if code != 200 {
			v.Code, v.Message = "http_"+strconv.Itoa(code), string(b)
		}
		return v
	}
	for n := 1; ctx.Err() == nil && (int(a.kills.Load()) < want || n <= 3); n++ {
		lo := fmt.Sprintf("LO-CHAOS-%03d", n)
		code, body := c.until(ctx, "POST", "/v1/manufacturer/v2/api/label_orders/", fmt.Sprintf(
			`{"order_id":"%s","product_code":"%s","product_code_schema":"GTIN","batch":"AB12","quantity":%d,"destination_tag":"p1","template_tag":"pack","execute":true}`,
			lo, gtin, perJob), true)
		if code != 200 && !strings.Contains(string(body), "Label order already exists!") {
			select {
			case err := <-chaosErr:
				t.Fatalf("label order %s: %d %s; the agent: %v", lo, code, body, err)
			default:
			}
			t.Fatalf("label order %s: %d %s", lo, code, body)
		}
		ack.labelOrders = append(ack.labelOrders, lo)
		// Wait for the labels (some end unknown: faults and kills).
		var serials []string
		for i := 0; i < 300 && len(serials) < perJob-2; i++ {
			serials = printed(lo)
			time.Sleep(20 * time.Millisecond)
		}
		// Decommission one pack (a sample), then pack the rest.
		if len(serials) > 0 {
			sn := serials[len(serials)-1]
			serials = serials[:len(serials)-1]
			if _, packed := ack.packs[sn]; !packed {
				code, body := c.until(ctx, "POST", "/v1/manufacturer/v2/api/serials/decommission", fmt.Sprintf(
					`{"product_code":"%s","product_code_schema":"GTIN","reason":"sample","send_to_market":false,"serials":["%s"]}`, gtin, sn), true)
				if code == 200 || strings.Contains(string(body), "already Decommissioned") {
					ack.decomm = append(ack.decomm, sn)
				}
			}
		}
		// Pack them, case by case, asking the station what is open.
		for _, sn := range serials {
			if _, done := ack.packs[sn]; done {
				continue
			}
			st := station()
			if st.Container == "" {
				v := scan("CMD:NEW")
				if !v.OK && v.Code != "container_open" && ctx.Err() == nil {
					t.Fatalf("new case: %s %s", v.Code, v.Message)
				}
				st = station()
			}
			v := scan("01" + gtin + "17261231" + "10AB12\x1d21" + sn)
			switch {
			case v.OK, v.Code == "duplicate":
				ack.packs[sn] = st.Container
			case v.Code == "full":
			default:
				t.Logf("pack %s: %s %s", sn, v.Code, v.Message)
				continue
			}
			if st2 := station(); st2.Container != "" && st2.Count >= inCase {
				if v := scan("CMD:CLOSE"); v.OK {
					ack.closed[st2.Container] = true
				}
			}
		}
	}
	close(chaosDone)
	chaosWG.Wait()
	select {
	case err := <-chaosErr:
		t.Fatal(err)
	default:
	}
	require.NoError(t, ctx.Err(), "the workload finished in time")
	// Close the last case, then let everything drain with the faults off.
	if st := station(); st.Container != "" && st.Count > 0 {
		if v := scan("CMD:CLOSE"); v.OK {
			ack.closed[st.Container] = true
		}
	}
	sim.SetFaults(cloudsim.Faults{})
	require.Eventually(t, func() bool {
		var pending, inflight int
		_ = dbr.QueryRow(`SELECT COUNT(*) FROM outbox WHERE state = 'pending'`).Scan(&pending)
		_ = dbr.QueryRow(`SELECT COUNT(*) FROM labels WHERE state IN ('queued', 'printing')`).Scan(&inflight)
		return pending == 0 && inflight == 0
	}, 2*time.Minute, 100*time.Millisecond, "the outbox drains")
	mu.Lock()
	a.stop()
	mu.Unlock()

	// The verdict.
	var parked int
	require.NoError(t, dbr.QueryRow(`SELECT COUNT(*) FROM outbox WHERE state = 'parked'`).Scan(&parked))
	ledger := map[string]string{}
	rows, err := dbr.Query(`SELECT serial, state FROM serials`)
	require.NoError(t, err)
	for rows.Next() {
		var s, st string
		require.NoError(t, rows.Scan(&s, &st))
		ledger[s] = st
	}
	rows.Close()
	var unknown []string
	rows, err = dbr.Query(`SELECT id || ' ' || serial || ' ' || reason FROM labels WHERE state = 'unknown' ORDER BY id`)
	require.NoError(t, err)
	for rows.Next() {
		var u string
		require.NoError(t, rows.Scan(&u))
		unknown = append(unknown, u)
	}
	rows.Close()

	// Commissions: every printed serial, applied once at the cloud.
	applied := map[string]int{}
	for _, r := range sim.Received() {
		if r.Status != 200 {
			continue
		}
		switch r.Endpoint {
		case "commission":
			var b struct{ Serials []string }
			_ = json.Unmarshal(r.Body, &b)
			for _, s := range b.Serials {
				applied["c/"+s]++
			}
		case "decommission":
			var b struct{ Serials []string }
			_ = json.Unmarshal(r.Body, &b)
			for _, s := range b.Serials {
				applied["d/"+s]++
			}
		case "aggregate":
			var b struct{ Parent string }
			_ = json.Unmarshal(r.Body, &b)
			applied["a/"+b.Parent]++
		}
	}
	var acked, once, lost, dup int
	kinds := map[byte]int{}
	var lostList []string
	check := func(key string, ok bool) {
		acked++
		kinds[key[0]]++
		switch {
		case !ok:
			lost++
			lostList = append(lostList, key)
		case applied[key] == 1:
			once++
		case applied[key] > 1:
			dup++
		}
	}
	// Printed labels are the printer's acknowledgement of a commission.
	for s, st := range ledger {
		if st == "printed" || st == "commissioned" || st == "decommissioned" && applied["c/"+s] > 0 {
			status, _ := sim.SerialStatus(gtin, s)
			check("c/"+s, status != "")
		}
	}
	for _, s := range ack.decomm {
		status, _ := sim.SerialStatus(gtin, s)
		check("d/"+s, status == "Decommissioned" && ledger[s] == "decommissioned")
	}
	cloudBoxes := sim.Containers()
	for sscc := range ack.closed {
		kids := cloudBoxes[sscc]
		var want []string
		for sn, box := range ack.packs {
			if box == sscc {
				want = append(want, gtin+"/"+sn)
			}
		}
		sort.Strings(want)
		check("a/"+sscc, len(kids) > 0 && strings.Join(kids, ",") == strings.Join(want, ","))
	}
	for sn, box := range ack.packs {
		_, parent := sim.SerialStatus(gtin, sn)
		if ack.closed[box] {
			assert.Equal(t, box, parent, "pack %s acknowledged in %s", sn, box)
		}
	}
	// Printed twice: every label the printer produced, by serial.
	seen := map[string]int{}
	re := regexp.MustCompile(`\(21\) ([^\^]+?)\^FS`)
	for _, l := range printer.Printed() {
		if m := re.FindSubmatch(l.ZPL); m != nil {
			seen[string(bytes.TrimSpace(m[1]))]++
		}
	}
	twice := 0
	for s, n := range seen {
		if n > 1 {
			twice++
			t.Errorf("serial %s printed %d times", s, n)
		}
	}

	// The EPCIS journal: an event for every fact, each schema-valid, its
	// eventID the canonical hash of what was journalled, and each captured
	// by the repository once.
	journal := map[string]string{} // eventID → type and step
	var bodies []json.RawMessage
	byKind := map[string]int{}
	rows, err = dbr.Query(`SELECT event_id, event_type, biz_step, body FROM epcis_events ORDER BY seq`)
	require.NoError(t, err)
	for rows.Next() {
		var id, typ, step string
		var body []byte
		require.NoError(t, rows.Scan(&id, &typ, &step, &body))
		recomputed, err := epcis.EventHash(body, epcis.DefaultNamespaces)
		require.NoError(t, err)
		assert.Equal(t, id, recomputed, "the eventID is the canonical hash of the event as journalled")
		journal[id] = typ + " " + step
		byKind[typ+" "+step]++
		bodies = append(bodies, body)
	}
	rows.Close()
	var dbFacts struct{ printed, decommissioned, cases int }
	require.NoError(t, dbr.QueryRow(`SELECT COUNT(*) FROM serials WHERE state IN ('printed', 'commissioned', 'decommissioned')`).Scan(&dbFacts.printed))
	require.NoError(t, dbr.QueryRow(`SELECT COUNT(*) FROM serials WHERE state = 'decommissioned'`).Scan(&dbFacts.decommissioned))
	require.NoError(t, dbr.QueryRow(`SELECT COUNT(*) FROM containers WHERE state = 'closed'`).Scan(&dbFacts.cases))
	assert.Equal(t, dbFacts.printed, byKind["ObjectEvent commissioning"], "a commissioning event for every printed serial")
	var deleted int
	require.NoError(t, dbr.QueryRow(`SELECT COUNT(*) FROM epcis_events WHERE event_type = 'ObjectEvent' AND action = 'DELETE'`).Scan(&deleted))
	assert.Equal(t, dbFacts.decommissioned, deleted, "a decommissioning event for every decommissioned serial")
	assert.Equal(t, dbFacts.cases, byKind["AggregationEvent packing"], "a packing event for every closed case")
	t.Run("schema", func(t *testing.T) {
		doc, err := json.Marshal(map[string]any{"@context": epcis.DefaultContext(), "type": "EPCISDocument", "schemaVersion": "2.0",
			"creationDate": time.Now().UTC().Format(time.RFC3339), "epcisBody": map[string]any{"eventList": bodies}})
		require.NoError(t, err)
		epcisschema.Load(t).Require(t, doc, "the journal")
	})
	captured := map[string]int{}
	for _, raw := range repo.Events() {
		var e struct {
			EventID string `json:"eventID"`
		}
		require.NoError(t, json.Unmarshal(raw, &e))
		captured[e.EventID]++
	}
	var capturedOnce, capturedTwice, notCaptured, strange int
	for id := range journal {
		switch captured[id] {
		case 0:
			notCaptured++
		case 1:
			capturedOnce++
		default:
			capturedTwice++
		}
	}
	for id := range captured {
		if _, ok := journal[id]; !ok {
			strange++
		}
	}

	var report strings.Builder
	fmt.Fprintf(&report, "\nchaos report (%d SIGKILLs, cloud 5xx/429/resets/token expiry/outage, printer media out/head open/drops, a full disk)\n", a.kills.Load())
	fmt.Fprintf(&report, "seed %d (replay with EDGEAGENT_CHAOS_SEED=%d); restarts that needed a second try: %d\n", chaosSeed, chaosSeed, a.retries.Load())
	fmt.Fprintf(&report, "| measure | count |\n|---|---|\n")
	fmt.Fprintf(&report, "| events acknowledged: label orders %d, labels printed %d, pack scans %d, cases closed %d, decommissions %d | %d |\n",
		len(ack.labelOrders), kinds['c'], len(ack.packs), len(ack.closed), len(ack.decomm), len(ack.labelOrders)+kinds['c']+len(ack.packs)+len(ack.closed)+len(ack.decomm))
	fmt.Fprintf(&report, "| facts checked at the cloud: commissions %d, aggregations %d, decommissions %d | %d |\n", kinds['c'], kinds['a'], kinds['d'], acked)
	fmt.Fprintf(&report, "| delivered exactly once | %d |\n", once)
	fmt.Fprintf(&report, "| lost (must be 0) | %d |\n", lost)
	fmt.Fprintf(&report, "| duplicated at the cloud (must be 0) | %d |\n", dup)
	fmt.Fprintf(&report, "| serials printed twice (must be 0) | %d |\n", twice)
	fmt.Fprintf(&report, "| labels left unknown (for a person) | %d |\n", len(unknown))
	fmt.Fprintf(&report, "| facts parked by the cloud | %d |\n", parked)
	fmt.Fprintf(&report, "| requests refused while the disk was full (not acknowledged, sent again) | %d |\n", c.diskFull)
	kinds2 := sortedKeys(byKind)
	var ev []string
	for _, k := range kinds2 {
		ev = append(ev, fmt.Sprintf("%s %d", k, byKind[k]))
	}
	fmt.Fprintf(&report, "| EPCIS events journalled (%s) | %d |\n", strings.Join(ev, ", "), len(journal))
	fmt.Fprintf(&report, "| EPCIS events captured by the repository exactly once, eventID recomputed | %d |\n", capturedOnce)
	fmt.Fprintf(&report, "| EPCIS events not captured, or stored twice, or not in the journal (must be 0) | %d |\n", notCaptured+capturedTwice+strange)
	fmt.Fprintf(&report, "| EPCIS captures sent again after a lost answer or a kill (dropped by eventID) | %d |\n", repo.Duplicates())
	for _, u := range unknown {
		fmt.Fprintf(&report, "  unknown: label %s\n", u)
	}
	t.Log(report.String())
	if out := os.Getenv("EDGEAGENT_CHAOS_REPORT"); out != "" {
		require.NoError(t, os.WriteFile(out, []byte(report.String()), 0o644))
	}
	assert.Zero(t, lost, "lost: %v", lostList)
	assert.Zero(t, dup)
	assert.Zero(t, twice)
	assert.Equal(t, acked, once, "every acknowledged fact delivered exactly once")
	assert.Zero(t, parked, "nothing refused by the cloud")
	assert.Zero(t, notCaptured, "every journalled event reached the repository")
	assert.Zero(t, capturedTwice+strange, "stored once, and only what was journalled")
	assert.Positive(t, byKind["AggregationEvent packing"])
	assert.GreaterOrEqual(t, int(a.kills.Load()), want)
}
