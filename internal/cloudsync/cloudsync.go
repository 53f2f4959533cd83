// Package cloudsync delivers outbox items to the cloud: it turns each kind
// of item into the Manufacturer V2 call that reports it, batching serials,
// and turns the cloud's answers into the queue's retry policy.
package cloudsync

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/edgeagent/edgeagent/internal/cloud"
	"github.com/edgeagent/edgeagent/internal/facts"
	"github.com/edgeagent/edgeagent/internal/queue"
)

// Sender implements queue.Sender with the Manufacturer V2 client and,
// for shipping labels, the shipping client.
type Sender struct {
	Client *cloud.Client
	// Shipping and Ship handle ship_label items; without them those items
	// wait.
	Shipping *cloud.Shipping
	Ship     ShipRecorder
	// ShipPoll is the pause between looks at a shipment whose label is not
	// ready (default 2s).
	ShipPoll time.Duration
}

// ShipRecorder keeps what became of each shipping order, durably, before
// the outbox item is marked delivered.
type ShipRecorder interface {
	// ShipmentOf is the shipment made for the order before ("" if none).
	ShipmentOf(ctx context.Context, id int64) (string, error)
	ShipRequested(ctx context.Context, id int64, shipment string) error
	// ShipLabelled stores the label and hands it to the station's printer.
	ShipLabelled(ctx context.Context, id int64, zpl []byte) error
	ShipFailed(ctx context.Context, id int64, detail string) error
}

// Send delivers one batch.
func (s Sender) Send(ctx context.Context, kind string, items []queue.Pending) []queue.Outcome {
	type SerialFact = facts.SerialFact
	out := make([]queue.Outcome, len(items))
	switch kind {
	case facts.KindCommission, facts.KindDecommission:
		sf := make([]SerialFact, len(items))
		for i, p := range items {
			if err := json.Unmarshal(p.Payload, &sf[i]); err != nil {
				return fill(out, permanent("payload: "+err.Error()))
			}
		}
		serials := make([]string, len(sf))
		for i, f := range sf {
			serials[i] = f.Serial
		}
		var err error
		if kind == facts.KindCommission {
			_, err = s.Client.Commission(ctx, cloud.Commission{ProductCode: sf[0].ProductCode, ProductCodeSchema: "GTIN",
				Batch: sf[0].Batch, ExpiryDate: sf[0].ExpiryDate, Serials: serials})
		} else {
			stm := sf[0].SendToMarket
			_, err = s.Client.Decommission(ctx, cloud.Decommission{ProductCode: sf[0].ProductCode, ProductCodeSchema: "GTIN",
				Reason: sf[0].Reason, SendToMarket: &stm, MarketID: sf[0].MarketID, Serials: serials})
		}
		if err == nil {
			return fill(out, nil)
		}
		// "Serial X is already Commissioned": that one is done; the rest of
		// the batch was refused with it and goes again at once.
		if sn, ok := alreadyDone(err, kind); ok {
			for i, f := range sf {
				if f.Serial == sn {
					out[i].Delivered = true
				} else {
					out[i].Failure = &queue.Failure{Class: queue.Again, Message: "refused with " + sn}
				}
			}
			return out
		}
		return fill(out, classify(err))
	case facts.KindAggregate, facts.KindDisaggregate:
		for i, p := range items {
			var a cloud.Aggregation
			if err := json.Unmarshal(p.Payload, &a); err != nil {
				out[i].Failure = permanent("payload: " + err.Error())
				continue
			}
			var err error
			if kind == facts.KindAggregate {
				_, err = s.Client.Aggregate(ctx, a)
			} else {
				_, err = s.Client.Disaggregate(ctx, a)
			}
			out[i] = outcome(err, a.Parent, kind)
		}
		return out
	case facts.KindPackagingOrder:
		for i, p := range items {
			var o cloud.PackagingOrder
			if err := json.Unmarshal(p.Payload, &o); err != nil {
				out[i].Failure = permanent("payload: " + err.Error())
				continue
			}
			_, err := s.Client.CreatePackagingOrder(ctx, o)
			out[i] = outcome(err, "", kind)
		}
		return out
	case facts.KindShipLabel:
		return s.ship(ctx, items)
	case facts.KindLabelOrder:
		for i, p := range items {
			var o cloud.LabelOrder
			if err := json.Unmarshal(p.Payload, &o); err != nil {
				out[i].Failure = permanent("payload: " + err.Error())
				continue
			}
			_, err := s.Client.CreateLabelOrder(ctx, o)
			out[i] = outcome(err, "", kind)
		}
		return out
	}
	return fill(out, permanent("unknown kind "+kind))
}

