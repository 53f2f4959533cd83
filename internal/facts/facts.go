// Package facts names the kinds of facts the line reports to the cloud and
// builds their outbox items: the payload of each, its natural key, the key
// that lets items share a request, and what it must wait for. The line
// produces them; package cloudsync delivers them.
package facts

import (
	"encoding/json"
	"fmt"

	"github.com/edgeagent/edgeagent/internal/queue"
	"github.com/edgeagent/edgeagent/internal/v2"
)

// Outbox kinds.
const (
	KindCommission     = "commission"
	KindDecommission   = "decommission"
	KindAggregate      = "aggregate"
	KindDisaggregate   = "disaggregate"
	KindPackagingOrder = "packaging_order"
	KindLabelOrder     = "label_order"
)

// SerialFact is the payload of a commission or decommission item: one
// serial; items with the same batch key go in one call.
type SerialFact struct {
	ProductCode  string `json:"product_code"`
	Batch        string `json:"batch,omitempty"`
	ExpiryDate   string `json:"expiry_date,omitempty"`
	Serial       string `json:"serial"`
	Reason       string `json:"reason,omitempty"`
	SendToMarket bool   `json:"send_to_market,omitempty"`
	MarketID     string `json:"market_id,omitempty"`
}

// CommissionItem builds the outbox item for commissioning one serial.
func CommissionItem(stream string, f SerialFact) queue.Item {
	b, _ := json.Marshal(f)
	return queue.Item{Kind: KindCommission, Stream: stream, Key: f.ProductCode + "/" + f.Serial,
		BatchKey: f.ProductCode + "|" + f.Batch + "|" + f.ExpiryDate, Payload: b}
}

// DecommissionItem builds the item for decommissioning one serial; it waits
// for the serial's commission.
func DecommissionItem(stream string, f SerialFact) queue.Item {
	b, _ := json.Marshal(f)
	return queue.Item{Kind: KindDecommission, Stream: stream, Key: f.ProductCode + "/" + f.Serial,
		BatchKey:  fmt.Sprintf("%s|%s|%t|%s", f.ProductCode, f.Reason, f.SendToMarket, f.MarketID),
		Payload:   b,
		DependsOn: []queue.Ref{{Kind: KindCommission, Key: f.ProductCode + "/" + f.Serial}}}
}

// AggregateItem builds the item for an aggregation; it waits for the
// commission of its packs and the aggregation of its child containers.
func AggregateItem(stream string, a v2.Aggregation) queue.Item {
	b, _ := json.Marshal(a)
	it := queue.Item{Kind: KindAggregate, Stream: stream, Key: a.Parent, Payload: b}
	for _, c := range a.ChildTradeItems {
		it.DependsOn = append(it.DependsOn, queue.Ref{Kind: KindCommission, Key: c.ProductCode + "/" + c.SerialNumber})
	}
	for _, c := range a.ChildContainers {
		it.DependsOn = append(it.DependsOn, queue.Ref{Kind: KindAggregate, Key: c})
	}
	return it
}

// PackagingOrderItem builds the item that creates a packaging order in the
// cloud.
func PackagingOrderItem(o v2.PackagingOrder) queue.Item {
	o.Status = ""
	b, _ := json.Marshal(o)
	return queue.Item{Kind: KindPackagingOrder, Stream: "packaging-orders", Key: o.OrderID, Payload: b}
}

// AggregationStream is the stream of every aggregation and disaggregation
// of the line: one FIFO, so the cloud sees containers built, reworked and
// rebuilt in the order they were on the line.
const AggregationStream = "aggregation"

// AggregateKey is the natural key of a container's gen-th closing (a
// container reworked and closed again is aggregated again).
func AggregateKey(sscc string, gen int) string {
	if gen <= 1 {
		return sscc
	}
	return fmt.Sprintf("%s#%d", sscc, gen)
}

// ContainerAggregate builds the aggregation of a closed container: it waits
// for the commission of its packs and the aggregation (at the generation
// given in childGens) of its child containers.
func ContainerAggregate(a v2.Aggregation, gen int, childGens map[string]int) queue.Item {
	b, _ := json.Marshal(a)
	it := queue.Item{Kind: KindAggregate, Stream: AggregationStream, Key: AggregateKey(a.Parent, gen), Payload: b}
	for _, c := range a.ChildTradeItems {
		it.DependsOn = append(it.DependsOn, queue.Ref{Kind: KindCommission, Key: c.ProductCode + "/" + c.SerialNumber})
	}
	for _, c := range a.ChildContainers {
		it.DependsOn = append(it.DependsOn, queue.Ref{Kind: KindAggregate, Key: AggregateKey(c, childGens[c])})
	}
	return it
}

// ContainerDisaggregate builds the removal of children from a container
// closed at generation gen; key tells one removal from another.
func ContainerDisaggregate(a v2.Aggregation, gen int, key string) queue.Item {
	b, _ := json.Marshal(a)
	return queue.Item{Kind: KindDisaggregate, Stream: AggregationStream, Key: key, Payload: b,
		DependsOn: []queue.Ref{{Kind: KindAggregate, Key: AggregateKey(a.Parent, gen)}}}
}

// KindShipLabel asks the shipping service for an order's label.
const KindShipLabel = "ship_label"

// ShipFact is the payload of a ship_label item.
type ShipFact struct {
	ID            int64  `json:"id"` // the line's ship_orders row
	Station       string `json:"station"`
	OrderNumber   string `json:"order_number"`
	IntegrationID int    `json:"integration_id"`
}

// ShipItem builds the request for one order's shipping label; orders
// collected together (one request) share a batch key.
func ShipItem(f ShipFact, request string) queue.Item {
	b, _ := json.Marshal(f)
	return queue.Item{Kind: KindShipLabel, Stream: "shipping/" + f.Station, Key: fmt.Sprintf("%d", f.ID),
		BatchKey: request, Payload: b}
}

// KindEPCIS is an EPCIS 2.0 event of the journal on its way to the
// configured EPCIS repository (epcis.capture_url).
const KindEPCIS = "epcis_event"

// EPCISStream is the one FIFO of the journal's events: a repository
// receives them in the order they happened on the line.
const EPCISStream = "epcis"

// EPCISItem builds the item that captures one journalled event; event is
// its JSON, as the journal keeps it, and its eventID the item's key.
func EPCISItem(eventID string, event []byte) queue.Item {
	return queue.Item{Kind: KindEPCIS, Stream: EPCISStream, Key: eventID, BatchKey: "epcis", Payload: event}
}
