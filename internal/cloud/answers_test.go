package cloud_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/cloud"
	"github.com/edgeagent/edgeagent/internal/cloud/cloudsim"
)

// answerOf asserts that err is a refusal whose typed answer words the
// message exactly as the service did, and returns the answer.
func answerOf(t *testing.T, err error) error {
	t.Helper()
	var ce *cloud.Error
	require.ErrorAs(t, err, &ce)
	require.NotNil(t, ce.Answer, "a typed answer for %q", ce.Message)
	assert.Equal(t, ce.Message, ce.Answer.Error(), "the typed answer keeps the service's words")
	assert.False(t, ce.Retryable, "a refusal is not retried as it is: %v", err)
	return ce.Answer
}

// Every refusal the service documents, or the emulator gives for the
// states the documents describe, comes back typed.
func TestAnswersAreTyped(t *testing.T) {
	s := startSim(t, cloudsim.Faults{})
	c := client(t, s, nil)
	ctx := context.Background()
	item := func(sn string) cloud.TradeItem {
		return cloud.TradeItem{ProductCode: gtin, ProductCodeSchema: "GTIN", SerialNumber: sn}
	}
	commission := func(serials ...string) error {
		_, err := c.Commission(ctx, cloud.Commission{ProductCode: gtin, ProductCodeSchema: "GTIN", Batch: "AB12", Serials: serials})
		return err
	}
	decommission := func(serials ...string) error {
		_, err := c.Decommission(ctx, cloud.Decommission{ProductCode: gtin, ProductCodeSchema: "GTIN", Reason: "destroy", SendToMarket: ptr(false), Serials: serials})
		return err
	}
	aggregate := func(parent string, packs []string, containers ...string) error {
		a := cloud.Aggregation{Parent: parent, ChildContainers: containers}
		for _, sn := range packs {
			a.ChildTradeItems = append(a.ChildTradeItems, item(sn))
		}
		_, err := c.Aggregate(ctx, a)
		return err
	}
	const case1, case2, pallet, pallet2 = "095060001343521236", "095060001343521243", "195060001343521233", "195060001343521240"
	require.NoError(t, commission("SN1", "SN2", "SN3", "SN4"))

	// One answer names every serial it refused.
	var done *cloud.AlreadyDoneError
	require.ErrorAs(t, answerOf(t, commission("NEW1", "SN2", "NEW2", "SN3")), &done)
	assert.Equal(t, "SN2", done.Serial)
	assert.Equal(t, cloud.StateCommissioned, done.State)
	assert.Equal(t, []cloud.SerialStatus{{SerialNumber: "SN2", Status: "Commissioned"}, {SerialNumber: "SN3", Status: "Commissioned"}}, done.Serials())
	st, _ := s.SerialStatus(gtin, "NEW1")
	assert.Empty(t, st, "a refused call changes nothing")

	require.NoError(t, aggregate(case1, []string{"SN1"}))
	var agg *cloud.AlreadyAggregatedError
	require.ErrorAs(t, answerOf(t, aggregate(case2, []string{"SN4", "SN1"})), &agg)
	assert.Equal(t, cloud.AlreadyAggregatedError{Child: "SN1", Parent: case1}, *agg)

	var named *cloud.NamedError
	a := answerOf(t, aggregate(case2, []string{"SN9"}))
	require.ErrorIs(t, a, cloud.ErrNotCommissioned)
	require.ErrorAs(t, a, &named)
	assert.Equal(t, []any{cloud.ErrNotCommissioned, "Serial", "SN9"}, []any{named.Err, named.What, named.Name})

	a = answerOf(t, aggregate(pallet, nil, case2))
	require.ErrorIs(t, a, cloud.ErrNoAggregation)
	require.ErrorAs(t, a, &named)
	assert.Equal(t, case2, named.Name)

	require.NoError(t, aggregate(pallet, nil, case1))
	require.ErrorAs(t, answerOf(t, aggregate(pallet2, nil, case1)), &agg)
	assert.Equal(t, cloud.AlreadyAggregatedError{Child: case1, Container: true, Parent: pallet}, *agg)
	a = answerOf(t, aggregate(case1, nil, pallet))
	require.ErrorIs(t, a, cloud.ErrInsideItself)
	require.ErrorAs(t, a, &named)
	assert.Equal(t, pallet, named.Name)

	_, err := c.Disaggregate(ctx, cloud.Aggregation{Parent: case1, ChildTradeItems: []cloud.TradeItem{item("SN2")}})
	var out *cloud.NotInContainerError
	require.ErrorAs(t, answerOf(t, err), &out)
	assert.Equal(t, cloud.NotInContainerError{Child: "SN2", Parent: case1}, *out)
	_, err = c.Disaggregate(ctx, cloud.Aggregation{Parent: pallet2, ChildContainers: []string{case1}})
	a = answerOf(t, err)
	require.ErrorIs(t, a, cloud.ErrNotFound)
	require.ErrorAs(t, a, &named)
	assert.Equal(t, []any{cloud.ErrNotFound, "Container", pallet2}, []any{named.Err, named.What, named.Name})

	var in *cloud.InContainerError
	require.ErrorAs(t, answerOf(t, decommission("SN1")), &in)
	assert.Equal(t, cloud.InContainerError{Serial: "SN1", Parent: case1}, *in)
	a = answerOf(t, decommission("SN2", "NEVER"))
	require.ErrorAs(t, a, &named)
	assert.Equal(t, []any{cloud.ErrNotFound, "Serial", "NEVER"}, []any{named.Err, named.What, named.Name})
	require.NoError(t, decommission("SN3"))
	require.ErrorAs(t, answerOf(t, decommission("SN2", "SN3")), &done)
	assert.Equal(t, []cloud.SerialStatus{{SerialNumber: "SN3", Status: "Decommissioned"}}, done.Serials())
	require.ErrorAs(t, answerOf(t, commission("SN3")), &done)
	assert.Equal(t, cloud.StateDecommissioned, done.State, "a commission of a decommissioned serial says so")

	// Orders: the documented messages.
	_, err = c.CreateLabelOrder(ctx, labelOrder("TYPED"))
	require.NoError(t, err)
	_, err = c.CreateLabelOrder(ctx, labelOrder("TYPED"))
	require.ErrorIs(t, answerOf(t, err), cloud.ErrExists)
	require.ErrorIs(t, err, cloud.ErrLabelOrderExists, "the message sentinels still match")
	require.ErrorAs(t, err, &named)
	assert.Equal(t, "Label order", named.What)
	for _, tc := range []struct {
		mod  func(*cloud.LabelOrder)
		what string
	}{
		{func(o *cloud.LabelOrder) { o.Batch = "NOPE" }, "Batch"},
		{func(o *cloud.LabelOrder) { o.TemplateTag = "nope" }, "Printing template"},
		{func(o *cloud.LabelOrder) { o.DestinationTag = "nope" }, "Destination"},
	} {
		o := labelOrder("TYPED-" + tc.what)
		tc.mod(&o)
		_, err := c.CreateLabelOrder(ctx, o)
		require.ErrorIs(t, answerOf(t, err), cloud.ErrNotFound)
		require.ErrorAs(t, err, &named)
		assert.Equal(t, tc.what, named.What)
	}
	_, err = c.CreatePackagingOrder(ctx, packagingOrder("TYPED"))
	require.NoError(t, err)
	_, err = c.CreatePackagingOrder(ctx, packagingOrder("TYPED"))
	require.ErrorIs(t, answerOf(t, err), cloud.ErrExists)
	p := packagingOrder("TYPED-LINE")
	p.PackagingLineTag = "no-such-line"
	_, err = c.CreatePackagingOrder(ctx, p)
	require.ErrorIs(t, answerOf(t, err), cloud.ErrNotFound)
	_, err = c.PackagingOrderDetails(ctx, "NO-SUCH-ORDER")
	require.ErrorIs(t, answerOf(t, err), cloud.ErrNotFound)
	require.ErrorAs(t, err, &named)
	assert.Equal(t, "Packaging order", named.What)

	// What the client does not know stays untyped, and matches nothing.
	_, err = c.OpenPackagingOrders(ctx)
	require.NoError(t, err)
	for _, target := range []error{cloud.ErrExists, cloud.ErrNotFound, cloud.ErrNotCommissioned} {
		assert.False(t, errors.Is(&cloud.Error{Status: 409, Message: "Something else"}, target))
	}
}
