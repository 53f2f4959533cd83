package cloudsync

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/cloud"
	"github.com/edgeagent/edgeagent/internal/cloud/cloudsim"
	"github.com/edgeagent/edgeagent/internal/facts"
	"github.com/edgeagent/edgeagent/internal/queue"
	"github.com/edgeagent/edgeagent/internal/store"
)

// dropper serves the emulator, but the first drops requests to an endpoint
// path are applied and then answered by a dropped connection: the client
// hears nothing, as when a link fails after the request went out.
type dropper struct {
	sim   http.Handler
	path  string
	drops atomic.Int32
}

func (d *dropper) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == d.path && d.drops.Add(-1) >= 0 {
		d.sim.ServeHTTP(httptest.NewRecorder(), r) // applied…
		if c, _, err := w.(http.Hijacker).Hijack(); err == nil {
			c.Close() // …and never answered
			return
		}
	}
	d.sim.ServeHTTP(w, r)
}

// dropCloud starts the emulator behind a dropper for path, on a listener
// handed to the server, and returns a client of it.
func dropCloud(t *testing.T, path string, drops int) (*cloudsim.Sim, *cloud.Client) {
	t.Helper()
	sim := cloudsim.New(cloudsim.Config{Seed: cloudsim.DefaultSeed(), Log: zerolog.Nop()})
	d := &dropper{sim: sim.Handler(), path: path}
	d.drops.Store(int32(drops))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{Handler: d}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	c, err := cloud.New(cloud.Config{BaseURL: "http://" + ln.Addr().String(), ChannelKey: "demo-channel", Token: "demo-static-token", Timeout: 5 * time.Second})
	require.NoError(t, err)
	return sim, c
}

const commissionPath = "/v1/manufacturer/v2/api/serials/commission"

// drain queues items, runs a dispatcher until none is pending and returns
// the outbox records.
func drain(t *testing.T, s *Sender, items []queue.Item, batch int) []queue.Record {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, store.Config{Path: filepath.Join(t.TempDir(), "data", "q.db")}, zerolog.Nop())
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	require.NoError(t, db.Write(ctx, func(tx *sql.Tx) error {
		_, err := queue.New(db).EnqueueMany(tx, items)
		return err
	}))
	d := queue.NewDispatcher(db, s, queue.Config{DefaultBatch: batch, BaseBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond,
		Poll: 5 * time.Millisecond}, zerolog.Nop())
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { d.Run(runCtx); close(done) }()
	defer func() { stop(); <-done }()
	require.Eventually(t, func() bool {
		st, err := queue.ReadStats(ctx, db)
		return err == nil && st.Pending == 0
	}, 30*time.Second, 5*time.Millisecond)
	recs, err := queue.List(ctx, db, "", 0, false)
	require.NoError(t, err)
	return recs
}

// commissionsSent counts the commission requests the emulator received,
// and how many times each serial was applied.
func commissionsSent(t *testing.T, sim *cloudsim.Sim) (requests int, applied map[string]int) {
	applied = map[string]int{}
	for _, r := range sim.Received() {
		if r.Endpoint != "commission" {
			continue
		}
		requests++
		if r.Status == http.StatusOK {
			var c cloud.Commission
			require.NoError(t, json.Unmarshal(r.Body, &c))
			for _, sn := range c.Serials {
				applied[sn]++
			}
		}
	}
	return requests, applied
}

func serialItems(n int, stream string) []queue.Item {
	items := make([]queue.Item, n)
	for i := range items {
		items[i] = facts.CommissionItem(stream, facts.SerialFact{ProductCode: gtin, Batch: "AB12", ExpiryDate: "261231", Serial: fmt.Sprintf("AMB%05d", i)})
	}
	return items
}

