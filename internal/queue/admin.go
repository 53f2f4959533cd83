package queue

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/edgeagent/edgeagent/internal/audit"
	"github.com/edgeagent/edgeagent/internal/store"
)

// Stats are the numbers behind the queue metrics.
type Stats struct {
	Pending        int
	Parked         int
	Delivered      int       // still kept (within retention)
	OldestPending  time.Time // zero when nothing is pending
	LastSuccess    time.Time // of this dispatcher
	DeliveredTotal uint64    // by this dispatcher since start
	ParkedTotal    uint64
	// FailingSince is since when the main service (the cloud) has given
	// only temporary failures (zero while it answers); LastFailure is the
	// last reason. Services holds the same for the dispatcher's other
	// services that are failing (Config.Service), by name.
	FailingSince time.Time
	LastFailure  string
	Services     map[string]Reach
}

// Reach is whether a service answers: since when it has given only
// temporary failures (zero while it answers), and the last one's reason.
type Reach struct {
	FailingSince time.Time
	LastFailure  string
}

// Stats reads the depth by state and the age of the oldest pending item.
func (d *Dispatcher) Stats(ctx context.Context) (Stats, error) {
	s, err := ReadStats(ctx, d.db)
	d.mu.Lock()
	s.LastSuccess = d.lastSuccess
	main := d.reach[""]
	s.FailingSince, s.LastFailure = main.FailingSince, main.LastFailure
	for name, r := range d.reach {
		if name != "" {
			if s.Services == nil {
				s.Services = map[string]Reach{}
			}
			s.Services[name] = r
		}
	}
	d.mu.Unlock()
	s.DeliveredTotal, s.ParkedTotal = d.delivered.Load(), d.parked.Load()
	return s, err
}

// ReadStats reads the depth by state from the database, in one statement
// (one snapshot) that costs the same whatever the outbox holds: the depths
// from the counters that triggers keep with every change to the outbox
// (internal/store/migrations/0009_counters.sql), the oldest pending item
// from the front of the index of pending items. The oldest is the first
// queued of those pending, the one that has waited longest.
func ReadStats(ctx context.Context, db *store.DB) (Stats, error) {
	var s Stats
	var oldest sql.NullInt64
	err := db.Reader().QueryRowContext(ctx, statsQuery).Scan(&s.Pending, &s.Parked, &s.Delivered, &oldest)
	if err != nil {
		return s, err
	}
	if oldest.Valid {
		s.OldestPending = time.UnixMilli(oldest.Int64)
	}
	return s, nil
}

const statsQuery = `SELECT
	COALESCE((SELECT n FROM counters WHERE what = 'outbox' AND k1 = 'pending' AND k2 = ''), 0),
	COALESCE((SELECT n FROM counters WHERE what = 'outbox' AND k1 = 'parked' AND k2 = ''), 0),
	COALESCE((SELECT n FROM counters WHERE what = 'outbox' AND k1 = 'delivered' AND k2 = ''), 0),
	(SELECT created_at FROM outbox WHERE state = 'pending' ORDER BY id LIMIT 1)`

// Record is one outbox item as supervisors see it.
type Record struct {
	ID          int64           `json:"id"`
	Kind        string          `json:"kind"`
	Stream      string          `json:"stream"`
	Key         string          `json:"key"`
	State       string          `json:"state"`
	Attempts    int             `json:"attempts"`
	NextAt      *time.Time      `json:"next_at,omitempty"`
	LastError   string          `json:"last_error,omitempty"`
	CreatedAt   time.Time       `json:"created_at"`
	DeliveredAt *time.Time      `json:"delivered_at,omitempty"`
	Payload     json.RawMessage `json:"payload,omitempty"`
}

// List returns items, newest first; state "" means all. With payloads, the
// JSON payload is included.
func List(ctx context.Context, db *store.DB, state string, limit int, payloads bool) ([]Record, error) {
	return list(ctx, db, state, limit, payloads, "DESC")
}

// ListOldest returns the oldest items in a state, first first.
func ListOldest(ctx context.Context, db *store.DB, state string, limit int) ([]Record, error) {
	return list(ctx, db, state, limit, false, "ASC")
}

