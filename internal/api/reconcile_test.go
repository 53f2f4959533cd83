package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/label"
	"github.com/edgeagent/edgeagent/internal/ledger"
	"github.com/edgeagent/edgeagent/internal/orders"
	"github.com/edgeagent/edgeagent/internal/store"
	v2 "github.com/edgeagent/edgeagent/internal/v2"
)

// reconcileServer is a line whose printer p1 the test drives itself (no
// fake printer takes its labels), with an odometer.
func reconcileServer(t *testing.T) (*Server, *Line, *ledger.Odometers) {
	db, err := store.Open(context.Background(), store.Config{Path: filepath.Join(t.TempDir(), "data", "a.db")}, zerolog.Nop())
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	l := testLine(t, db, ledger.SerialConfig{Generate: true}, orders.Extra{}, "p1")
	require.NoError(t, l.Ledger.AddProduct(context.Background(), "09506000134352", "EU", map[string]string{"AB12": "261231"}))
	s, err := New(Config{Listen: "127.0.0.1:0", Line: l, ServiceToken: serviceToken, People: testPeople(t, db), DB: db}, zerolog.Nop())
	require.NoError(t, err)
	require.NoError(t, checked(t, s).Start())
	t.Cleanup(func() { s.Shutdown(context.Background()) })
	return s, l, l.Ledger.TrackOdometers()
}

// printNext takes p1's next label through a printer whose odometer stands
// at *odo: confirmed (printed), or lost on the way (unknown).
func printNext(t *testing.T, l *Line, odo *ledger.Odometers, count *int64, confirmed bool) label.Label {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	lb, err := l.Ledger.Next(ctx, "p1")
	require.NoError(t, err)
	odo.Saw("p1", *count)
	require.NoError(t, l.Ledger.Printing(ctx, "p1", lb.Ref))
	*count++
	if !confirmed {
		require.NoError(t, l.Ledger.Unknown(ctx, "p1", lb.Ref, "connection lost"))
		return lb
	}
	odo.Saw("p1", *count)
	require.NoError(t, l.Ledger.Printed(ctx, "p1", lb.Ref))
	return lb
}

func createOrder(t *testing.T, l *Line, id string, qty int, execute bool) {
	t.Helper()
	require.NoError(t, l.Orders.CreateLabelOrder(context.Background(), "erp", v2.LabelOrder{OrderID: id, ProductCode: "09506000134352",
		ProductCodeSchema: "GTIN", Batch: "AB12", Quantity: &qty, DestinationTag: "p1", TemplateTag: "pack", Execute: execute}))
}

// closeAnswer is POST …/close's answer, with the report's bytes as sent.
type closeAnswer struct {
	OK             bool `json:"ok"`
	Reconciliation struct {
		Report     json.RawMessage `json:"report"`
		SHA256     string          `json:"sha256"`
		AuditEntry int64           `json:"audit_entry"`
	} `json:"reconciliation"`
}

func TestCloseFromTheDashboardNeedsASignatureAndShowsTheReport(t *testing.T) {
	s, l, odo := reconcileServer(t)
	createOrder(t, l, "LO-1", 3, true)
	count := int64(500)
	printNext(t, l, odo, &count, true)
	lost := printNext(t, l, odo, &count, false)
	printNext(t, l, odo, &count, true)

	ana, oli := login(t, s, "ana", supervisorPW), login(t, s, "oli", operatorPW)
	sig := `"signature":{"password":"` + supervisorPW + `","meaning":"approved"}`
	code, body := oli.post("/api/v1/label-orders/LO-1/close", `{"reason":"done",`+strings.Replace(sig, supervisorPW, operatorPW, 1)+`}`, oli.csrf)
	assert.Equal(t, 403, code, "an operator does not close orders: %s", body)
	code, body = ana.post("/api/v1/label-orders/LO-1/close", `{"reason":"done"}`, ana.csrf)
	assert.Equal(t, 400, code, body)
	assert.Contains(t, body, "needs your electronic signature")
	code, body = ana.post("/api/v1/label-orders/LO-1/close", `{"reason":"done","signature":{"password":"not my password","meaning":"approved"}}`, ana.csrf)
	assert.Equal(t, 401, code, body)
	code, body = ana.post("/api/v1/label-orders/LO-1/close", `{`+sig+`}`, ana.csrf)
	assert.Equal(t, 400, code, body)
	assert.Contains(t, body, "reason: closing a label order needs a reason")

	// Refused while a label is unknown, naming it.
	code, body = ana.post("/api/v1/label-orders/LO-1/close", `{"reason":"done",`+sig+`}`, ana.csrf)
	require.Equal(t, 409, code, body)
	assert.Contains(t, body, fmt.Sprintf("label %d (serial %s, unknown)", lost.ID, lost.Subject))
	code, body = ana.get("/api/v1/label-orders/LO-1/reconciliation")
	assert.Equal(t, 404, code, body)
	assert.Contains(t, body, "not closed")

	// Resolved (it came out), the order closes.
	code, body = ana.post(fmt.Sprintf("/api/v1/labels/%d/resolve", lost.ID), `{"printed":true,"reason":"on the pack",`+sig+`}`, ana.csrf)
	require.Equal(t, 200, code, body)
	code, body = ana.post("/api/v1/label-orders/LO-1/close", `{"reason":"batch AB12 finished",`+sig+`}`, ana.csrf)
	require.Equal(t, 200, code, body)
	var ans closeAnswer
	require.NoError(t, json.Unmarshal([]byte(body), &ans))
	sum := sha256.Sum256(ans.Reconciliation.Report)
	assert.Equal(t, hex.EncodeToString(sum[:]), ans.Reconciliation.SHA256, "the hash is of the report's bytes as answered")
	var rep orders.Reconciliation
	require.NoError(t, json.Unmarshal(ans.Reconciliation.Report, &rep))
	assert.Equal(t, "user:ana", rep.ClosedBy)
	assert.Equal(t, "approved", rep.Meaning)
	assert.Equal(t, orders.LabelFigures{Planned: 3, Allocated: 3, Printed: 3}, rep.Labels)
	assert.Equal(t, 3, rep.Serials.Waiting, "no cloud here: every commission waits")
	assert.Equal(t, int64(3), *rep.Odometer.Travel)
	assert.True(t, rep.Balanced)

	code, body = ana.post("/api/v1/label-orders/LO-1/close", `{"reason":"again",`+sig+`}`, ana.csrf)
	assert.Equal(t, 409, code, body)
	assert.Contains(t, body, "closed already")

	// The same record as JSON, and as a page that prints.
	code, body = oli.get("/api/v1/label-orders/LO-1/reconciliation")
	require.Equal(t, 200, code, body)
	var kept closeAnswer
	require.NoError(t, json.Unmarshal([]byte(`{"reconciliation":`+body+`}`), &kept))
	assert.Equal(t, ans.Reconciliation, kept.Reconciliation)
	code, page := oli.get("/orders/LO-1/reconciliation")
	require.Equal(t, 200, code, page)
	for _, want := range []string{"Reconciliation of label order LO-1", "Every serial is accounted for", `id="closed-by">user:ana</dd>`,
		"batch AB12 finished", ans.Reconciliation.SHA256, `<tr><th>Travel</th><td>3</td></tr>`, `data-check="odometer"`, "data-print"} {
		assert.Contains(t, page, want)
	}
	_, css := oli.get("/static/style.css")
	assert.Contains(t, css, "@page { size: A4")
	assert.Contains(t, css, "@media print")
	_, orderPage := oli.get("/orders")
	assert.Contains(t, orderPage, `href="/orders/LO-1/reconciliation"`)
	_, audit := oli.get("/audit?action=label_order.close")
	assert.Contains(t, audit, "reconciliation sha256:"+ans.Reconciliation.SHA256)
	assert.Contains(t, audit, "approved")

	code, _ = oli.get("/orders/LO-9/reconciliation")
	assert.Equal(t, 404, code)
	code, body = oli.get("/api/v1/label-orders/LO-9/reconciliation")
	assert.Equal(t, 404, code, body)
	assert.Contains(t, body, `label order \"LO-9\"`)
}

