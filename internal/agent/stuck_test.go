package agent

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/ledger"
	"github.com/edgeagent/edgeagent/internal/printer/printersim"
	"github.com/edgeagent/edgeagent/internal/store"
)

// The scenarios in this file are work that used to wait for a restart:
// each must finish by itself, over real sockets.

func labelOrder(id string, qty int) string {
	return fmt.Sprintf(`{"order_id":%q,"product_code":"09506000134352","product_code_schema":"GTIN","batch":"AB12",
		"quantity":%d,"destination_tag":"line-1-printer","template_tag":"pack","execute":true}`, id, qty)
}

// labelsIn counts the ledger's labels by state.
func labelsIn(t *testing.T, a *Agent) map[ledger.LabelState]int {
	c, err := a.Line.Ledger.LabelCounts(context.Background())
	require.NoError(t, err)
	return c
}

// More orders than a printer's old job queue held (64) are all accepted
// and printed, in the order they were accepted.
func TestQueueFullNeverFailsACommittedOrder(t *testing.T) {
	r := start(t, printersim.Config{}, "", false)
	for i := 0; i < 100; i++ {
		code, body := post(t, r.url, "/v1/manufacturer/v2/api/label_orders", labelOrder(fmt.Sprintf("LO-%03d", i), 1))
		require.Equal(t, 200, code, "order %d: %v", i, body)
	}
	require.Eventually(t, func() bool { return labelsIn(t, r.agent)[ledger.LabelPrinted] == 100 }, 30*time.Second, 20*time.Millisecond)
	got := printedSerials(t, r.sim)
	require.Len(t, got, 100)
	rows, err := r.agent.DB.Reader().Query(`SELECT serial FROM labels WHERE kind = 'pack' ORDER BY id`)
	require.NoError(t, err)
	defer rows.Close()
	var want []string
	for rows.Next() {
		var s string
		require.NoError(t, rows.Scan(&s))
		want = append(want, s)
	}
	assert.Equal(t, want, got, "printed once each, in the order the orders were accepted")
}

// A printer taken out of ZPL mode stops the queue without losing it; put
// back, it prints every label once, in order, with no restart.
func TestZPLModeLostAndRegained(t *testing.T) {
	r := start(t, printersim.Config{Language: "EPL"}, "", false)
	code, body := post(t, r.url, "/v1/manufacturer/v2/api/label_orders", labelOrder("LO-EPL", 5))
	require.Equal(t, 200, code, "%v", body)
	require.Eventually(t, func() bool { return r.agent.Printers["line-1-printer"].Snapshot().State == "error" }, 10*time.Second, 10*time.Millisecond)
	time.Sleep(200 * time.Millisecond)
	assert.Empty(t, r.sim.Printed(), "nothing is sent to a printer that does not speak ZPL")
	assert.Equal(t, 5, labelsIn(t, r.agent)[ledger.LabelQueued])
	r.sim.SetLanguage("ZPL")
	r.sim.Disconnect()
	require.Eventually(t, func() bool { return labelsIn(t, r.agent)[ledger.LabelPrinted] == 5 }, 30*time.Second, 20*time.Millisecond)
	assert.Len(t, printedSerials(t, r.sim), 5)
	assert.Zero(t, labelsIn(t, r.agent)[ledger.LabelUnknown])
}

// A clean stop waits for the label on its way to be confirmed: after a
// stop in the middle of an order, no label is unknown.
func TestCleanStopMidLabelLeavesNoneUnknown(t *testing.T) {
	r := start(t, printersim.Config{Speed: 10}, "", false, func(c *Config) { c.StopTimeout = 5 * time.Second })
	code, body := post(t, r.url, "/v1/manufacturer/v2/api/label_orders", labelOrder("LO-STOP", 20))
	require.Equal(t, 200, code, "%v", body)
	require.Eventually(t, func() bool { return labelsIn(t, r.agent)[ledger.LabelPrinted] >= 3 }, 10*time.Second, 5*time.Millisecond)
	path := r.agent.DB.Path()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, r.agent.Stop(ctx))

	db, err := store.OpenReadOnly(context.Background(), store.Config{Path: path}, zerolog.Nop())
	require.NoError(t, err)
	defer db.Close()
	counts := map[string]int{}
	rows, err := db.Reader().Query(`SELECT state, COUNT(*) FROM labels GROUP BY state`)
	require.NoError(t, err)
	for rows.Next() {
		var s string
		var n int
		require.NoError(t, rows.Scan(&s, &n))
		counts[s] = n
	}
	rows.Close()
	assert.Zero(t, counts["unknown"], "%v", counts)
	assert.Zero(t, counts["printing"], "%v", counts)
	assert.Equal(t, 20, counts["printed"]+counts["queued"], "%v", counts)
	assert.Equal(t, len(r.sim.Printed()), counts["printed"], "the ledger knows exactly what the printer printed")
}