func list(ctx context.Context, db *store.DB, state string, limit int, payloads bool, order string) ([]Record, error) {
	if state != "" && state != StatePending && state != StateParked && state != StateDelivered {
		return nil, fmt.Errorf("state %q: must be pending, parked or delivered", state)
	}
	rows, err := db.Reader().QueryContext(ctx, listQuery(state, limit, order))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Record
	for rows.Next() {
		r, err := scanRecord(rows, payloads)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// listQuery selects items in a state ("" = all) by id, ASC or DESC. The
// state is written into the query, not bound: SQLite takes the index of
// pending (or parked) items in id order only for a state it sees when it
// plans, and otherwise sorts every item in the state. The caller checked
// that it is one of the three.
func listQuery(state string, limit int, order string) string {
	q := `SELECT id, kind, stream, key, state, attempts, next_at, last_error, created_at, delivered_at, payload FROM outbox`
	if state != "" {
		q += ` WHERE state = '` + state + `'`
	}
	q += ` ORDER BY id ` + order
	if limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", limit)
	}
	return q
}

func scanRecord(rows *sql.Rows, payloads bool) (Record, error) {
	var r Record
	var next, created int64
	var delivered sql.NullInt64
	var payload []byte
	if err := rows.Scan(&r.ID, &r.Kind, &r.Stream, &r.Key, &r.State, &r.Attempts, &next, &r.LastError, &created, &delivered, &payload); err != nil {
		return r, err
	}
	r.CreatedAt = time.UnixMilli(created).UTC()
	if next > 0 && r.State == StatePending {
		t := time.UnixMilli(next).UTC()
		r.NextAt = &t
	}
	if delivered.Valid {
		t := time.UnixMilli(delivered.Int64).UTC()
		r.DeliveredAt = &t
	}
	if payloads && json.Valid(payload) {
		r.Payload = payload
	}
	return r, nil
}

// Export writes every item as JSON lines, oldest first.
func Export(ctx context.Context, db *store.DB, w io.Writer) (int, error) {
	rows, err := db.Reader().QueryContext(ctx, `SELECT id, kind, stream, key, state, attempts, next_at, last_error, created_at, delivered_at, payload FROM outbox ORDER BY id`)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	enc := json.NewEncoder(w)
	n := 0
	for rows.Next() {
		r, err := scanRecord(rows, true)
		if err != nil {
			return n, err
		}
		if err := enc.Encode(r); err != nil {
			return n, err
		}
		n++
	}
	return n, rows.Err()
}

// Get returns one item, without its payload.
func Get(ctx context.Context, db *store.DB, id int64) (Record, error) {
	rows, err := db.Reader().QueryContext(ctx, `SELECT id, kind, stream, key, state, attempts, next_at, last_error, created_at, delivered_at, payload
		FROM outbox WHERE id = ?`, id)
	if err != nil {
		return Record{}, err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return Record{}, err
		}
		return Record{}, fmt.Errorf("%w: %d", ErrNotFound, id)
	}
	r, err := scanRecord(rows, false)
	if err != nil {
		return Record{}, err
	}
	return r, rows.Close()
}

// ErrNotFound is an unknown item ID.
var ErrNotFound = errors.New("no such outbox item")

// ErrReasonRequired: parking an item needs a reason.
var ErrReasonRequired = errors.New("reason: parking an item needs a reason")

// StateError is an item whose state does not allow the act.
type StateError struct {
	ID    int64
	State string
	Rule  string
}

func (e *StateError) Error() string { return fmt.Sprintf("item %d is %s: %s", e.ID, e.State, e.Rule) }

// A RetryHook runs inside a retry's transaction with the item's kind and
// payload, so that the part of the line the item belongs to makes it ready
// to be sent again: a shipping order the carrier refused asks for a new
// label, not the refused one again. An error refuses the retry.
type RetryHook func(tx *sql.Tx, kind string, payload []byte) error

// Retry puts a parked (or pending) item back to be sent at once, with its
// attempts reset; the action is written to the audit log.
func Retry(ctx context.Context, db *store.DB, id int64, actor, reason string, hooks ...RetryHook) error {
	return db.Write(ctx, func(tx *sql.Tx) error {
		var state, kind string
		var payload []byte
		if err := tx.QueryRow(`SELECT state, kind, payload FROM outbox WHERE id = ?`, id).Scan(&state, &kind, &payload); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("%w: %d", ErrNotFound, id)
			}
			return err
		}
		if state == StateDelivered {
			return &StateError{ID: id, State: state, Rule: "nothing to retry"}
		}
		for _, h := range hooks {
			if err := h(tx, kind, payload); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(`UPDATE outbox SET state = 'pending', attempts = 0, next_at = 0 WHERE id = ?`, id); err != nil {
			return err
		}
		return writeAudit(tx, actor, "queue.retry", id, state, StatePending, reason)
	})
}

// Park takes an item out of delivery with a reason; items that depend on it
// wait. The action is written to the audit log.
func Park(ctx context.Context, db *store.DB, id int64, actor, reason string) error {
	if strings.TrimSpace(reason) == "" {
		return ErrReasonRequired
	}
	return db.Write(ctx, func(tx *sql.Tx) error {
		var state string
		if err := tx.QueryRow(`SELECT state FROM outbox WHERE id = ?`, id).Scan(&state); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("%w: %d", ErrNotFound, id)
			}
			return err
		}
		if state != StatePending {
			return &StateError{ID: id, State: state, Rule: "only pending items can be parked"}
		}
		if _, err := tx.Exec(`UPDATE outbox SET state = 'parked', last_error = ? WHERE id = ?`, "parked by "+actor+": "+reason, id); err != nil {
			return err
		}
		return writeAudit(tx, actor, "queue.park", id, state, StateParked, reason)
	})
}

// writeAudit records an action on outbox item id in the audit log, through
// audit.Write like every entry: the log is hash-chained.
func writeAudit(tx *sql.Tx, actor, action string, id int64, old, new, reason string) error {
	return audit.Write(tx, actor, action, fmt.Sprintf("outbox/%d", id), old, new, reason)
}