// The command line beside the agent closes with the service token and a
// supervisor's signature (signature.user): a close is signed by a person
// whichever way it comes, and recorded as theirs.
func TestCloseWithTheServiceToken(t *testing.T) {
	s, l, odo := reconcileServer(t)
	createOrder(t, l, "LO-2", 7, true)
	createOrder(t, l, "LO-3", 1, false)
	post := func(path, body string) (int, string) {
		req, _ := http.NewRequest("POST", "http://"+s.Addr()+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+serviceToken)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := post("/api/v1/label-orders/LO-2/close", `{"reason":"short run"}`)
	require.Equal(t, 400, code, body)
	assert.Contains(t, body, "needs a person's electronic signature")
	code, body = post("/api/v1/label-orders/LO-2/close", `{"reason":"short run","signature":{"user":"oli","password":"`+operatorPW+`","meaning":"approved"}}`)
	require.Equal(t, 403, code, body)
	assert.Contains(t, body, "oli is an operator; this act needs a supervisor's signature")
	code, body = post("/api/v1/label-orders/LO-2/close", `{"reason":"short run","signature":{"user":"ana","password":"wrong","meaning":"approved"}}`)
	require.Equal(t, 401, code, body)
	sig := `"signature":{"user":"ana","password":"` + supervisorPW + `","meaning":"approved"}`
	code, body = post("/api/v1/label-orders/LO-2/close", `{"reason":"short run",`+sig+`}`)
	require.Equal(t, 409, code, body)
	assert.Contains(t, body, "7 queued")
	assert.Contains(t, body, "and 2 more", "the first five are named")
	count := int64(0)
	for i := 0; i < 7; i++ {
		printNext(t, l, odo, &count, true)
	}
	code, body = post("/api/v1/label-orders/LO-2/close", `{"reason":"short run",`+sig+`}`)
	require.Equal(t, 200, code, body)
	var ans closeAnswer
	require.NoError(t, json.Unmarshal([]byte(body), &ans))
	var rep orders.Reconciliation
	require.NoError(t, json.Unmarshal(ans.Reconciliation.Report, &rep))
	assert.Equal(t, "user:ana", rep.ClosedBy)
	assert.Equal(t, "approved", rep.Meaning)
	// An order never released closes with nothing to account for.
	code, body = post("/api/v1/label-orders/LO-3/close", `{"reason":"cancelled by planning",`+sig+`}`)
	require.Equal(t, 200, code, body)
	require.NoError(t, json.Unmarshal([]byte(body), &ans))
	require.NoError(t, json.Unmarshal(ans.Reconciliation.Report, &rep))
	assert.Equal(t, orders.LabelFigures{Planned: 1, NotAllocated: 1}, rep.Labels)
	assert.Equal(t, orders.Created, rep.Status)
	code, body = post("/api/v1/label-orders/LO-3/resume", `{}`)
	assert.Equal(t, 409, code, "a closed order is not released: %s", body)
}
