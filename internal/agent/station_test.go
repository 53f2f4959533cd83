package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/cloud"
	"github.com/edgeagent/edgeagent/internal/containers"
	"github.com/edgeagent/edgeagent/internal/facts"
	"github.com/edgeagent/edgeagent/internal/gs1"
	"github.com/edgeagent/edgeagent/internal/orders"
	"github.com/edgeagent/edgeagent/internal/printer/printersim"
	"github.com/edgeagent/edgeagent/internal/queue"
	"github.com/edgeagent/edgeagent/internal/shipments"
	"github.com/edgeagent/edgeagent/internal/stations"
	"github.com/edgeagent/edgeagent/internal/testutil"
	"github.com/edgeagent/edgeagent/internal/users"
	v2 "github.com/edgeagent/edgeagent/internal/v2"
	"github.com/edgeagent/edgeagent/internal/zpl"
)

const prefix = "9506000"

// stationRig is an agent with a packaging order, 55 printed packs and the
// stations given.
func stationRig(t *testing.T, stations ...StationConfig) (*rig, []string) {
	r := start(t, printersim.Config{}, "", true, func(c *Config) {
		c.Stations = stations
		c.SSCC = containers.SSCCConfig{CompanyPrefix: prefix, Extension: 1}
	})
	ctx := context.Background()
	q := 55
	_, err := r.agent.Line.Orders.CreatePackagingOrder(ctx, "erp", v2.PackagingOrder{OrderID: "PO-1", ProductCode: gtin, ProductCodeSchema: "GTIN",
		Batch: "AB12", ExpiryDate: "261231", Quantity: &q})
	require.NoError(t, err)
	code, body := post(t, r.url, "/v1/manufacturer/v2/api/label_orders/", order55)
	require.Equal(t, 200, code, body)
	require.Eventually(t, func() bool {
		s, _, _ := r.agent.Line.Orders.Status(ctx, "MCS360418")
		return s == orders.Completed
	}, 20*time.Second, 10*time.Millisecond)
	serials, err := r.agent.Line.Ledger.PrintedSerials(ctx, "MCS360418")
	require.NoError(t, err)
	require.Len(t, serials, 55)
	return r, serials
}

func gs1Scan(t *testing.T, bracketed string) stations.Scan {
	m, err := gs1.Parse([]byte(bracketed))
	require.NoError(t, err, bracketed)
	return stations.Scan{Source: "test", Raw: []byte(m.ElementString()), GS1: m}
}

func packScan(t *testing.T, serial string) stations.Scan {
	return gs1Scan(t, fmt.Sprintf("(01)%s(21)%s(10)AB12(17)261231", gtin, serial))
}

func ssccScan(t *testing.T, sscc string) stations.Scan { return gs1Scan(t, "(00)"+sscc) }

func cmd(c string) stations.Scan { return stations.Scan{Source: "test", Raw: []byte(c), Plain: c} }

// step is one scan and the verdict code it must get.
type step struct {
	scan stations.Scan
	code string
	msg  string // part of the message, when it matters
}

func run(t *testing.T, st *stations.Station, steps []step) []stations.Verdict {
	t.Helper()
	var out []stations.Verdict
	for i, s := range steps {
		v, err := st.Handle(context.Background(), s.scan)
		require.NoError(t, err)
		require.Equal(t, s.code, v.Code, "step %d (%s): %s", i, v.Raw, v.Message)
		assert.Equal(t, s.code == "added" || s.code == "opened" || s.code == "closed" || s.code == "mode" || s.code == "undone" ||
			s.code == "removed" || s.code == "cancelled" || s.code == "decommissioned" || s.code == "remove_next" ||
			s.code == "collected" || s.code == "requested", v.OK, "step %d ok", i)
		if s.msg != "" {
			assert.Contains(t, v.Message, s.msg, "step %d", i)
		}
		out = append(out, v)
	}
	return out
}

// drained waits until the outbox has delivered everything.
func drained(t *testing.T, r *rig) {
	t.Helper()
	require.Eventually(t, func() bool {
		st, err := queue.ReadStats(context.Background(), r.agent.DB)
		return err == nil && st.Pending == 0
	}, 20*time.Second, 10*time.Millisecond)
	st, err := queue.ReadStats(context.Background(), r.agent.DB)
	require.NoError(t, err)
	require.Zero(t, st.Parked, "nothing refused by the cloud")
}

