package orders

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/edgeagent/edgeagent/internal/audit"
	"github.com/edgeagent/edgeagent/internal/containers"
	"github.com/edgeagent/edgeagent/internal/facts"
	"github.com/edgeagent/edgeagent/internal/ledger"
	"github.com/edgeagent/edgeagent/internal/v2"
)

// Packaging order statuses the line itself sets (others come from the
// cloud as they are).
const (
	PackagingOpen       = "Open"
	PackagingInProgress = "In progress"
)

// MarketError is an order for a market the product is not registered for.
type MarketError struct {
	Field, Market string
}

func (e *MarketError) Error() string {
	return fmt.Sprintf("%s: the product is registered for market %s", e.Field, e.Market)
}

// CreatePackagingOrder stores a packaging order created on this line and
// queues it for the cloud. It starts Open; its product and batch become
// known master data.
func (o *Orders) CreatePackagingOrder(ctx context.Context, actor string, po v2.PackagingOrder) (v2.PackagingOrder, error) {
	if err := po.Validate(); err != nil {
		return po, err
	}
	if po.ProductCode != "" && !v2.ValidGS1Key(po.ProductCode, 14) {
		return po, &v2.FieldError{Field: "product_code", Rule: "must be a GTIN-14: 14 digits with a valid check digit"}
	}
	po.Status = PackagingOpen
	data, _ := json.Marshal(po)
	err := o.db.Write(ctx, func(tx *sql.Tx) error {
		var exists int
		if err := tx.QueryRow(`SELECT COUNT(*) FROM packaging_orders WHERE order_id = ?`, po.OrderID).Scan(&exists); err != nil {
			return err
		}
		if exists > 0 {
			return ErrPackagingOrderExists
		}
		p, err := ledger.ProductOf(tx, po.ProductCode)
		if err != nil {
			return err
		}
		if po.Market != "" && p.Market != "" && po.Market != p.Market {
			return &MarketError{Field: "market", Market: p.Market}
		}
		if po.Batch != "" {
			if err := ledger.AddProduct(tx, po.ProductCode, "", map[string]string{po.Batch: po.ExpiryDate}); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(`INSERT INTO packaging_orders (order_id, data, status, origin, line, created_at) VALUES (?, ?, 'Open', 'local', ?, ?)`,
			po.OrderID, data, o.cfg.Line, nowMS()); err != nil {
			return err
		}
		if _, err := o.ledger.Outbox().Enqueue(tx, facts.PackagingOrderItem(po)); err != nil {
			return err
		}
		return audit.Write(tx, actor, "packaging_order.create", po.OrderID, "", PackagingOpen, "")
	})
	if err == nil {
		o.ledger.Notify()
	}
	return po, err
}

// OpenPackagingOrders lists the orders in status Open, oldest first.
func (o *Orders) OpenPackagingOrders(ctx context.Context) ([]v2.PackagingOrder, error) {
	rows, err := o.db.Reader().QueryContext(ctx, `SELECT data FROM packaging_orders WHERE status = 'Open' ORDER BY created_at, order_id`)
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
		var po v2.PackagingOrder
		if err := json.Unmarshal(data, &po); err != nil {
			return nil, err
		}
		out = append(out, po)
	}
	return out, rows.Err()
}

// PackagingOrderDetails reads one order.
func (o *Orders) PackagingOrderDetails(ctx context.Context, orderID string) (v2.PackagingOrder, error) {
	var ck v2.Checker
	ck.Required("order_id", orderID)
	ck.Length("order_id", orderID, 255)
	if err := ck.Result(); err != nil {
		return v2.PackagingOrder{}, err
	}
	var data []byte
	var status string
	err := o.db.Reader().QueryRowContext(ctx, `SELECT data, status FROM packaging_orders WHERE order_id = ?`, orderID).Scan(&data, &status)
	if errors.Is(err, sql.ErrNoRows) {
		return v2.PackagingOrder{}, ErrPackagingOrderNotFound
	}
	if err != nil {
		return v2.PackagingOrder{}, err
	}
	var po v2.PackagingOrder
	if err := json.Unmarshal(data, &po); err != nil {
		return po, err
	}
	po.Status = status
	return po, nil
}

