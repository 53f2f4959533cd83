package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/cloud"
	"github.com/edgeagent/edgeagent/internal/containers"
	"github.com/edgeagent/edgeagent/internal/epcis"
	"github.com/edgeagent/edgeagent/internal/epcissim"
	"github.com/edgeagent/edgeagent/internal/gs1"
	"github.com/edgeagent/edgeagent/internal/journal"
	"github.com/edgeagent/edgeagent/internal/ledger"
	"github.com/edgeagent/edgeagent/internal/orders"
	"github.com/edgeagent/edgeagent/internal/printer/printersim"
	"github.com/edgeagent/edgeagent/internal/stations"
	"github.com/edgeagent/edgeagent/internal/store"
	v2 "github.com/edgeagent/edgeagent/internal/v2"
	"github.com/edgeagent/edgeagent/internal/zpl"
)

// siteLine is what one line of the site is given: its SSCC range on the
// site's company prefix and extension digit, and its serial prefix.
type siteLine struct {
	name   string
	ranges []containers.Range
	prefix string
}

// Three agents on one machine, each with its own data directory and
// printer, deliver to the same cloud. They share the company prefix and
// extension digit and generate serials for the same product from a small
// alphabet (2^8 serials of 8 characters: without prefixes, three lines of
// 24 labels would make the same serial with near certainty; without ranges,
// every line's first SSCC is the same). With disjoint ranges and prefixes,
// no SSCC and no serial reaches the cloud twice, each line's cases are the
// cloud's as the line packed them, and the line whose range is used up
// refuses the next NEW.
func TestThreeLinesOnOneSiteNeverCollide(t *testing.T) {
	lines := []siteLine{
		{"line-1", []containers.Range{{From: 1, To: 1000}}, "L1"},
		{"line-2", []containers.Range{{From: 1001, To: 2000}}, "L2"},
		{"line-3", []containers.Range{{From: 2001, To: 2005}}, "L3"}, // exactly what it packs
	}
	const packs, perCase = 24, 6
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	cloudAddr := ln.Addr().String()
	ln.Close()
	// One EPCIS repository for the site: every line captures its journal
	// there, each with its own readPoint on the site's GLN.
	repo := epcissim.New(epcissim.Options{Token: "site-epcis-token"})
	repoSrv := httptest.NewServer(repo)
	defer repoSrv.Close()

	rigs := make([]*rig, len(lines))
	for i, sl := range lines {
		rigs[i] = start(t, printersim.Config{}, cloudAddr, i == 0, func(c *Config) {
			c.LineName = sl.name
			c.PullEvery = time.Hour
			c.Serials = ledger.SerialConfig{Generate: true, Length: 8, Alphabet: "AB", Prefix: sl.prefix}
			c.SSCC = containers.SSCCConfig{CompanyPrefix: prefix, Extension: 1, Ranges: sl.ranges, LowWater: 2}
			c.Journal = &journal.Config{Site: siteGLN, ReadPointExtension: strings.ToUpper(sl.name)}
			c.EPCIS = &cloud.CaptureConfig{URL: repoSrv.URL, Token: "site-epcis-token", Timeout: 3 * time.Second}
			c.Stations = []StationConfig{
				{StationConfig: stations.StationConfig{Name: "case", Printer: "line-1-printer", Order: "PO-" + sl.name}},
				{StationConfig: stations.StationConfig{Name: "pallet", Mode: stations.ModePallet, Printer: "line-1-printer", Order: "PO-" + sl.name}},
			}
		})
	}
	cloudSim := rigs[0].cloud
	ctx := context.Background()

	type figures struct{ ssccs, serials []string }
	got := make([]figures, len(lines))
	for i, sl := range lines {
		r := rigs[i]
		code, body := post(t, r.url, "/v1/manufacturer/v2/api/packaging_order",
			fmt.Sprintf(`{"order_id":"PO-%s","product_code":"%s","product_code_schema":"GTIN","batch":"AB12","expiry_date":"261231","quantity":%d,"market":"EU"}`, sl.name, gtin, packs))
		require.Equal(t, 200, code, body)
		code, body = post(t, r.url, "/v1/manufacturer/v2/api/label_orders/",
			fmt.Sprintf(`{"order_id":"LO-%s","product_code":"%s","product_code_schema":"GTIN","batch":"AB12","quantity":%d,"extra_label_amount":0,"extra_label_type":"amount",`+
				`"destination_tag":"line-1-printer","template_tag":"pack","execute":true}`, sl.name, gtin, packs))
		require.Equal(t, 200, code, body)
		require.Eventually(t, func() bool {
			s, _, _ := r.agent.Line.Orders.Status(ctx, "LO-"+sl.name)
			return s == orders.Completed
		}, 20*time.Second, 10*time.Millisecond)
		serials, err := r.agent.Line.Ledger.PrintedSerials(ctx, "LO-"+sl.name)
		require.NoError(t, err)
		require.Len(t, serials, packs)

		// Four cases of six, then the four cases onto a pallet.
		caseSt, _ := r.agent.Line.Stations.Get("case")
		var cases []string
		for c := 0; c < packs/perCase; c++ {
			steps := []step{{cmd(stations.CmdNew), "opened", ""}}
			for _, s := range serials[c*perCase : (c+1)*perCase] {
				steps = append(steps, step{packScan(t, s), "added", ""})
			}
			steps = append(steps, step{cmd(stations.CmdClose), "closed", ""})
			vs := run(t, caseSt, steps)
			cases = append(cases, vs[0].Container)
		}
		palletSt, _ := r.agent.Line.Stations.Get("pallet")
		steps := []step{{cmd(stations.CmdNew), "opened", ""}}
		for _, c := range cases {
			steps = append(steps, step{ssccScan(t, c), "added", ""})
		}
		steps = append(steps, step{cmd(stations.CmdClose), "closed", ""})
		vs := run(t, palletSt, steps)
		got[i] = figures{ssccs: append(cases, vs[0].Container), serials: serials}

		// Each SSCC comes from the line's range, each serial has its prefix.
		for _, s := range got[i].ssccs {
			ref := refOf(t, s)
			assert.True(t, ref >= sl.ranges[0].From && ref <= sl.ranges[0].To, "%s: SSCC %s (reference %d) is in the line's range", sl.name, s, ref)
		}
		for _, s := range serials {
			assert.True(t, strings.HasPrefix(s, sl.prefix), "%s: serial %s has the line's prefix", sl.name, s)
		}
	}
	// The third line has used up its range: the next NEW is refused at the
	// station, with a headline and a detail line.
	st3, _ := rigs[2].agent.Line.Stations.Get("case")
	v, err := st3.Handle(ctx, cmd(stations.CmdNew))
	require.NoError(t, err)
	assert.Equal(t, "no_sscc_left", v.Code)
	assert.Equal(t, "No SSCC left", v.Headline)
	assert.True(t, strings.HasPrefix(v.Message, "No SSCC left in this line's range: tell the supervisor"), v.Message)

	for _, r := range rigs {
		drained(t, r)
	}

	// At the cloud: every SSCC aggregated once, every serial commissioned
	// once, across the three lines.
	commissioned, aggregated := map[string]int{}, map[string]int{}
	for _, q := range cloudSim.Received() {
		switch {
		case q.Endpoint == "commission":
			require.Equal(t, 200, q.Status, "no commission refused as already done: %s", q.Body)
			var c cloud.Commission
			require.NoError(t, json.Unmarshal(q.Body, &c))
			for _, s := range c.Serials {
				commissioned[c.ProductCode+"/"+s]++
			}
		case q.Endpoint == "aggregate":
			require.Equal(t, 200, q.Status, "%s", q.Body)
			var a cloud.Aggregation
			require.NoError(t, json.Unmarshal(q.Body, &a))
			aggregated[a.Parent]++
		}
	}
	owner := map[string]string{} // SSCC or GTIN/serial → line
	collisions := 0
	claim := func(key, line string) {
		if o, ok := owner[key]; ok && o != line {
			collisions++
			t.Errorf("%s allocated on %s and on %s", key, o, line)
		}
		owner[key] = line
	}
	remote := cloudSim.Containers()
	for i, sl := range lines {
		local, err := rigs[i].agent.Line.Containers.List(ctx, "")
		require.NoError(t, err)
		require.Len(t, local, len(got[i].ssccs))
		for _, c := range local {
			claim(c.SSCC, sl.name)
			assert.Equal(t, 1, aggregated[c.SSCC], "%s: %s aggregated once", sl.name, c.SSCC)
			kids := append(append([]string{}, c.Packs...), c.Children...)
			sort.Strings(kids)
			assert.Equal(t, kids, remote[c.SSCC], "%s: the cloud holds container %s as the line packed it", sl.name, c.SSCC)
		}
		var allocated int
		require.NoError(t, rigs[i].agent.DB.Reader().QueryRow(`SELECT COUNT(*) FROM serials WHERE gtin = ?`, gtin).Scan(&allocated))
		assert.Equal(t, packs, allocated)
		for _, s := range got[i].serials {
			claim(gtin+"/"+s, sl.name)
			assert.Equal(t, 1, commissioned[gtin+"/"+s], "%s: serial %s commissioned once", sl.name, s)
		}
		t.Logf("%s: SSCCs allocated %d (range %s), serials allocated %d (prefix %s)", sl.name, len(got[i].ssccs), sl.ranges[0], allocated, sl.prefix)
	}
	assert.Len(t, remote, 3*5, "the cloud knows every line's containers, none merged")
	assert.Len(t, commissioned, 3*packs, "the cloud commissioned every line's serials, none twice")
	assert.Zero(t, collisions)
	t.Logf("site: %d SSCCs and %d serials at the cloud, collisions %d", len(remote), len(commissioned), collisions)

	// At the EPCIS repository: each serial commissioned once and each SSCC
	// packed once, across the lines, each event from its line's readPoint.
	commissionedAt, packedAt := map[string]string{}, map[string]string{}
	epcisCollisions := 0
	for _, raw := range repo.Events() {
		ev, err := epcis.DecodeEvent(raw)
		require.NoError(t, err)
		b := ev.Common()
		require.NotNil(t, b.ReadPoint)
		seen := commissionedAt
		var epcs []string
		switch e := ev.(type) {
		case *epcis.ObjectEvent:
			if b.BizStep != epcis.BizStepCommissioning {
				continue
			}
			epcs = e.EPCList
		case *epcis.AggregationEvent:
			seen, epcs = packedAt, []string{e.ParentID}
		}
		for _, epc := range epcs {
			if at, ok := seen[epc]; ok {
				epcisCollisions++
				t.Errorf("%s at the repository from %s and from %s", epc, at, b.ReadPoint.ID)
			}
			seen[epc] = b.ReadPoint.ID
		}
	}
	perLine := map[string]int{}
	for _, rp := range commissionedAt {
		perLine[rp]++
	}
	assert.Len(t, commissionedAt, 3*packs, "every line's serials commissioned at the repository, none twice")
	assert.Len(t, packedAt, 3*5, "every line's SSCCs packed at the repository, none twice")
	assert.Equal(t, map[string]int{"https://id.gs1.org/414/" + siteGLN + "/254/LINE-1": packs, "https://id.gs1.org/414/" + siteGLN + "/254/LINE-2": packs,
		"https://id.gs1.org/414/" + siteGLN + "/254/LINE-3": packs}, perLine)
	assert.Zero(t, epcisCollisions)
	t.Logf("site: %d SSCCs and %d serials at the EPCIS repository, collisions %d", len(packedAt), len(commissionedAt), epcisCollisions)
}

