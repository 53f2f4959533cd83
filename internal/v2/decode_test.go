package v2

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func fields(t *testing.T, err error) map[string]string {
	t.Helper()
	var fes FieldErrors
	require.True(t, errors.As(err, &fes), "%v", err)
	out := map[string]string{}
	for _, f := range fes {
		out[f.Field] = f.Rule
	}
	return out
}

func TestDecodeIsStrict(t *testing.T) {
	for name, tc := range map[string]struct {
		body  string
		field string
		rule  string
	}{
		"duplicate key":     {`{"order_id":"A","order_id":"B"}`, "order_id", "is given twice"},
		"key case":          {`{"EXECUTE":true}`, "EXECUTE", `did you mean "execute"`},
		"misspelt key":      {`{"exectue":true}`, "exectue", `did you mean "execute"`},
		"top-level array":   {`[{"order_id":"A"}]`, "body", "must be an object"},
		"wrong kind":        {`{"quantity":"5"}`, "quantity", "must be a whole number"},
		"huge number":       {`{"quantity":9223372036854775807}`, "quantity", "whole number from"},
		"fraction":          {`{"quantity":1.5}`, "quantity", "whole number"},
		"text expected":     {`{"order_id":5}`, "order_id", "must be text"},
		"bool expected":     {`{"execute":"yes"}`, "execute", "true or false"},
		"trailing data":     {`{"order_id":"A"} {}`, "body", "nothing after it"},
		"cut short":         {`{"order_id":`, "body", "ends too early"},
		"not json":          {`{"order_id" 5}`, "body", "not valid JSON"},
		"empty":             {``, "body", "the body is empty"},
		"invalid utf-8":     {"{\"order_id\":\"\xff\"}", "body", "UTF-8"},
		"nested list":       {`{"serials":["A",5]}`, "serials[1]", "must be text"},
		"nested object key": {`{"parent":"x","child_trade_items":[{"serial":"A"}]}`, "child_trade_items[0].serial", "did you mean \"serial_number\""},
		"object for a list": {`{"serials":{"a":1}}`, "serials", "must be a list"},
	} {
		t.Run(name, func(t *testing.T) {
			var target any
			switch {
			case strings.Contains(tc.body, "serials"):
				target = &Decommission{}
			case strings.Contains(tc.body, "child_trade_items"):
				target = &Aggregation{}
			default:
				target = &LabelOrder{}
			}
			err := Decode([]byte(tc.body), target)
			require.Error(t, err)
			got := fields(t, err)
			require.Contains(t, got, tc.field, "%v", err)
			assert.Contains(t, got[tc.field], tc.rule)
			assert.NotContains(t, err.Error(), "v2.", "no Go type names")
		})
	}
	var o LabelOrder
	require.NoError(t, Decode([]byte(`{"order_id":"A","quantity":5,"execute":true,"extra_label_amount":null}`), &o))
	assert.Equal(t, "A", o.OrderID)
	assert.True(t, o.Execute)
	// Every fault at once.
	err := Decode([]byte(`{"exectue":true,"quantity":"x","order_id":1}`), &o)
	assert.Len(t, fields(t, err), 3)
}

func TestValidationReportsEveryFault(t *testing.T) {
	q, extra := 100000, 1
	err := LabelOrder{OrderID: "A\x00B", ProductCode: "09506000134353", ProductCodeSchema: "GTIN", Batch: "BAD BATCH",
		Quantity: &q, ExtraLabelAmount: &extra, ExtraLabelType: "amount", DestinationTag: "p", TemplateTag: "t"}.Validate()
	got := fields(t, err)
	assert.Contains(t, got["order_id"], "control characters")
	assert.Contains(t, got["product_code"], "check digit")
	assert.Contains(t, got["batch"], "CSET 82")
	assert.Contains(t, got["quantity"], "100001 labels")
	for _, id := range []string{strings.Repeat("x", 65), "   ", "^XZ~JR", "A\tB"} {
		err := LabelOrder{OrderID: id}.Validate()
		assert.Contains(t, fields(t, err), "order_id", "%q", id)
	}
	huge := 1 << 40
	o := LabelOrder{Quantity: &q, ExtraLabelAmount: &huge, ExtraLabelType: "amount"}
	assert.Equal(t, MaxLabels+1, o.Labels(0, ""), "no overflow")
	pct := 10
	o = LabelOrder{Quantity: &q, ExtraLabelAmount: &pct, ExtraLabelType: "percentage"}
	assert.Equal(t, MaxLabels+1, o.Labels(0, ""))
	q = 50
	assert.Equal(t, 55, o.Labels(0, ""))
	o = LabelOrder{Quantity: &q}
	assert.Equal(t, 53, o.Labels(5, "percentage"))
	assert.Equal(t, 54, o.Labels(4, "amount"))
}