// A second agent on the same data directory exits at once, naming the
// running one; the first goes on.
func TestSecondAgentIsRefused(t *testing.T) {
	r := start(t, printersim.Config{}, "", false)
	cfg := Config{DB: store.Config{Path: r.agent.DB.Path()}, Listen: "127.0.0.1:0"}
	_, err := Start(context.Background(), cfg, zerolog.Nop())
	var locked *store.LockedError
	require.True(t, errors.As(err, &locked), "%v", err)
	assert.Equal(t, os.Getpid(), locked.PID)
	assert.Contains(t, err.Error(), fmt.Sprintf("pid %d", os.Getpid()))
	code, _ := post(t, r.url, "/v1/manufacturer/v2/api/label_orders", labelOrder("LO-1", 2))
	require.Equal(t, 200, code)
	require.Eventually(t, func() bool { return labelsIn(t, r.agent)[ledger.LabelPrinted] == 2 }, 10*time.Second, 10*time.Millisecond)
	_ = filepath.Dir
}

// The cloud's acceptance of a commission flows back: the serial becomes
// commissioned.
func TestDeliveredCommissionIsCommissioned(t *testing.T) {
	r := start(t, printersim.Config{}, "", true)
	code, body := post(t, r.url, "/v1/manufacturer/v2/api/label_orders", labelOrder("LO-C", 4))
	require.Equal(t, 200, code, "%v", body)
	require.Eventually(t, func() bool {
		var n int
		require.NoError(t, r.agent.DB.Reader().QueryRow(`SELECT COUNT(*) FROM serials WHERE state = 'commissioned'`).Scan(&n))
		return n == 4
	}, 20*time.Second, 20*time.Millisecond)
	var printed int
	require.NoError(t, r.agent.DB.Reader().QueryRow(`SELECT COUNT(*) FROM serials WHERE state = 'printed'`).Scan(&printed))
	assert.Zero(t, printed)
	_ = sql.ErrNoRows
}

// An order of 100,000 labels is answered after its first step, and no
// step holds the writer long: other writes go on meanwhile.
func TestHundredThousandLabelsDoNotHoldTheWriter(t *testing.T) {
	if testing.Short() {
		t.Skip("100,000 labels: not in -short")
	}
	r := start(t, printersim.Config{Language: "EPL"}, "", false) // nothing prints: the release is what is measured
	start := time.Now()
	code, body := post(t, r.url, "/v1/manufacturer/v2/api/label_orders", labelOrder("LO-100K", 100000))
	require.Equal(t, 200, code, "%v", body)
	answered := time.Since(start)
	assert.Less(t, answered, 5*time.Second, "the client has its answer long before a client's timeout")
	var worst time.Duration
	for labelsIn(t, r.agent)[ledger.LabelQueued] < 100000 {
		t0 := time.Now()
		require.NoError(t, r.agent.DB.Write(context.Background(), func(tx *sql.Tx) error {
			_, err := tx.Exec(`INSERT INTO meta (key, value) VALUES ('probe', '1') ON CONFLICT (key) DO UPDATE SET value = excluded.value`)
			return err
		}))
		worst = max(worst, time.Since(t0))
		require.Less(t, time.Since(start), 2*time.Minute, "the release goes on by itself")
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("answered in %s; 100,000 labels queued in %s; slowest other write meanwhile %s", answered, time.Since(start), worst)
	assert.Less(t, worst, time.Second, "a step holds the writer for a moment only")
	code, body = post(t, r.url, "/v1/manufacturer/v2/api/label_orders", labelOrder("LO-100K-1", 100001))
	assert.Equal(t, 400, code, "%v", body)
}