// siteGLN is the site's GLN in the site test.
const siteGLN = "9506000000008"

// refOf is an SSCC's serial reference after the site's company prefix.
func refOf(t *testing.T, sscc string) int64 {
	require.Len(t, sscc, 18)
	require.True(t, strings.HasPrefix(sscc, "1"+prefix), sscc)
	var n int64
	_, err := fmt.Sscan(strings.TrimLeft(sscc[1+len(prefix):17], "0"), &n)
	require.NoError(t, err)
	return n
}

// The agent refuses to start with ranges or a serial prefix that leave out
// what the line has used, and names the setting; given back what it had,
// it starts.
func TestStartRefusesRangesThatLeaveOutWhatTheLineUsed(t *testing.T) {
	sim, err := printersim.Start(printersim.Config{Listen: "127.0.0.1:0"}, zerolog.Nop())
	require.NoError(t, err)
	defer sim.Close()
	cfg := Config{
		DB:        store.Config{Path: filepath.Join(t.TempDir(), "data", "edgeagent.db")},
		LineName:  "line-2",
		Templates: zpl.Builtin(),
		Printers:  []PrinterConfig{{Tag: "p", URL: sim.URL()}},
		Products:  []Product{{GTIN: gtin, Market: "EU", Batches: map[string]string{"AB12": "261231"}}},
		Serials:   ledger.SerialConfig{Generate: true, Length: 10, Prefix: "L2"},
		SSCC:      containers.SSCCConfig{CompanyPrefix: prefix, Extension: 1, Ranges: []containers.Range{{From: 1001, To: 2000}}},
		Stations:  []StationConfig{{StationConfig: stations.StationConfig{Name: "case"}}},
	}
	ctx := context.Background()
	a, err := Start(ctx, cfg, zerolog.Nop())
	require.NoError(t, err)
	q := 3
	_, err = a.Line.Orders.CreatePackagingOrder(ctx, "erp", v2.PackagingOrder{OrderID: "PO-1", ProductCode: gtin, ProductCodeSchema: "GTIN",
		Batch: "AB12", ExpiryDate: "261231", Quantity: &q})
	require.NoError(t, err)
	require.NoError(t, a.Line.Orders.CreateLabelOrder(ctx, "erp", v2.LabelOrder{OrderID: "LO-1", ProductCode: gtin, ProductCodeSchema: "GTIN",
		Batch: "AB12", Quantity: &q, DestinationTag: "p", TemplateTag: "pack", Execute: true}))
	st, _ := a.Line.Stations.Get("case")
	for i := 0; i < 2; i++ {
		v, err := st.Handle(ctx, cmd(stations.CmdNew))
		require.NoError(t, err)
		require.Equal(t, "opened", v.Code, v.Message)
		_, err = st.Handle(ctx, cmd(stations.CmdCancel))
		require.NoError(t, err)
	}
	require.NoError(t, a.Stop(ctx))

	moved := cfg
	moved.SSCC.Ranges = []containers.Range{{From: 5001, To: 6000}}
	moved.Serials.Prefix = "L5"
	_, err = Start(ctx, moved, zerolog.Nop())
	require.Error(t, err)
	assert.Equal(t, "line.sscc.ranges: this line has allocated 2 SSCCs with serial references 1001 to 1002, outside its ranges (5001 to 6000): "+
		"keep the range they came from in the list (a range that is used up is skipped), so that no other line is given them\n"+
		`line.serials.prefix: this line has generated serials beginning with "L2": keep line.serials.prefix: "L2", `+
		`since the prefix "L2" it would leave could be given to another line, which would make the same serials again`, err.Error())

	below := cfg
	below.SSCC.Ranges = []containers.Range{{From: 1, To: 500}, {From: 1001, To: 2000}}
	_, err = Start(ctx, below, zerolog.Nop())
	require.ErrorContains(t, err, "line.sscc.ranges[0]: 1 to 500 starts below 1002, the last serial reference this line used")

	// The used range kept, a new one after it: the line goes on from the
	// old one.
	kept := cfg
	kept.SSCC.Ranges = []containers.Range{{From: 1001, To: 2000}, {From: 5001, To: 6000}}
	a, err = Start(ctx, kept, zerolog.Nop())
	require.NoError(t, err, "the lock and the database were released by the refused starts")
	defer a.Stop(ctx)
	st, _ = a.Line.Stations.Get("case")
	v, err := st.Handle(ctx, cmd(stations.CmdNew))
	require.NoError(t, err)
	want, _ := gs1.SSCC(1, prefix, 1003)
	assert.Equal(t, want, v.Container)
}
