package ledger

import (
	"database/sql"
	"fmt"
)

// OrderBook is what the ledger holds of one label order's pack labels and
// their serials, read inside a transaction for the order's reconciliation.
type OrderBook struct {
	// Labels counts the order's labels by state; Reprints is how many
	// times its labels were sent again after an unknown outcome.
	Labels   map[LabelState]int
	Reprints int
	// Printed counts the serials of the order's printed labels by the
	// serial's state ("" for a serial the ledger does not have);
	// Decommissioned those decommissioned, by reason.
	Printed        map[SerialState]int
	Decommissioned map[string]int
	// VoidedOut counts the serials of voided labels that are out of
	// circulation (decommissioned), as every one of them should be.
	VoidedOut int
	// The outbox items of the order's serials not yet delivered.
	CommissionsPending, CommissionsParked     int
	DecommissionsPending, DecommissionsParked int
	// Open lists the first of the order's labels still queued, printing
	// or unknown: unknown ones first.
	Open []OpenLabel
	// Odometer is the printer's odometer over the order.
	Odometer OrderOdometer
}

// OpenLabel is a label of an order that is not finished with.
type OpenLabel struct {
	ID     int64      `json:"id"`
	Serial string     `json:"serial"`
	State  LabelState `json:"state"`
}

// OrderOdometer is what the printer's odometer said over an order, as its
// runner read it around each label.
type OrderOdometer struct {
	// Read is false when no label of the order has a reading (a printer
	// without an odometer, a file transport).
	Read bool
	// Start is the odometer before the order's first label left, End the
	// one that confirmed its last.
	Start, End int64
	// Other counts the printer's labels of anything else (other orders,
	// SSCC, shipping and test labels) it confirmed in between.
	Other int
	// Unread counts the order's printed labels that no reading confirmed
	// (a person resolved them as printed).
	Unread int
}

// Book reads what the ledger holds of a label order inside tx; open bounds
// the labels listed in Open.
func Book(tx *sql.Tx, orderID string, open int) (OrderBook, error) {
	b := OrderBook{Labels: map[LabelState]int{}, Printed: map[SerialState]int{}, Decommissioned: map[string]int{}}
	rows, err := tx.Query(`SELECT state, COUNT(*), COALESCE(SUM(reprints), 0) FROM labels WHERE order_id = ? GROUP BY state`, orderID)
	if err != nil {
		return b, err
	}
	for rows.Next() {
		var s LabelState
		var n, re int
		if err := rows.Scan(&s, &n, &re); err != nil {
			rows.Close()
			return b, err
		}
		b.Labels[s], b.Reprints = n, b.Reprints+re
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return b, err
	}

	rows, err = tx.Query(`SELECT COALESCE(s.state, ''), COALESCE(s.reason, ''), COUNT(*) FROM labels l
		LEFT JOIN serials s ON s.gtin = l.gtin AND s.serial = l.serial
		WHERE l.order_id = ? AND l.state = 'printed' GROUP BY 1, 2`, orderID)
	if err != nil {
		return b, err
	}
	for rows.Next() {
		var s SerialState
		var reason string
		var n int
		if err := rows.Scan(&s, &reason, &n); err != nil {
			rows.Close()
			return b, err
		}
		b.Printed[s] += n
		if s == SerialDecommissioned {
			b.Decommissioned[reason] += n
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return b, err
	}

	if err := tx.QueryRow(`SELECT COUNT(*) FROM labels l JOIN serials s ON s.gtin = l.gtin AND s.serial = l.serial
		WHERE l.order_id = ? AND l.state = 'voided' AND s.state = 'decommissioned'`, orderID).Scan(&b.VoidedOut); err != nil {
		return b, err
	}

	// The outbox's items are keyed GTIN/serial (facts.CommissionItem,
	// DecommissionItem); delivered ones may have been purged already.
	rows, err = tx.Query(`SELECT o.kind, o.state, COUNT(*) FROM labels l
		JOIN outbox o ON o.kind IN ('commission', 'decommission') AND o.key = l.gtin || '/' || l.serial
		WHERE l.order_id = ? AND o.state != 'delivered' GROUP BY 1, 2`, orderID)
	if err != nil {
		return b, err
	}
	for rows.Next() {
		var kind, state string
		var n int
		if err := rows.Scan(&kind, &state, &n); err != nil {
			rows.Close()
			return b, err
		}
		switch kind + "/" + state {
		case "commission/pending":
			b.CommissionsPending = n
		case "commission/parked":
			b.CommissionsParked = n
		case "decommission/pending":
			b.DecommissionsPending = n
		case "decommission/parked":
			b.DecommissionsParked = n
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return b, err
	}

	if open > 0 {
		rows, err = tx.Query(`SELECT id, serial, state FROM labels WHERE order_id = ? AND state IN ('unknown', 'printing', 'queued')
			ORDER BY CASE state WHEN 'unknown' THEN 0 WHEN 'printing' THEN 1 ELSE 2 END, id LIMIT ?`, orderID, open)
		if err != nil {
			return b, err
		}
		for rows.Next() {
			var ol OpenLabel
			if err := rows.Scan(&ol.ID, &ol.Serial, &ol.State); err != nil {
				rows.Close()
				return b, err
			}
			b.Open = append(b.Open, ol)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return b, err
		}
	}

	b.Odometer, err = orderOdometer(tx, orderID)
	return b, err
}

// orderOdometer reads the printer's odometer over an order: from before
// its first label (the lowest reading before one of its labels left; an
// odometer only counts up) to the confirmation of its last, and what else
// the printer confirmed in between.
func orderOdometer(tx *sql.Tx, orderID string) (OrderOdometer, error) {
	var o OrderOdometer
	var start, end sql.NullInt64
	var printer sql.NullString
	if err := tx.QueryRow(`SELECT MIN(odo_before), MAX(odo_after), COALESCE(SUM(state = 'printed' AND odo_after IS NULL), 0), MIN(printer)
		FROM labels WHERE order_id = ?`, orderID).Scan(&start, &end, &o.Unread, &printer); err != nil {
		return o, err
	}
	if !start.Valid || !end.Valid {
		return o, nil
	}
	o.Read, o.Start, o.End = true, start.Int64, end.Int64
	err := tx.QueryRow(`SELECT COUNT(*) FROM labels WHERE printer = ? AND odo_after > ? AND odo_after <= ? AND order_id IS NOT ?`,
		printer.String, o.Start, o.End, orderID).Scan(&o.Other)
	if err != nil {
		return o, fmt.Errorf("the printer's other labels: %w", err)
	}
	return o, nil
}
