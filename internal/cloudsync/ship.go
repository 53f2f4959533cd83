package cloudsync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/edgeagent/edgeagent/internal/cloud"
	"github.com/edgeagent/edgeagent/internal/facts"
	"github.com/edgeagent/edgeagent/internal/queue"
)

// ship asks for the labels of a batch of orders (one create-labels-async
// call), follows each shipment until its label exists, downloads it and
// hands it over. Each order's outcome is recorded before its item is
// marked: an order the service refused is parked with the service's
// detail; an order whose shipment exists is never asked for again.
func (s *Sender) ship(ctx context.Context, items []queue.Pending) []queue.Outcome {
	out := make([]queue.Outcome, len(items))
	if s.Shipping == nil || s.Ship == nil {
		return fill(out, &queue.Failure{Class: queue.Temporary, RetryAfter: time.Minute, Message: "no shipping service configured"})
	}
	poll := s.ShipPoll
	if poll <= 0 {
		poll = 2 * time.Second
	}
	fs := make([]facts.ShipFact, len(items))
	shipments := make([]string, len(items))
	var req cloud.CreateLabels
	var idx []int
	for i, p := range items {
		if err := json.Unmarshal(p.Payload, &fs[i]); err != nil {
			out[i].Failure = permanent("payload: " + err.Error())
			continue
		}
		sh, err := s.Ship.ShipmentOf(ctx, fs[i].ID)
		if err != nil {
			out[i].Failure = &queue.Failure{Class: queue.Temporary, Message: err.Error()}
			continue
		}
		if sh != "" {
			shipments[i] = sh
			continue
		}
		req.IntegrationID = fs[i].IntegrationID
		req.Orders = append(req.Orders, cloud.ShipOrder{OrderNumber: fs[i].OrderNumber})
		idx = append(idx, i)
	}
	if len(idx) > 0 {
		results, err := s.Shipping.CreateLabelsAsync(ctx, req)
		if err != nil {
			f := classify(err)
			for _, i := range idx {
				out[i].Failure = f
			}
			idx = nil
		}
		for k, i := range idx {
			r := results[k]
			switch {
			case r.Err != nil:
				detail := r.Err.Detail
				if detail == "" {
					detail = r.Err.Code
				}
				if err := s.Ship.ShipFailed(ctx, fs[i].ID, detail); err != nil {
					out[i].Failure = &queue.Failure{Class: queue.Temporary, Message: err.Error()}
					continue
				}
				out[i].Failure = permanent(fmt.Sprintf("order %s: %s", fs[i].OrderNumber, detail))
			case r.Ref != nil:
				if err := s.Ship.ShipRequested(ctx, fs[i].ID, r.Ref.ShipmentID); err != nil {
					out[i].Failure = &queue.Failure{Class: queue.Temporary, Message: err.Error()}
					continue
				}
				shipments[i] = r.Ref.ShipmentID
			default:
				out[i].Failure = &queue.Failure{Class: queue.Temporary, Message: "the service answered nothing for order " + fs[i].OrderNumber}
			}
		}
	}
	for i := range items {
		if shipments[i] == "" || out[i].Failure != nil {
			continue
		}
		out[i] = s.fetch(ctx, fs[i], shipments[i], poll)
	}
	return out
}

// fetch waits for a shipment's labels, downloads them and hands them over.
func (s *Sender) fetch(ctx context.Context, f facts.ShipFact, shipment string, poll time.Duration) queue.Outcome {
	sh, err := s.Shipping.WaitForLabels(ctx, shipment, poll)
	if err != nil {
		var pf *cloud.ParcelFailedError
		if errors.As(err, &pf) {
			// The carrier refused the announcement: final for this order.
			if err := s.Ship.ShipFailed(ctx, f.ID, pf.Message); err != nil {
				return queue.Outcome{Failure: &queue.Failure{Class: queue.Temporary, Message: err.Error()}}
			}
			return queue.Outcome{Failure: permanent(fmt.Sprintf("order %s: %s", f.OrderNumber, pf.Message))}
		}
		return queue.Outcome{Failure: classify(err)}
	}
	var label []byte
	for _, p := range sh.Parcels {
		z, err := s.Shipping.LabelZPL(ctx, p.ID)
		if err != nil {
			return queue.Outcome{Failure: classify(err)}
		}
		label = append(label, z...)
	}
	if err := s.Ship.ShipLabelled(ctx, f.ID, label); err != nil {
		return queue.Outcome{Failure: &queue.Failure{Class: queue.Temporary, Message: err.Error()}}
	}
	return queue.Outcome{Delivered: true}
}
