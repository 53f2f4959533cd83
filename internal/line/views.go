package line

import (
	"context"
	"database/sql"
	"time"
)

// LabelOrderView is a label order with its progress.
type LabelOrderView struct {
	OrderID     string         `json:"order_id"`
	GTIN        string         `json:"gtin"`
	Batch       string         `json:"batch"`
	Destination string         `json:"destination"`
	Status      string         `json:"status"`
	Message     string         `json:"message,omitempty"`
	Planned     int            `json:"planned"` // quantity plus extra labels
	Labels      map[string]int `json:"labels"`  // by state
	CreatedAt   time.Time      `json:"created_at"`
}

// Done is how many labels came out (printed) of those planned.
func (o LabelOrderView) Done() int { return o.Labels["printed"] }

// Percent is the order's progress, 0-100.
func (o LabelOrderView) Percent() int {
	if o.Planned == 0 {
		return 0
	}
	return min(100, 100*o.Done()/o.Planned)
}

// LabelOrders lists the newest label orders with their label counts.
func (l *Line) LabelOrders(ctx context.Context, limit int) ([]LabelOrderView, error) {
	db := l.db.Reader()
	rows, err := db.QueryContext(ctx, `SELECT order_id, gtin, batch, destination, status, message, quantity + extra, created_at
		FROM label_orders ORDER BY created_at DESC, order_id LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	var out []LabelOrderView
	for rows.Next() {
		var o LabelOrderView
		var at int64
		if err := rows.Scan(&o.OrderID, &o.GTIN, &o.Batch, &o.Destination, &o.Status, &o.Message, &o.Planned, &at); err != nil {
			rows.Close()
			return nil, err
		}
		o.CreatedAt, o.Labels = time.UnixMilli(at), map[string]int{}
		out = append(out, o)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		r, err := db.QueryContext(ctx, `SELECT state, COUNT(*) FROM labels WHERE order_id = ? GROUP BY state`, out[i].OrderID)
		if err != nil {
			return nil, err
		}
		for r.Next() {
			var st string
			var n int
			if err := r.Scan(&st, &n); err != nil {
				r.Close()
				return nil, err
			}
			out[i].Labels[st] = n
		}
		r.Close()
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
func (l *Line) PackagingOrders(ctx context.Context, limit int) ([]PackagingOrderView, error) {
	rows, err := l.db.Reader().QueryContext(ctx, `SELECT p.order_id, json_extract(p.data, '$.product_code'), COALESCE(json_extract(p.data, '$.batch'), ''),
		COALESCE(json_extract(p.data, '$.expiry_date'), ''), p.status, p.origin,
		(SELECT COUNT(*) FROM containers c WHERE c.order_id = p.order_id AND c.level = 'case' AND c.state = 'closed')
		FROM packaging_orders p ORDER BY p.created_at DESC LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []PackagingOrderView
	for rows.Next() {
		var o PackagingOrderView
		if err := rows.Scan(&o.OrderID, &o.Product, &o.Batch, &o.Expiry, &o.Status, &o.Origin, &o.Cases); err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// AuditEntry is one line of the audit log.
type AuditEntry struct {
	ID      int64  `json:"id"`
	At      string `json:"at"`
	Actor   string `json:"actor"`
	Action  string `json:"action"`
	Subject string `json:"subject"`
	Old     string `json:"old"`
	New     string `json:"new"`
	Reason  string `json:"reason"`
}

// Audit lists the newest audit log entries.
func (l *Line) Audit(ctx context.Context, limit int) ([]AuditEntry, error) {
	rows, err := l.db.Reader().QueryContext(ctx, `SELECT id, at, actor, action, subject, old_value, new_value, reason FROM audit_log ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var a AuditEntry
		if err := rows.Scan(&a.ID, &a.At, &a.Actor, &a.Action, &a.Subject, &a.Old, &a.New, &a.Reason); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// Counts are the line's totals, for the overview and the metrics.
type Counts struct {
	Labels     map[string]int            // by state
	Serials    map[string]map[string]int // GTIN → state → count
	Containers map[string]map[string]int // level → state → count
	LabelOrder map[string]int            // by status
}

// Counts reads the totals. Every query is answered from an index.
func (l *Line) Counts(ctx context.Context) (Counts, error) {
	c := Counts{Labels: map[string]int{}, Serials: map[string]map[string]int{}, Containers: map[string]map[string]int{},
		LabelOrder: map[string]int{}}
	db := l.db.Reader()
	each := func(q string, fn func(r *sql.Rows) error) error {
		rows, err := db.QueryContext(ctx, q)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if err := fn(rows); err != nil {
				return err
			}
		}
		return rows.Err()
	}
	var k1, k2 string
	var n int
	steps := []struct {
		q  string
		fn func(*sql.Rows) error
	}{
		{`SELECT state, COUNT(*) FROM labels GROUP BY state`, func(r *sql.Rows) error {
			err := r.Scan(&k1, &n)
			c.Labels[k1] = n
			return err
		}},
		{`SELECT gtin, state, COUNT(*) FROM serials GROUP BY gtin, state`, func(r *sql.Rows) error {
			err := r.Scan(&k1, &k2, &n)
			if c.Serials[k1] == nil {
				c.Serials[k1] = map[string]int{}
			}
			c.Serials[k1][k2] = n
			return err
		}},
		{`SELECT level, state, COUNT(*) FROM containers GROUP BY state, level`, func(r *sql.Rows) error {
			err := r.Scan(&k1, &k2, &n)
			if c.Containers[k1] == nil {
				c.Containers[k1] = map[string]int{}
			}
			c.Containers[k1][k2] = n
			return err
		}},
		{`SELECT status, COUNT(*) FROM label_orders GROUP BY status`, func(r *sql.Rows) error {
			err := r.Scan(&k1, &n)
			c.LabelOrder[k1] = n
			return err
		}},
	}
	for _, s := range steps {
		if err := each(s.q, s.fn); err != nil {
			return c, err
		}
	}
	return c, nil
}

// Name is the line's name.
func (l *Line) Name() string { return l.cfg.Name }

// LabelView is one label, for the printers page.
type LabelView struct {
	ID      int64     `json:"id"`
	OrderID string    `json:"order_id"`
	Serial  string    `json:"serial"`
	Printer string    `json:"printer"`
	State   string    `json:"state"`
	At      time.Time `json:"at"`
}

// RecentLabels lists the last labels handled.
func (l *Line) RecentLabels(ctx context.Context, n int) ([]LabelView, error) {
	rows, err := l.db.Reader().QueryContext(ctx, `SELECT id, order_id, serial, printer, state, updated_at FROM labels ORDER BY id DESC LIMIT ?`, n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []LabelView
	for rows.Next() {
		var v LabelView
		var at int64
		if err := rows.Scan(&v.ID, &v.OrderID, &v.Serial, &v.Printer, &v.State, &at); err != nil {
			return nil, err
		}
		v.At = time.UnixMilli(at)
		out = append(out, v)
	}
	return out, rows.Err()
}