func fill(out []queue.Outcome, f *queue.Failure) []queue.Outcome {
	for i := range out {
		if f == nil {
			out[i].Delivered = true
		} else {
			out[i].Failure = f
		}
	}
	return out
}

func permanent(msg string) *queue.Failure {
	return &queue.Failure{Class: queue.Permanent, Message: msg}
}

var (
	alreadyRE    = regexp.MustCompile(`^Serial (\S+) is already (Commissioned|Decommissioned)$`)
	aggregatedRE = regexp.MustCompile(`^(?:Serial|Container) \S+ is already aggregated in (\d{18})$`)
)

// alreadyDone reports the serial a commission or decommission refusal says
// is already in the state the call wanted.
func alreadyDone(err error, kind string) (string, bool) {
	var ce *cloud.Error
	if !errors.As(err, &ce) || ce.Status != http.StatusConflict {
		return "", false
	}
	m := alreadyRE.FindStringSubmatch(ce.Message)
	if m == nil {
		return "", false
	}
	want := "Commissioned"
	if kind == facts.KindDecommission {
		want = "Decommissioned"
	}
	return m[1], m[2] == want
}

// outcome turns one call's result into the queue's terms: "already exists"
// for the same fact is a delivery.
func outcome(err error, parent, kind string) queue.Outcome {
	if err == nil {
		return queue.Outcome{Delivered: true}
	}
	var ce *cloud.Error
	if errors.As(err, &ce) && ce.Status == http.StatusConflict {
		switch {
		case kind == facts.KindLabelOrder && ce.Message == cloud.MsgLabelOrderExists,
			kind == facts.KindPackagingOrder && strings.Contains(ce.Message, "already exists"):
			return queue.Outcome{Delivered: true}
		case kind == facts.KindAggregate:
			if m := aggregatedRE.FindStringSubmatch(ce.Message); m != nil && m[1] == parent {
				return queue.Outcome{Delivered: true}
			}
		}
	}
	if kind == facts.KindDisaggregate && errors.As(err, &ce) && ce.Status == http.StatusConflict &&
		strings.Contains(ce.Message, "is not in container "+parent) {
		return queue.Outcome{Delivered: true} // taken out already
	}
	return queue.Outcome{Failure: classify(err)}
}

// classify maps a cloud error to the retry policy.
func classify(err error) *queue.Failure {
	var ce *cloud.Error
	var fe *cloud.FieldError
	switch {
	case errors.As(err, &fe):
		return permanent(fe.Error())
	case errors.As(err, &ce) && ce.Status == http.StatusUnauthorized:
		return &queue.Failure{Class: queue.Auth, Message: ce.Error()}
	case errors.As(err, &ce) && ce.Retryable:
		return &queue.Failure{Class: queue.Temporary, RetryAfter: ce.RetryAfter, Message: ce.Error()}
	case errors.As(err, &ce):
		return permanent(ce.Error())
	}
	if errors.Is(err, context.Canceled) {
		return &queue.Failure{Class: queue.Again, Message: err.Error()}
	}
	return &queue.Failure{Class: queue.Temporary, Message: err.Error()}
}