// A batch of 500 commissions whose answer was lost is settled in a few
// requests, not one per serial: the cloud's "already Commissioned" lists
// every serial of the request it refused, and all of them are delivered at
// once.
func TestAmbiguousBatchSettledInFewRequests(t *testing.T) {
	const n = 500
	bound := int(2*math.Log2(n) + 4)
	for _, tc := range []struct {
		name     string
		drops    int // answers lost, the first one after the emulator applied the batch
		before   int // serials of the batch the cloud has already
		requests int
	}{
		{"applied, answer lost", 1, 0, 2},                // the batch; sent again at once: 409 names all 500
		{"applied, answer lost twice", 2, 0, 3},          // the 409 is lost too: the queue's backoff, then 409 names all
		{"half of the batch known already", 0, n / 2, 2}, // 409 names the 250; the other 250 go again and are taken
	} {
		t.Run(tc.name, func(t *testing.T) {
			sim, c := dropCloud(t, commissionPath, tc.drops)
			items := serialItems(n, "PO-1")
			if tc.before > 0 {
				var serials []string
				for i := 0; i < tc.before; i++ {
					serials = append(serials, fmt.Sprintf("AMB%05d", 2*i)) // every other one
				}
				_, err := c.Commission(context.Background(), cloud.Commission{ProductCode: gtin, ProductCodeSchema: "GTIN", Batch: "AB12", ExpiryDate: "261231", Serials: serials})
				require.NoError(t, err)
			}
			recs := drain(t, &Sender{Client: c}, items, n)
			requests, applied := commissionsSent(t, sim)
			if tc.before > 0 {
				requests-- // the setup's own
			}
			t.Logf("%d-serial batch: %d commission requests (bound %d)", n, requests, bound)
			assert.LessOrEqual(t, requests, bound)
			assert.Equal(t, tc.requests, requests)
			for _, r := range recs {
				require.Equal(t, queue.StateDelivered, r.State, r.Key)
			}
			assert.Len(t, applied, n, "every serial reached the cloud")
			for sn, k := range applied {
				require.Equal(t, 1, k, "%s applied once", sn)
			}
		})
	}
}

// A refusal about one serial parks that serial with the cloud's words;
// the rest of its batch is delivered.
func TestSerialRefusalsParkOnlyTheirSerial(t *testing.T) {
	sim, c := dropCloud(t, "", 0)
	ctx := context.Background()
	_, err := c.Commission(ctx, cloud.Commission{ProductCode: gtin, ProductCodeSchema: "GTIN", Batch: "AB12",
		Serials: []string{"D1", "D2", "D3", "D4", "GONE"}})
	require.NoError(t, err)
	_, err = c.Aggregate(ctx, cloud.Aggregation{Parent: "095060001343521236", ChildTradeItems: []cloud.TradeItem{{ProductCode: gtin, ProductCodeSchema: "GTIN", SerialNumber: "D2"}}})
	require.NoError(t, err)
	_, err = c.Decommission(ctx, cloud.Decommission{ProductCode: gtin, ProductCodeSchema: "GTIN", Reason: "destroy", SendToMarket: new(bool), Serials: []string{"GONE"}})
	require.NoError(t, err)

	dec := func(sn string) queue.Item {
		return facts.DecommissionItem("PO-1", facts.SerialFact{ProductCode: gtin, Serial: sn, Reason: "sample"})
	}
	com := func(sn string) queue.Item {
		return facts.CommissionItem("PO-2", facts.SerialFact{ProductCode: gtin, Batch: "AB12", Serial: sn})
	}
	recs := drain(t, &Sender{Client: c}, []queue.Item{dec("D1"), dec("D2"), dec("NEVER"), dec("D3"), dec("D4"), com("N1"), com("GONE"), com("N2")}, 100)
	got := map[string]string{}
	for _, r := range recs {
		got[r.Kind+" "+r.Key] = r.State + " " + r.LastError
	}
	assert.Equal(t, map[string]string{
		"decommission " + gtin + "/D1":    "delivered ",
		"decommission " + gtin + "/D2":    "parked cloud decommission: Serial D2 is aggregated in 095060001343521236: disaggregate it first",
		"decommission " + gtin + "/NEVER": "parked cloud decommission: Serial NEVER not found",
		"decommission " + gtin + "/D3":    "delivered ",
		"decommission " + gtin + "/D4":    "delivered ",
		"commission " + gtin + "/N1":      "delivered ",
		"commission " + gtin + "/GONE":    "parked cloud commission: Serial GONE is already Decommissioned",
		"commission " + gtin + "/N2":      "delivered ",
	}, got)
	for _, sn := range []string{"D1", "D3", "D4"} {
		st, _ := sim.SerialStatus(gtin, sn)
		assert.Equal(t, "Decommissioned", st, sn)
	}
	st, _ := sim.SerialStatus(gtin, "D2")
	assert.Equal(t, "Commissioned", st, "refused, and parked for a person")
}