// agree checks that the cloud holds exactly the line's containers.
func agree(t *testing.T, r *rig) {
	t.Helper()
	drained(t, r)
	local, err := r.agent.Line.Containers.List(context.Background(), "")
	require.NoError(t, err)
	remote := r.cloud.Containers()
	for _, c := range local {
		kids := append(append([]string{}, c.Packs...), c.Children...)
		sort.Strings(kids)
		switch c.State {
		case "closed":
			require.Equal(t, kids, remote[c.SSCC], "container %s", c.SSCC)
		case "disaggregated", "open", "cancelled":
			assert.Empty(t, remote[c.SSCC], "container %s (%s) holds nothing in the cloud", c.SSCC, c.State)
		}
	}
	for sscc, kids := range remote {
		if len(kids) == 0 {
			continue
		}
		found := false
		for _, c := range local {
			found = found || (c.SSCC == sscc && c.State == "closed")
		}
		assert.True(t, found, "the cloud's container %s is closed on the line", sscc)
	}
}

func TestAggregationStation(t *testing.T) {
	r, sn := stationRig(t, StationConfig{StationConfig: stations.StationConfig{Name: "agg-1", Printer: "line-1-printer", CaseCapacity: 3, PalletCapacity: 4}})
	ctx := context.Background()
	l := r.agent.Line
	st, ok := l.Stations.Get("agg-1")
	require.True(t, ok)

	// Serials in every state a pack must not be in.
	_, err := l.Orders.Decommission(ctx, "qa", v2.Decommission{ProductCode: gtin, ProductCodeSchema: "GTIN", Reason: "sample", SendToMarket: new(bool), Serials: []string{sn[50]}})
	require.NoError(t, err)
	_, err = l.Ledger.ImportSerials(ctx, "erp", gtin, []string{"NOTPRINTED1"})
	require.NoError(t, err)
	preprinted, _ := gs1.SSCC(0, prefix, 500)

	printedBefore := len(r.sim.Printed())
	vs := run(t, st, []step{
		{packScan(t, sn[0]), "no_container", "No case is open"},
		{stations.Scan{Source: "test", Raw: []byte("x"), Err: errors.New("unclear read: (10) could also be …")}, "unreadable", "unclear read"},
		{cmd("hello"), "not_gs1", "Not a pack or case label"},
		{cmd("CMD:BOGUS"), "unknown_command", "Unknown command"},
		{cmd(stations.CmdClose), "no_container", "nothing to close"},
		{cmd(stations.CmdNew), "opened", "label printing"},
		{packScan(t, sn[0]), "added", ""},
		{packScan(t, sn[0]), "duplicate", "scanned twice"},
		{gs1Scan(t, fmt.Sprintf("(01)%s(21)%s(10)ZZ9(17)261231", gtin, sn[1])), "wrong_batch", "Wrong batch: ZZ9"},
		{gs1Scan(t, fmt.Sprintf("(01)%s(21)%s(10)AB12(17)270101", gtin, sn[1])), "wrong_expiry", "Wrong expiry"},
		{gs1Scan(t, "(01)09506000134369(21)X1(10)AB12(17)261231"), "wrong_product", "Wrong product"},
		{packScan(t, "NOSUCHSERIAL"), "unknown_serial", "not known on this line"},
		{packScan(t, sn[50]), "is_decommissioned", "decommissioned (sample)"},
		{packScan(t, "NOTPRINTED1"), "not_printed", "never printed"},
		{gs1Scan(t, fmt.Sprintf("(01)%s(21)%s", gtin, sn[1])), "wrong_batch", "no batch"},
		{ssccScan(t, preprinted), "wrong_level", "where packs go"},
		{cmd(stations.CmdPallet), "container_open", "still open"},
		{packScan(t, sn[1]), "added", ""},
		{packScan(t, sn[2]), "added", ""},
		{packScan(t, sn[3]), "full", "full (3 of 3)"},
	})
	case1 := vs[5].Container
	require.True(t, gs1.ValidCheckDigit(case1), "allocated SSCC %s passes the check digit", case1)
	assert.True(t, strings.HasPrefix(case1, "1"+prefix), "extension digit and company prefix")
	assert.Equal(t, 3, vs[len(vs)-1].Count)
	assert.Equal(t, 3, vs[len(vs)-1].Capacity)

	// The case label came out of the station printer and scans back.
	ctxw, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	require.NoError(t, r.sim.WaitPrinted(ctxw, printedBefore+1))
	img, _, err := zpl.Preview(r.sim.Printed()[printedBefore].ZPL, zpl.PreviewOptions{DPMM: 8})
	require.NoError(t, err)
	d, err := testutil.Decode(img, testutil.Code128)
	require.NoError(t, err)
	assert.Equal(t, "]C1", d.AIM)
	assert.Equal(t, "00"+case1, d.Text)

	vs = run(t, st, []step{
		{ssccScan(t, case1), "closed", "closed with 3 packs"},
		{ssccScan(t, case1), "already_closed", "already closed"},
		// A preprinted label opens the second case.
		{ssccScan(t, preprinted), "opened", "Case " + preprinted + " opened"},
		{packScan(t, sn[0]), "in_container", "already in case " + case1 + " (closed, station agg-1)"},
		{packScan(t, sn[3]), "added", ""},
		{packScan(t, sn[4]), "added", ""},
		{cmd(stations.CmdUndo), "undone", "pack " + sn[4]},
		{packScan(t, sn[5]), "added", ""},
		{cmd(stations.CmdClose), "closed", "2 packs"},
		// A third case is cancelled.
		{cmd(stations.CmdNew), "opened", ""},
		{cmd(stations.CmdClose), "empty", "is empty"},
		{packScan(t, sn[6]), "added", ""},
		{cmd(stations.CmdCancel), "cancelled", "cancelled"},
	})
	case3 := vs[9].Container
	assert.NotEqual(t, case1, case3)

	// Cases onto a pallet.
	vs = run(t, st, []step{
		{cmd(stations.CmdPallet), "mode", "pallet"},
		{ssccScan(t, case1), "wrong_level", "is a case label"},
		{cmd(stations.CmdNew), "opened", "Pallet"},
		{packScan(t, sn[7]), "wrong_level", "where cases go"},
		{ssccScan(t, case1), "added", ""},
		{ssccScan(t, case1), "duplicate", "already on this pallet"},
		{ssccScan(t, case3), "not_closed", "cancelled"},
		{ssccScan(t, preprinted), "added", ""},
		{cmd(stations.CmdClose), "closed", "2 cases"},
	})
	pallet := vs[2].Container
	assert.NotEqual(t, pallet, case1)
	agree(t, r)
	cont := r.cloud.Containers()
	assert.Equal(t, sorted([]string{case1, preprinted}), cont[pallet])

	// The aggregation payload is the documented one.
	var body map[string]any
	for _, q := range r.cloud.Received() {
		if q.Endpoint == "aggregate" && strings.Contains(string(q.Body), `"parent":"`+case1+`"`) {
			require.NoError(t, json.Unmarshal(q.Body, &body))
		}
	}
	items := body["child_trade_items"].([]any)
	require.Len(t, items, 3)
	assert.Equal(t, map[string]any{"product_code": gtin, "product_code_schema": "GTIN", "serial_number": sn[0], "batch": "AB12", "expiry_date": "261231"}, items[0])

	// Rework: one pack out of a closed case on a pallet, by scan.
	run(t, st, []step{
		{cmd(stations.CmdCase), "mode", ""},
		{cmd(stations.CmdRemove), "remove_next", ""},
		{packScan(t, sn[1]), "removed", "taken out of " + case1},
		{packScan(t, sn[1]), "no_container", ""},
	})
	agree(t, r)
	// A supervisor takes the second case off the pallet and empties it.
	require.ErrorContains(t, l.Containers.Disaggregate(ctx, "supervisor", preprinted, "damaged"), "is on pallet "+pallet)
	_, err = l.Containers.Remove(ctx, "supervisor", containers.Item{Case: preprinted}, "damaged")
	require.NoError(t, err)
	require.NoError(t, l.Containers.Disaggregate(ctx, "supervisor", preprinted, "damaged"))
	agree(t, r)
	// The emptied case is packed again and closed a second time.
	run(t, st, []step{
		{ssccScan(t, preprinted), "opened", ""},
		{packScan(t, sn[1]), "added", ""},
		{packScan(t, sn[3]), "added", ""},
		{ssccScan(t, preprinted), "closed", ""},
	})
	agree(t, r)
	assert.Equal(t, sorted([]string{gtin + "/" + sn[1], gtin + "/" + sn[3]}), r.cloud.Containers()[preprinted])

	var audited int
	require.NoError(t, r.agent.DB.Reader().QueryRow(`SELECT COUNT(*) FROM audit_log WHERE action IN ('container.undo', 'container.remove', 'container.disaggregate', 'container.cancel')`).Scan(&audited))
	assert.Equal(t, 5, audited, "undo, cancel, remove by scan, remove and disaggregate by a supervisor")
	var scans int
	require.NoError(t, r.agent.DB.Reader().QueryRow(`SELECT COUNT(*) FROM scans WHERE station = 'agg-1'`).Scan(&scans))
	assert.Equal(t, 20+13+9+4+4, scans, "every scan is recorded with its verdict")
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

func TestDecommissionStation(t *testing.T) {
	r, sn := stationRig(t,
		StationConfig{StationConfig: stations.StationConfig{Name: "dec-1", Mode: stations.ModeDecommission, Reason: "sample"}},
		StationConfig{StationConfig: stations.StationConfig{Name: "agg-1"}})
	l := r.agent.Line
	agg, _ := l.Stations.Get("agg-1")
	run(t, agg, []step{{cmd(stations.CmdNew), "opened", "no printer"}, {packScan(t, sn[9]), "added", ""}})
	dec, _ := l.Stations.Get("dec-1")
	run(t, dec, []step{
		{packScan(t, sn[0]), "decommissioned", "sample"},
		{packScan(t, sn[1]), "decommissioned", "sample"},
		{packScan(t, sn[0]), "is_decommissioned", "already decommissioned (sample)"},
		{packScan(t, sn[9]), "in_container", "take it out first"},
		{packScan(t, "NOSUCH"), "unknown_serial", ""},
		{ssccScan(t, "095060001343521236"), "not_pack", ""},
		{cmd(stations.CmdNew), "wrong_mode", ""},
		{cmd("CMD:DESTROY"), "mode", "destroy"},
		{packScan(t, sn[2]), "decommissioned", "destroy"},
		{cmd("CMD:FREE_SAMPLE"), "mode", "free sample"},
		{packScan(t, sn[3]), "decommissioned", "free sample"},
	})
	drained(t, r)
	for i, want := range map[int]string{0: "sample", 1: "sample", 2: "destroy", 3: "free_sample"} {
		st, _ := r.cloud.SerialStatus(gtin, sn[i])
		assert.Equal(t, "Decommissioned", st, "serial %d", i)
		_ = want
	}
	reasons := map[string]string{}
	calls := 0
	for _, q := range r.cloud.Received() {
		if q.Endpoint != "decommission" || q.Status != 200 {
			continue
		}
		calls++
		var d cloud.Decommission
		require.NoError(t, json.Unmarshal(q.Body, &d))
		for _, s := range d.Serials {
			reasons[s] = d.Reason
		}
	}
	assert.Equal(t, map[string]string{sn[0]: "sample", sn[1]: "sample", sn[2]: "destroy", sn[3]: "free_sample"}, reasons)
	assert.LessOrEqual(t, calls, 4)
	st, _ := r.cloud.SerialStatus(gtin, sn[9])
	assert.Equal(t, "Commissioned", st, "the pack in a case was not decommissioned")
}

// Two stations scanning the same packs at once never put one pack in two
// cases.
func TestStationsRaceForPacks(t *testing.T) {
	r, sn := stationRig(t,
		StationConfig{StationConfig: stations.StationConfig{Name: "a"}},
		StationConfig{StationConfig: stations.StationConfig{Name: "b"}})
	l := r.agent.Line
	var wg sync.WaitGroup
	added := map[string][]string{}
	var mu sync.Mutex
	for i, name := range []string{"a", "b"} {
		st, _ := l.Stations.Get(name)
		run(t, st, []step{{cmd(stations.CmdNew), "opened", ""}})
		order := rand.New(rand.NewSource(int64(i))).Perm(50)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, k := range order {
				v, err := st.Handle(context.Background(), packScan(t, sn[k]))
				if err != nil || (v.Code != "added" && v.Code != "in_container") {
					t.Errorf("%s: %v %s %s", name, err, v.Code, v.Message)
					return
				}
				if v.OK {
					mu.Lock()
					added[name] = append(added[name], sn[k])
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, 50, len(added["a"])+len(added["b"]), "each pack added exactly once")
	for _, name := range []string{"a", "b"} {
		st, _ := l.Stations.Get(name)
		run(t, st, []step{{cmd(stations.CmdClose), "closed", ""}})
	}
	agree(t, r)
	seen := map[string]string{}
	for sscc, kids := range r.cloud.Containers() {
		for _, k := range kids {
			require.Empty(t, seen[k], "%s in %s and %s", k, seen[k], sscc)
			seen[k] = sscc
		}
	}
	assert.Len(t, seen, 50)
}

func TestShipStation(t *testing.T) {
	r := start(t, printersim.Config{}, "", true, func(c *Config) {
		c.Stations = []StationConfig{{StationConfig: stations.StationConfig{Name: "ship-1", Mode: stations.ModeShip, Printer: "line-1-printer", IntegrationID: 70}}}
		c.ShipPoll = 10 * time.Millisecond
		c.ServiceToken = "service-token-0123456789"
		// The shipping service sits beside the Manufacturer API in the emulator.
		c.Shipping = &cloud.ShippingConfig{BaseURL: c.Cloud.BaseURL + "/api/v3", PublicKey: "ship-public", SecretKey: "ship-secret",
			NotFoundRetries: 2, NotFoundWait: 10 * time.Millisecond}
	})
	st, _ := r.agent.Line.Stations.Get("ship-1")
	events, stop := st.Subscribe()
	defer stop()
	orders := []string{"ORD-2024-00174", "ORD-2024-00166", "ORD-2024-00180", "ORD-2024-00190", "ORD-NOT-THERE"}
	var steps []step
	for _, o := range orders {
		steps = append(steps, step{cmd(o), "collected", o})
	}
	steps = append(steps, step{cmd(orders[0]), "duplicate", "scanned twice"}, step{packScan(t, "X"), "not_order", ""},
		step{cmd(stations.CmdClose), "requested", "5 orders"})
	run(t, st, steps)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	require.NoError(t, r.sim.WaitPrinted(ctx, 3))
	got := map[string]string{}
	for len(got) < 5 {
		select {
		case v := <-events:
			if strings.HasPrefix(v.Code, "ship_") {
				for _, o := range orders {
					if strings.Contains(v.Message, o) {
						got[o] = v.Code + ": " + v.Message
					}
				}
			}
		case <-ctx.Done():
			t.Fatalf("verdicts: %v", got)
		}
	}
	assert.Contains(t, got["ORD-2024-00190"], "ship_failed")
	assert.Contains(t, got["ORD-2024-00190"], "The carrier rejected the address: postal code missing.")
	assert.Contains(t, got["ORD-NOT-THERE"], "ship_failed")
	assert.Contains(t, got["ORD-NOT-THERE"], "Order not found.")
	for _, o := range orders[:3] {
		assert.Contains(t, got[o], "ship_label", o)
	}
	var texts []string
	for _, p := range r.sim.Printed() {
		texts = append(texts, string(p.ZPL))
	}
	require.Len(t, texts, 3, "three labels printed")
	for _, o := range orders[:3] {
		assert.Contains(t, strings.Join(texts, "\n"), "Order "+o)
	}
	require.Eventually(t, func() bool {
		list, _ := r.agent.Line.Shipments.Orders(context.Background(), "ship-1")
		n := 0
		for _, o := range list {
			if o.State == "printed" {
				n++
			}
		}
		return n == 3
	}, 10*time.Second, 10*time.Millisecond)
	list, err := r.agent.Line.Shipments.Orders(context.Background(), "ship-1")
	require.NoError(t, err)
	var refused int64
	for _, o := range list {
		if o.State == "failed" {
			assert.NotEmpty(t, o.Detail)
		}
		if o.Order == "ORD-2024-00190" {
			refused = o.ID
		}
	}

	// The address is corrected in the shipping service; a supervisor
	// retries the parked item: a new label is asked for, printed, and the
	// station hears of it.
	// The station hears of the refusal as the sender records it; the item
	// is parked when the dispatcher commits the outcome, a moment later.
	var item int64
	require.Eventually(t, func() bool {
		parked, err := queue.List(ctx, r.agent.DB, queue.StateParked, 100, false)
		require.NoError(t, err)
		for _, p := range parked {
			if p.Kind == facts.KindShipLabel && p.Key == strconv.FormatInt(refused, 10) {
				item = p.ID
			}
		}
		return item != 0
	}, 10*time.Second, 10*time.Millisecond, "the refused order's item is parked")
	require.True(t, r.cloud.CorrectAddress("ORD-2024-00190"))
	req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("%s/api/v1/queue/%d/retry", r.url, item), strings.NewReader(`{"reason":"address corrected"}`))
	req.Header.Set("Authorization", "Bearer service-token-0123456789")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.NoError(t, r.sim.WaitPrinted(ctx, 4))
	for {
		select {
		case v := <-events:
			if v.Code == "ship_label" && strings.Contains(v.Message, "ORD-2024-00190") {
				assert.True(t, v.OK)
				return
			}
		case <-ctx.Done():
			t.Fatal("the station was not told of the corrected order's label")
		}
	}
}

// A fixed-mount reader on TCP drives a station: framing, GS1 decoding and
// the verdict stream, through the same path as a handheld.
func TestScannerDrivesStation(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	scanAddr := ln.Addr().String()
	ln.Close()
	r, sn := stationRig(t, StationConfig{StationConfig: stations.StationConfig{Name: "agg-1"}, Scanners: []string{"tcp-listen://" + scanAddr + "?suffix=cr"}})
	st, _ := r.agent.Line.Stations.Get("agg-1")
	events, stop := st.Subscribe()
	defer stop()
	var conn net.Conn
	require.Eventually(t, func() bool { conn, err = net.Dial("tcp", scanAddr); return err == nil }, 5*time.Second, 10*time.Millisecond)
	defer conn.Close()
	// A Data Matrix read with its AIM identifier and GS separators.
	pack := "]d2010950600013435221" + sn[0] + "\x1d10AB12\x1d17261231"
	_, err = conn.Write([]byte("CMD:NEW\r" + pack + "\r" + pack + "\r" + "]d20109506000134352211\x1d10AB12\x1d17261231\r"))
	require.NoError(t, err)
	var codes []string
	for len(codes) < 4 {
		select {
		case v := <-events:
			codes = append(codes, v.Code)
		case <-time.After(5 * time.Second):
			t.Fatalf("verdicts so far: %v", codes)
		}
	}
	assert.Equal(t, []string{"opened", "added", "duplicate", "unknown_serial"}, codes)
	var raw string
	require.NoError(t, r.agent.DB.Reader().QueryRow(`SELECT raw FROM scans WHERE code = 'added'`).Scan(&raw))
	assert.Equal(t, "]d2010950600013435221"+sn[0]+"<GS>10AB12<GS>17261231", raw, "the read is stored as it came, GS shown")
}

// A ship station keeps working while the network is down: the request
// waits in the outbox and the labels print once the service answers.
func TestShipStationOffline(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	cloudAddr := ln.Addr().String()
	ln.Close()
	r := start(t, printersim.Config{}, cloudAddr, false, func(c *Config) {
		c.Stations = []StationConfig{{StationConfig: stations.StationConfig{Name: "ship-1", Mode: stations.ModeShip, Printer: "line-1-printer", IntegrationID: 70}}}
		c.ShipPoll = 10 * time.Millisecond
		c.Shipping = &cloud.ShippingConfig{BaseURL: c.Cloud.BaseURL + "/api/v3", PublicKey: "ship-public", SecretKey: "ship-secret",
			NotFoundRetries: 2, NotFoundWait: 10 * time.Millisecond}
	})
	st, _ := r.agent.Line.Stations.Get("ship-1")
	run(t, st, []step{{cmd("ORD-2024-00174"), "collected", ""}, {cmd("ORD-2024-00166"), "collected", ""}, {cmd(stations.CmdClose), "requested", "2 orders"}})
	time.Sleep(300 * time.Millisecond)
	assert.Empty(t, r.sim.Printed(), "nothing printed while the service is unreachable")
	list, err := r.agent.Line.Shipments.Orders(context.Background(), "ship-1")
	require.NoError(t, err)
	for _, o := range list {
		assert.Equal(t, shipments.Requested, o.State)
	}
	r.cloud = startCloud(t, cloudAddr)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	require.NoError(t, r.sim.WaitPrinted(ctx, 2))
	time.Sleep(100 * time.Millisecond)
	assert.Len(t, r.sim.Printed(), 2, "each label printed once")
	assert.Equal(t, 2, r.cloud.Snapshot().Shipments, "one shipment per order")
}

// Anyone who could reach a decommission station's network port used to
// decommission packs, and the audit log named only the station. Now the
// port listens on this machine unless told otherwise, and a decommission
// from a scanner needs an operator signed on at the station with a badge,
// who is then named.
func TestNetworkScannerCannotDecommissionWithoutAPerson(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	r, sn := stationRig(t, StationConfig{StationConfig: stations.StationConfig{Name: "dec-1", Mode: stations.ModeDecommission, Reason: "destroy", SignOn: true},
		Scanners: []string{fmt.Sprintf("tcp-listen://:%d?suffix=cr", port)}})
	ctx := context.Background()
	require.NoError(t, r.agent.People.Users.Add(ctx, "test", "olga", users.Operator, "operator password 1"))
	badge, err := r.agent.People.Users.SetBadge(ctx, "test", "olga")
	require.NoError(t, err)
	st, _ := r.agent.Line.Stations.Get("dec-1")
	events, stop := st.Subscribe()
	defer stop()
	// The port is this machine's only: tcp-listen://:PORT binds loopback.
	var conn net.Conn
	require.Eventually(t, func() bool { conn, err = net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); return err == nil }, 5*time.Second, 10*time.Millisecond)
	defer conn.Close()
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if ip, ok := a.(*net.IPNet); ok && !ip.IP.IsLoopback() && ip.IP.To4() != nil {
				c, err := net.DialTimeout("tcp", fmt.Sprintf("%s:%d", ip.IP, port), time.Second)
				if err == nil {
					c.Close()
				}
				assert.Error(t, err, "the scanner port is not reachable at %s", ip.IP)
			}
		}
	}
	pack := func(s string) string { return "]d2010950600013435221" + s + "\x1d10AB12\x1d17261231\r" }
	next := func() stations.Verdict {
		select {
		case v := <-events:
			return v
		case <-time.After(5 * time.Second):
			t.Fatal("no verdict")
		}
		return stations.Verdict{}
	}
	_, err = conn.Write([]byte(pack(sn[0])))
	require.NoError(t, err)
	v := next()
	assert.Equal(t, "sign_on", v.Code, v.Message)
	var state string
	require.NoError(t, r.agent.DB.Reader().QueryRow(`SELECT state FROM serials WHERE serial = ?`, sn[0]).Scan(&state))
	assert.NotEqual(t, "decommissioned", state)

	_, err = conn.Write([]byte(badge + "\r" + pack(sn[0])))
	require.NoError(t, err)
	v = next()
	assert.Equal(t, "signed_on", v.Code, v.Message)
	v = next()
	assert.Equal(t, "decommissioned", v.Code, v.Message)
	var actor string
	require.NoError(t, r.agent.DB.Reader().QueryRow(`SELECT actor FROM audit_log WHERE action = 'serial.decommission' AND subject LIKE ?`, "%/"+sn[0]).Scan(&actor))
	assert.Equal(t, "user:olga", actor, "the audit log names the person")
}
