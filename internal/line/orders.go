package line

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/edgeagent/edgeagent/internal/facts"
	"github.com/edgeagent/edgeagent/internal/v2"
)

// CreatePackagingOrder stores a packaging order created on this line and
// queues it for the cloud. It starts Open; its product and batch become
// known master data.
func (l *Line) CreatePackagingOrder(ctx context.Context, actor string, o v2.PackagingOrder) (v2.PackagingOrder, error) {
	if err := o.Validate(); err != nil {
		return o, v2.Validation(err)
	}
	if o.ProductCode != "" && !v2.ValidGS1Key(o.ProductCode, 14) {
		return o, v2.Validation(&v2.FieldError{Field: "product_code", Rule: "must be a GTIN-14: 14 digits with a valid check digit"})
	}
	o.Status = "Open"
	data, _ := json.Marshal(o)
	err := l.db.Write(ctx, func(tx *sql.Tx) error {
		var exists int
		if err := tx.QueryRow(`SELECT COUNT(*) FROM packaging_orders WHERE order_id = ?`, o.OrderID).Scan(&exists); err != nil {
			return err
		}
		if exists > 0 {
			return v2.Refuse(409, "Packaging order already exists!")
		}
		var market string
		err := tx.QueryRow(`SELECT market FROM products WHERE gtin = ?`, o.ProductCode).Scan(&market)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return v2.RefuseProduct
		case err != nil:
			return err
		case o.Market != "" && market != "" && o.Market != market:
			return v2.Validation(&v2.FieldError{Field: "market", Rule: fmt.Sprintf("the product is registered for market %s", market)})
		}
		if o.Batch != "" {
			if err := addProduct(tx, o.ProductCode, "", map[string]string{o.Batch: o.ExpiryDate}); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(`INSERT INTO packaging_orders (order_id, data, status, origin, line, created_at) VALUES (?, ?, 'Open', 'local', ?, ?)`,
			o.OrderID, data, l.cfg.Name, nowMS()); err != nil {
			return err
		}
		if _, err := l.outbox.Enqueue(tx, facts.PackagingOrderItem(o)); err != nil {
			return err
		}
		return audit(tx, actor, "packaging_order.create", o.OrderID, "", "Open", "")
	})
	if err == nil {
		l.notify()
	}
	return o, err
}

// OpenPackagingOrders lists the orders in status Open, oldest first.
func (l *Line) OpenPackagingOrders(ctx context.Context) ([]v2.PackagingOrder, error) {
	rows, err := l.db.Reader().QueryContext(ctx, `SELECT data FROM packaging_orders WHERE status = 'Open' ORDER BY created_at, order_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []v2.PackagingOrder{}
	for rows.Next() {
		var data []byte
		if err := rows.Scan(&data); err != nil {
			return nil, err
		}
		var o v2.PackagingOrder
		if err := json.Unmarshal(data, &o); err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// PackagingOrderDetails reads one order.
func (l *Line) PackagingOrderDetails(ctx context.Context, orderID string) (v2.PackagingOrder, error) {
	var ck v2.Checker
	ck.Required("order_id", orderID)
	ck.Length("order_id", orderID, 255)
	if err := ck.Result(); err != nil {
		return v2.PackagingOrder{}, v2.Validation(err)
	}
	var data []byte
	var status string
	err := l.db.Reader().QueryRowContext(ctx, `SELECT data, status FROM packaging_orders WHERE order_id = ?`, orderID).Scan(&data, &status)
	if errors.Is(err, sql.ErrNoRows) {
		return v2.PackagingOrder{}, v2.Refuse(404, "Packaging order not found")
	}
	if err != nil {
		return v2.PackagingOrder{}, err
	}
	var o v2.PackagingOrder
	if err := json.Unmarshal(data, &o); err != nil {
		return o, err
	}
	o.Status = status
	return o, nil
}

// Decommission takes serials out of circulation at once on the line, and
// queues the decommission for the cloud (after the serials' commission).
func (l *Line) Decommission(ctx context.Context, actor string, d v2.Decommission) ([]v2.SerialStatus, error) {
	if err := d.Validate(); err != nil {
		return nil, v2.Validation(err)
	}
	out := make([]v2.SerialStatus, len(d.Serials))
	err := l.db.Write(ctx, func(tx *sql.Tx) error {
		var market string
		err := tx.QueryRow(`SELECT market FROM products WHERE gtin = ?`, d.ProductCode).Scan(&market)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return v2.RefuseProduct
		case err != nil:
			return err
		case d.MarketID != "" && market != "" && d.MarketID != market:
			return v2.Validation(&v2.FieldError{Field: "market_id", Rule: fmt.Sprintf("the product is registered for market %s", market)})
		}
		now := nowMS()
		for i, sn := range d.Serials {
			var state, batch, expiry string
			err := tx.QueryRow(`SELECT state, batch, expiry FROM serials WHERE gtin = ? AND serial = ?`, d.ProductCode, sn).Scan(&state, &batch, &expiry)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				return v2.Refuse(404, fmt.Sprintf("Serial %s not found", sn))
			case err != nil:
				return err
			case state == "decommissioned":
				return v2.Refuse(409, fmt.Sprintf("Serial %s is already Decommissioned", sn))
			case state != "printed" && state != "commissioned":
				return v2.Refuse(409, fmt.Sprintf("Serial %s is %s: only printed serials are decommissioned", sn, state))
			}
			if _, err := tx.Exec(`UPDATE serials SET state = 'decommissioned', reason = ?, updated_at = ? WHERE gtin = ? AND serial = ?`, d.Reason, now, d.ProductCode, sn); err != nil {
				return err
			}
			f := facts.SerialFact{ProductCode: d.ProductCode, Batch: batch, ExpiryDate: expiry, Serial: sn, Reason: d.Reason, MarketID: d.MarketID}
			if d.SendToMarket != nil {
				f.SendToMarket = *d.SendToMarket
			}
			if _, err := l.outbox.Enqueue(tx, facts.DecommissionItem(d.ProductCode+"/"+batch, f)); err != nil {
				return err
			}
			if err := audit(tx, actor, "serial.decommission", d.ProductCode+"/"+sn, state, "decommissioned", d.Reason); err != nil {
				return err
			}
			out[i] = v2.SerialStatus{SerialNumber: sn, Status: "Decommissioned"}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	l.notify()
	return out, nil
}

// AddCloudPackagingOrders stores packaging orders read from the cloud that
// the line does not have yet; their products and batches become known.
// It returns how many were new.
func (l *Line) AddCloudPackagingOrders(ctx context.Context, orders []v2.PackagingOrder) (int, error) {
	added := 0
	err := l.db.Write(ctx, func(tx *sql.Tx) error {
		added = 0
		for _, o := range orders {
			if o.OrderID == "" || o.ProductCode == "" {
				continue
			}
			status := o.Status
			if status == "" {
				status = "Open"
			}
			data, _ := json.Marshal(o)
			res, err := tx.Exec(`INSERT INTO packaging_orders (order_id, data, status, origin, line, created_at) VALUES (?, ?, ?, 'cloud', ?, ?)
				ON CONFLICT (order_id) DO NOTHING`, o.OrderID, data, status, l.cfg.Name, nowMS())
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				continue
			}
			added++
			batches := map[string]string{}
			if o.Batch != "" {
				batches[o.Batch] = o.ExpiryDate
			}
			if err := addProduct(tx, o.ProductCode, o.Market, batches); err != nil {
				return err
			}
			if err := audit(tx, "cloud", "packaging_order.pull", o.OrderID, "", status, ""); err != nil {
				return err
			}
		}
		return nil
	})
	return added, err
}