// An aggregation is decided per child: a child already in the container is
// done and left out, the rest is sent again; a child in another container
// is a refusal.
func TestAggregationDecidesPerChild(t *testing.T) {
	const case1, case2, case3 = "095060001343521236", "095060001343521243", "095060001343521250"
	pack := func(sn string) cloud.TradeItem {
		return cloud.TradeItem{ProductCode: gtin, ProductCodeSchema: "GTIN", SerialNumber: sn}
	}
	agg := func(parent string, sns ...string) cloud.Aggregation {
		a := cloud.Aggregation{Parent: parent}
		for _, sn := range sns {
			a.ChildTradeItems = append(a.ChildTradeItems, pack(sn))
		}
		return a
	}
	ctx := context.Background()
	t.Run("some children already in the container", func(t *testing.T) {
		sim, c := dropCloud(t, "", 0)
		_, err := c.Commission(ctx, cloud.Commission{ProductCode: gtin, ProductCodeSchema: "GTIN", Serials: []string{"P1", "P2", "P3"}})
		require.NoError(t, err)
		_, err = c.Aggregate(ctx, agg(case1, "P1"))
		require.NoError(t, err)
		out := (&Sender{Client: c}).Send(ctx, facts.KindAggregate, pending(facts.ContainerAggregate(agg(case1, "P1", "P2", "P3"), 1, nil)))
		assert.Equal(t, []queue.Outcome{{Delivered: true}}, out)
		for _, sn := range []string{"P1", "P2", "P3"} {
			_, parent := sim.SerialStatus(gtin, sn)
			assert.Equal(t, case1, parent, "%s is in the container: P2 and P3 were sent again without P1", sn)
		}
	})
	t.Run("a child in another container", func(t *testing.T) {
		sim, c := dropCloud(t, "", 0)
		_, err := c.Commission(ctx, cloud.Commission{ProductCode: gtin, ProductCodeSchema: "GTIN", Serials: []string{"P1", "P2"}})
		require.NoError(t, err)
		_, err = c.Aggregate(ctx, agg(case3, "P2"))
		require.NoError(t, err)
		out := (&Sender{Client: c}).Send(ctx, facts.KindAggregate, pending(facts.ContainerAggregate(agg(case2, "P1", "P2"), 1, nil)))
		require.NotNil(t, out[0].Failure)
		assert.Equal(t, queue.Permanent, out[0].Failure.Class)
		assert.Equal(t, "cloud aggregate "+case2+": Serial P2 is already aggregated in "+case3, out[0].Failure.Message)
		_, parent := sim.SerialStatus(gtin, "P1")
		assert.Empty(t, parent, "nothing is put in a container the cloud refused")
	})
	t.Run("applied, answer lost", func(t *testing.T) {
		sim, c := dropCloud(t, "/v1/manufacturer/v2/api/aggregate/container", 1)
		_, err := c.Commission(ctx, cloud.Commission{ProductCode: gtin, ProductCodeSchema: "GTIN", Serials: []string{"P1", "P2"}})
		require.NoError(t, err)
		out := (&Sender{Client: c}).Send(ctx, facts.KindAggregate, pending(facts.ContainerAggregate(agg(case1, "P1", "P2"), 1, nil)))
		assert.Equal(t, []queue.Outcome{{Delivered: true}}, out)
		assert.Equal(t, 1+2, sim.Snapshot().Requests["aggregate"], "the lost one, then one per child found in the container")
	})
	t.Run("a big container applied, then a faulty cloud", func(t *testing.T) {
		// Forty children already in the container, and half the requests
		// failing: each attempt keeps what the ones before it learned, so
		// the item settles in about twice forty requests. Starting from the
		// whole list each time, it would need forty answers in a row
		// without a fault, and never settle.
		sim, c := dropCloud(t, "", 0)
		var sns []string
		for i := range 40 {
			sns = append(sns, fmt.Sprintf("B%02d", i))
		}
		_, err := c.Commission(ctx, cloud.Commission{ProductCode: gtin, ProductCodeSchema: "GTIN", Serials: sns})
		require.NoError(t, err)
		_, err = c.Aggregate(ctx, agg(case1, sns...))
		require.NoError(t, err)
		sim.SetFaults(cloudsim.Faults{ErrorRate: map[string]float64{"aggregate": 0.5}, Seed: 7})
		s := &Sender{Client: c}
		items := pending(facts.ContainerAggregate(agg(case1, sns...), 1, nil))
		attempts := 0
		for ; attempts < 400; attempts++ {
			out := s.Send(ctx, facts.KindAggregate, items)
			if out[0].Delivered {
				break
			}
			require.NotNil(t, out[0].Failure)
			require.Equal(t, queue.Temporary, out[0].Failure.Class, out[0].Failure.Message)
		}
		require.Less(t, attempts, 400, "the item settles")
		assert.Less(t, sim.Snapshot().Requests["aggregate"], 1+300, "each child is asked about until answered, not the whole list each time")
		s.settled.mu.Lock()
		assert.Empty(t, s.settled.m, "nothing is remembered for a settled item")
		s.settled.mu.Unlock()
	})
	t.Run("children taken out already", func(t *testing.T) {
		sim, c := dropCloud(t, "", 0)
		_, err := c.Commission(ctx, cloud.Commission{ProductCode: gtin, ProductCodeSchema: "GTIN", Serials: []string{"P1", "P2"}})
		require.NoError(t, err)
		_, err = c.Aggregate(ctx, agg(case1, "P1", "P2"))
		require.NoError(t, err)
		_, err = c.Disaggregate(ctx, agg(case1, "P1"))
		require.NoError(t, err)
		out := (&Sender{Client: c}).Send(ctx, facts.KindDisaggregate, pending(facts.ContainerDisaggregate(agg(case1, "P1", "P2"), 1, "rework-1")))
		assert.Equal(t, []queue.Outcome{{Delivered: true}}, out)
		_, parent := sim.SerialStatus(gtin, "P2")
		assert.Empty(t, parent, "P2 was taken out too, not only counted")
	})
}

