package stations

import (
	"errors"
	"fmt"

	"github.com/edgeagent/edgeagent/internal/shipments"
)

// collectOrder adds a scanned order number to the next label request.
func (w *work) collectOrder(ref string) error {
	if ref == "" || len(ref) > 255 {
		return refuse("not_order", "An order number has 1-255 characters, got %d", len(ref))
	}
	for _, c := range ref {
		if c < 0x20 || c == 0x7f {
			return refuse("not_order", "An order number has no control characters")
		}
	}
	if w.s.cfg.IntegrationID <= 0 {
		return refuse("no_integration", "This station has no shipping integration configured")
	}
	n, err := shipments.Collect(w.tx, w.s.cfg.Name, ref, w.now)
	var dup *shipments.DuplicateError
	switch {
	case errors.As(err, &dup) && dup.Here:
		return refuse("duplicate", "Order %s is already collected: scanned twice", ref)
	case errors.As(err, &dup):
		return refuse("already_shipped", "Order %s was already scanned at station %s (%s)", ref, dup.Station, dup.State)
	case err != nil:
		return err
	}
	w.v.Code, w.v.Message = "collected", fmt.Sprintf("Order %s added (%d): scan more, then CLOSE", ref, n)
	if n >= shipments.MaxOrders {
		return w.requestLabels()
	}
	return nil
}

// requestLabels queues a label request for the collected orders.
func (w *work) requestLabels() error {
	n, err := w.s.reg.shipments.Request(w.tx, w.s.cfg.Name, w.s.cfg.IntegrationID, w.now)
	if errors.Is(err, shipments.ErrNoOrders) {
		return refuse("no_orders", "No orders scanned: scan order numbers first")
	}
	if err != nil {
		return err
	}
	w.notify = true
	w.v.Code, w.v.Message = "requested", fmt.Sprintf("Labels requested for %d orders", n)
	return nil
}

func (w *work) dropOrders() error {
	n, err := shipments.Drop(w.tx, w.actor(), w.s.cfg.Name)
	if errors.Is(err, shipments.ErrNoOrders) {
		return refuse("no_orders", "No orders scanned: nothing to cancel")
	}
	if err != nil {
		return err
	}
	w.v.Code, w.v.Message = "cancelled", fmt.Sprintf("%d scanned orders dropped", n)
	return nil
}

func (w *work) undoOrder() error {
	ref, err := shipments.UndoLast(w.tx, w.actor(), w.s.cfg.Name)
	if errors.Is(err, shipments.ErrNoOrders) {
		return refuse("no_orders", "Nothing to undo: no orders scanned")
	}
	if err != nil {
		return err
	}
	w.v.Code, w.v.Message = "undone", "Order "+ref+" taken off the request"
	return nil
}