// Packaging is a packaging order as a station needs it.
type Packaging struct {
	ID, ProductCode, Batch, Expiry string
}

// PackagingOf reads a packaging order inside tx; nil when it is not known.
func PackagingOf(tx *sql.Tx, id string) (*Packaging, error) {
	var p Packaging
	err := tx.QueryRow(`SELECT order_id, json_extract(data, '$.product_code'), COALESCE(json_extract(data, '$.batch'), ''), COALESCE(json_extract(data, '$.expiry_date'), '')
		FROM packaging_orders WHERE order_id = ?`, id).Scan(&p.ID, &p.ProductCode, &p.Batch, &p.Expiry)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return &p, err
}

// ActivePackaging lists up to n packaging orders open on the line, oldest
// first.
func ActivePackaging(tx *sql.Tx, n int) ([]string, error) {
	rows, err := tx.Query(`SELECT order_id FROM packaging_orders WHERE status IN ('Open', 'In progress') ORDER BY created_at LIMIT ?`, n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		ids = append(ids, s)
	}
	return ids, rows.Err()
}

// Decommission takes serials out of circulation at once on the line, and
// queues the decommission for the cloud (after the serials' commission).
// Every serial must be printed and in no container; one refusal refuses
// them all.
func (o *Orders) Decommission(ctx context.Context, actor string, d v2.Decommission) ([]v2.SerialStatus, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	out := make([]v2.SerialStatus, len(d.Serials))
	send := d.SendToMarket != nil && *d.SendToMarket
	err := o.db.Write(ctx, func(tx *sql.Tx) error {
		p, err := ledger.ProductOf(tx, d.ProductCode)
		if err != nil {
			return err
		}
		if d.MarketID != "" && p.Market != "" && d.MarketID != p.Market {
			return &MarketError{Field: "market_id", Market: p.Market}
		}
		for i, sn := range d.Serials {
			if in, err := containers.HolderOfPack(tx, d.ProductCode, sn); err != nil {
				return err
			} else if in != "" {
				return &containers.InContainerError{Item: "serial " + sn, Container: in}
			}
			if _, err := o.ledger.Decommission(tx, actor, d.ProductCode, sn, d.Reason, d.MarketID, send); err != nil {
				return err
			}
			out[i] = v2.SerialStatus{SerialNumber: sn, Status: "Decommissioned"}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	o.ledger.Notify()
	return out, nil
}

// AddCloudPackagingOrders stores packaging orders read from the cloud that
// the line does not have yet; their products and batches become known.
// It returns how many were new.
func (o *Orders) AddCloudPackagingOrders(ctx context.Context, pos []v2.PackagingOrder) (int, error) {
	added := 0
	err := o.db.Write(ctx, func(tx *sql.Tx) error {
		added = 0
		for _, po := range pos {
			if po.OrderID == "" || po.ProductCode == "" {
				continue
			}
			status := po.Status
			if status == "" {
				status = PackagingOpen
			}
			data, _ := json.Marshal(po)
			res, err := tx.Exec(`INSERT INTO packaging_orders (order_id, data, status, origin, line, created_at) VALUES (?, ?, ?, 'cloud', ?, ?)
				ON CONFLICT (order_id) DO NOTHING`, po.OrderID, data, status, o.cfg.Line, nowMS())
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				continue
			}
			added++
			batches := map[string]string{}
			if po.Batch != "" {
				batches[po.Batch] = po.ExpiryDate
			}
			if err := ledger.AddProduct(tx, po.ProductCode, po.Market, batches); err != nil {
				return err
			}
			if err := audit.Write(tx, "cloud", "packaging_order.pull", po.OrderID, "", status, ""); err != nil {
				return err
			}
		}
		return nil
	})
	return added, err
}

// LabelOrderView is a label order with its progress.
type LabelOrderView struct {
	OrderID     string         `json:"order_id"`
	GTIN        string         `json:"gtin"`
	Batch       string         `json:"batch"`
	Destination string         `json:"destination"`
	Status      State          `json:"status"`
	Message     string         `json:"message,omitempty"`
	Planned     int            `json:"planned"` // quantity plus extra labels
	Labels      map[string]int `json:"labels"`  // by state
	CreatedAt   time.Time      `json:"created_at"`
}

// Done is how many labels came out (printed) of those planned.
func (v LabelOrderView) Done() int { return v.Labels[string(ledger.LabelPrinted)] }

// Percent is the order's progress, 0-100.
func (v LabelOrderView) Percent() int {
	if v.Planned == 0 {
		return 0
	}
	return min(100, 100*v.Done()/v.Planned)
}

// LabelOrders lists the newest label orders with their label counts: the
// orders from the front of their index by creation, the counts from the
// counters.
func (o *Orders) LabelOrders(ctx context.Context, limit int) ([]LabelOrderView, error) {
	rows, err := o.db.Reader().QueryContext(ctx, `SELECT order_id, gtin, batch, destination, `+statusColumn+`, message, quantity + extra, created_at
		FROM label_orders ORDER BY created_at DESC, order_id LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	var out []LabelOrderView
	for rows.Next() {
		var v LabelOrderView
		var at int64
		if err := rows.Scan(&v.OrderID, &v.GTIN, &v.Batch, &v.Destination, &v.Status, &v.Message, &v.Planned, &at); err != nil {
			rows.Close()
			return nil, err
		}
		v.CreatedAt, v.Labels = time.UnixMilli(at), map[string]int{}
		out = append(out, v)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		counts, err := o.ledger.OrderCounts(ctx, out[i].OrderID)
		if err != nil {
			return nil, err
		}
		for s, n := range counts {
			out[i].Labels[string(s)] = n
		}
	}
	return out, nil
}

// PackagingOrderView is a packaging order as the dashboard shows it.
type PackagingOrderView struct {
	OrderID string `json:"order_id"`
	Product string `json:"product_code"`
	Batch   string `json:"batch"`
	Expiry  string `json:"expiry_date"`
	Status  string `json:"status"`
	Origin  string `json:"origin"`
	Cases   int    `json:"cases"` // closed cases packed for it
}

// PackagingOrders lists the newest packaging orders.
func (o *Orders) PackagingOrders(ctx context.Context, limit int) ([]PackagingOrderView, error) {
	rows, err := o.db.Reader().QueryContext(ctx, `SELECT p.order_id, json_extract(p.data, '$.product_code'), COALESCE(json_extract(p.data, '$.batch'), ''),
		COALESCE(json_extract(p.data, '$.expiry_date'), ''), p.status, p.origin,
		COALESCE((SELECT n FROM counters c WHERE c.what = 'order_cases' AND c.k1 = p.order_id AND c.k2 = 'closed'), 0)
		FROM packaging_orders p ORDER BY p.created_at DESC LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []PackagingOrderView
	for rows.Next() {
		var v PackagingOrderView
		if err := rows.Scan(&v.OrderID, &v.Product, &v.Batch, &v.Expiry, &v.Status, &v.Origin, &v.Cases); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// StatusCounts counts label orders by status, from the counters that
// triggers keep with every change to the orders (see
// internal/store/migrations/0009_counters.sql); counts of 0 are left out.
func (o *Orders) StatusCounts(ctx context.Context) (map[State]int, error) {
	rows, err := o.db.Reader().QueryContext(ctx, `SELECT k1, n FROM counters WHERE what = 'label_orders' AND n != 0`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[State]int{}
	for rows.Next() {
		var s State
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			return nil, err
		}
		out[s] = n
	}
	return out, rows.Err()
}
