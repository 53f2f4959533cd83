package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/queue"
)

// The status codes of /api/v1, one rule for every thing: an unknown one is
// 404 and the error names it, a state that does not allow the act is 409,
// a request that breaks a rule (a query value, a path ID that is not a
// number, a body) is 400 naming the parameter or field and what it may be.
// The server is checked against openapi.yaml as well (checked), so each
// answer here is also one the document describes.
func TestAgentAPIStatusCodes(t *testing.T) {
	s, _ := withWork(t)
	ctx := context.Background()
	s.cfg.TestPrint = func(_ context.Context, tag string) error { // as the agent's: p1 is the line's only printer
		if tag != "p1" {
			return fmt.Errorf("printer %q: %w", tag, ErrNoPrinter)
		}
		return nil
	}
	parked, err := queue.New(s.cfg.DB).EnqueueNow(ctx, queue.Item{Kind: "commission", Stream: "s", Key: "09506000134352/PARKED", Payload: []byte(`{}`)})
	require.NoError(t, err)
	require.NoError(t, queue.Park(ctx, s.cfg.DB, parked, "test", "held for the test"))
	const (
		unknownSSCC = "095060009999999997"
		unknownGTIN = "09506000134369"
	)
	for _, tc := range []struct {
		method, path, body string
		status             int
		says               string // in the error
	}{
		// Unknown things: 404, naming them.
		{"POST", "/api/v1/printers/p9/test", ``, 404, `printer "p9": no such printer`},
		{"POST", "/api/v1/queue/999999/retry", `{"reason":"x"}`, 404, "no such outbox item: 999999"},
		{"POST", "/api/v1/queue/999999/park", `{"reason":"x"}`, 404, "no such outbox item: 999999"},
		{"GET", "/api/v1/queue/999999", ``, 404, "no such outbox item: 999999"},
		{"POST", "/api/v1/labels/999999/reprint", `{"reason":"torn"}`, 404, "label 999999: no such label"},
		{"POST", "/api/v1/labels/999999/resolve", `{"printed":true,"reason":"seen"}`, 404, "label 999999: no such label"},
		{"POST", "/api/v1/label-orders/NOPE/resume", ``, 404, `label order "NOPE": no such label order`},
		{"POST", "/api/v1/containers/" + unknownSSCC + "/disaggregate", `{"reason":"rework"}`, 404, "container " + unknownSSCC + ": the container is not known"},
		{"POST", "/api/v1/containers/remove", `{"item":"` + unknownSSCC + `","reason":"rework"}`, 404, unknownSSCC},
		{"GET", "/api/v1/stations/nope", ``, 404, `no station "nope"`},
		{"GET", "/api/v1/stations/nope/ship-orders", ``, 404, `no station "nope"`},
		{"GET", "/api/v1/stations/nope/events", ``, 404, `no station "nope"`},
		{"POST", "/api/v1/stations/nope/scan", `{"data":"x"}`, 404, `no station "nope"`},
		{"POST", "/api/v1/stations/nope/order", `{"order_id":""}`, 404, `no station "nope"`},
		{"POST", "/api/v1/stations/nope/command", `{"command":"CMD:CLOSE"}`, 404, `no station "nope"`},
		{"POST", "/api/v1/stations/nope/pair", ``, 404, `no station "nope"`},
		{"POST", "/api/v1/stations/nope/sign-on", `{"code":"123987"}`, 404, `no station "nope"`},
		{"POST", "/api/v1/stations/nope/sign-off", ``, 404, `no station "nope"`},
		{"POST", "/api/v1/stations/case-1/order", `{"order_id":"PO-NOPE"}`, 404, `packaging order "PO-NOPE": no such packaging order`},
		{"POST", "/api/v1/users/nobody/role", `{"role":"operator"}`, 404, "no such person: nobody"},
		{"POST", "/api/v1/users/nobody/password", `{"password":"a new password 1"}`, 404, "no such person: nobody"},
		{"POST", "/api/v1/users/nobody/disable", ``, 404, "no such person: nobody"},
		{"POST", "/api/v1/users/nobody/enable", ``, 404, "no such person: nobody"},
		{"POST", "/api/v1/users/nobody/badge", ``, 404, "no such person: nobody"},
		{"POST", "/api/v1/users/nobody/pin", `{"pin":"418263"}`, 404, "no such person: nobody"},
		{"POST", "/api/v1/devices/999/revoke", ``, 404, "screen 999: no paired screen has that number"},
		{"POST", "/api/v1/products/" + unknownGTIN + "/serials", `{"serials":["EXT1"]}`, 404, "product " + unknownGTIN + ": the product is not registered"},

		// States that do not allow the act: 409.
		{"POST", fmt.Sprintf("/api/v1/queue/%d/park", parked), `{"reason":"again"}`, 409, fmt.Sprintf("item %d is parked: only pending items can be parked", parked)},
		{"POST", "/api/v1/label-orders/LO-1/resume", ``, 409, "label order LO-1 is"},
		{"POST", "/api/v1/stations/case-1/command", `{"command":"CMD:CLOSE"}`, 409, ""},
		{"POST", "/api/v1/users", `{"name":"ana","role":"operator","password":"long enough password"}`, 409, "exists already"},
		{"POST", "/api/v1/users/adam/role", `{"role":"operator"}`, 409, "last admin"},

		// Requests that break a rule: 400, naming the parameter or field.
		{"GET", "/api/v1/containers?state=weird", ``, 400, `state "weird": must be open, closed, cancelled or disaggregated`},
		{"GET", "/api/v1/queue/nope", ``, 400, `item "nope": must be an outbox item number`},
		{"POST", "/api/v1/queue/nope/retry", ``, 400, `item "nope": must be an outbox item number`},
		{"POST", fmt.Sprintf("/api/v1/queue/%d/park", parked), ``, 400, "reason: parking an item needs a reason"},
		{"POST", "/api/v1/labels/abc/reprint", `{"reason":"torn"}`, 400, `label id "abc": must be a label number`},
		{"POST", "/api/v1/devices/abc/revoke", ``, 400, `screen id "abc": must be a number`},
		{"POST", "/api/v1/products/09506000134352/serials", `{"serials":["OK1","bad serial"]}`, 400, "serials[1]: character ' ' at position 4 is not in GS1 character set 82"},
		{"POST", "/api/v1/containers/remove", `{"item":"` + unknownSSCC + `","reason":3}`, 400, "reason: must be text, got a number"},
		{"POST", "/api/v1/stations/case-1/command", `{"command":`, 400, "body: not valid JSON"},
		{"POST", "/api/v1/users/ana/pin", `{"pin":"12"}`, 400, "PIN"},

		// A credential not accepted: 401.
		{"POST", "/api/v1/stations/case-1/sign-on", `{"code":"418263"}`, 401, "badge or PIN not recognised"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, "http://"+s.Addr()+tc.path, strings.NewReader(tc.body))
			req.Header.Set("Authorization", "Bearer "+serviceToken)
			if tc.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			assert.Equal(t, tc.status, resp.StatusCode, "%s", b)
			var out struct{ Error string }
			require.NoError(t, json.Unmarshal(b, &out), "%s", b)
			assert.Contains(t, out.Error, tc.says)
			assert.NotRegexp(t, `\*[a-z]+\.[A-Z]|strconv|json: |Go struct`, out.Error, "no Go names in an answer")
		})
	}
}