// pending turns items into what the dispatcher hands the sender.
func pending(items ...queue.Item) []queue.Pending {
	out := make([]queue.Pending, len(items))
	for i, it := range items {
		out[i] = queue.Pending{ID: int64(i + 1), Kind: it.Kind, Stream: it.Stream, Key: it.Key, Payload: it.Payload}
	}
	return out
}

// How a failure of a whole request maps to the queue's policy.
func TestClassification(t *testing.T) {
	for _, tc := range []struct {
		name  string
		err   error
		class queue.Class
		after time.Duration
	}{
		{"token refused", &cloud.Error{Status: 401, Code: cloud.CodeBadToken, Message: cloud.MsgBadToken}, queue.Auth, 0},
		{"no token", &cloud.Error{Status: 401, Code: cloud.CodeNoToken, Message: cloud.MsgNoToken}, queue.Auth, 0},
		{"channel key", &cloud.Error{Status: 400, Message: cloud.MsgChannel}, queue.Auth, 0},
		{"throttled", &cloud.Error{Status: 429, Retryable: true, RetryAfter: 30 * time.Second}, queue.Temporary, 30 * time.Second},
		{"service down", &cloud.Error{Status: 503, Retryable: true}, queue.Temporary, 0},
		{"no connection", &cloud.Error{Retryable: true, Err: errors.New("dial tcp: connection refused")}, queue.Temporary, 0},
		{"stopping", fmt.Errorf("send: %w", context.Canceled), queue.Again, 0},
		{"field rule", &cloud.FieldError{Field: "batch", Rule: "1-20 characters"}, queue.Permanent, 0},
		{"validation", &cloud.Error{Status: 400, Code: cloud.TypeValidation, Message: "ValidationError: batch"}, queue.Permanent, 0},
		{"unknown product", &cloud.Error{Status: 404, Code: cloud.TypeProduct}, queue.Permanent, 0},
	} {
		f := classify(tc.err)
		assert.Equal(t, tc.class, f.Class, tc.name)
		assert.Equal(t, tc.after, f.RetryAfter, tc.name)
	}
	assert.Equal(t, queue.Outcome{Delivered: true}, order(&cloud.Error{Status: 409, Message: cloud.MsgLabelOrderExists,
		Answer: &cloud.NamedError{Err: cloud.ErrExists, What: "Label order"}}), "an order that exists is delivered")
}
