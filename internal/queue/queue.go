package queue

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/edgeagent/edgeagent/internal/store"
)

// Item is a fact bound for the cloud.
type Item struct {
	Kind   string // what to send: commission, decommission, aggregate, …
	Stream string // FIFO scope: items of one stream are delivered in order
	Key    string // natural key, unique per kind: the same fact is never queued twice
	// BatchKey groups items that one request may carry together: consecutive
	// items of a stream with the same kind and batch key are batched.
	BatchKey  string
	Payload   []byte
	DependsOn []Ref // items that must be delivered first
}

// Ref names an item by kind and natural key.
type Ref struct{ Kind, Key string }

// States of an item.
const (
	StatePending   = "pending"
	StateDelivered = "delivered"
	StateParked    = "parked"
)

// ErrDiskFull means the item could not be stored: the caller must refuse
// the work it reports.
var ErrDiskFull = store.ErrDiskFull

// ErrConflict is an item whose natural key is queued already with another
// payload.
var ErrConflict = errors.New("queue: the same key is queued with a different payload")

func nowMS() int64 { return time.Now().UnixMilli() }

// Outbox enqueues items. It prepares its statements once per write
// transaction, however many writes share it.
type Outbox struct{ db *store.DB }

// New returns the outbox of a database.
func New(db *store.DB) *Outbox { return &Outbox{db: db} }

// Enqueue adds an item inside the caller's transaction (a store.Write), so
// that it is stored if and only if the state change it reports is. Queuing
// the same kind and key again with the same payload is a no-op returning
// the first item's ID.
func (o *Outbox) Enqueue(tx *sql.Tx, it Item) (int64, error) {
	ids, err := o.EnqueueMany(tx, []Item{it})
	if err != nil {
		return 0, err
	}
	return ids[0], nil
}

const (
	insertItem = `INSERT INTO outbox (kind, stream, key, batch_key, payload, created_at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (kind, key) DO NOTHING`
	findItem  = `SELECT id, state, payload FROM outbox WHERE kind = ? AND key = ?`
	insertDep = `INSERT OR IGNORE INTO outbox_deps (item, depends_on) VALUES (?, ?)`
)

// EnqueueMany adds items inside the caller's transaction.
func (o *Outbox) EnqueueMany(tx *sql.Tx, items []Item) ([]int64, error) {
	ins, err := o.db.Stmt(tx, insertItem)
	if err != nil {
		return nil, err
	}
	find, err := o.db.Stmt(tx, findItem)
	if err != nil {
		return nil, err
	}
	ids := make([]int64, len(items))
	now := nowMS()
	for i, it := range items {
		if it.Kind == "" || it.Stream == "" || it.Key == "" {
			return nil, fmt.Errorf("queue: an item needs a kind, a stream and a key")
		}
		res, err := ins.Exec(it.Kind, it.Stream, it.Key, it.BatchKey, it.Payload, now)
		if err != nil {
			return nil, err
		}
		if n, err := res.RowsAffected(); err != nil {
			return nil, err
		} else if n == 0 {
			// Queued before: the same fact is fine, another is a conflict.
			var state string
			var payload []byte
			if err := find.QueryRow(it.Kind, it.Key).Scan(&ids[i], &state, &payload); err != nil {
				return nil, err
			}
			if !bytes.Equal(payload, it.Payload) {
				return nil, fmt.Errorf("%w: %s %s", ErrConflict, it.Kind, it.Key)
			}
			continue
		}
		if ids[i], err = res.LastInsertId(); err != nil {
			return nil, err
		}
		for _, d := range it.DependsOn {
			var dep int64
			var state string
			var payload []byte
			err := find.QueryRow(d.Kind, d.Key).Scan(&dep, &state, &payload)
			if errors.Is(err, sql.ErrNoRows) || state == StateDelivered {
				continue // delivered long ago, or never ours to send
			}
			if err != nil {
				return nil, err
			}
			dst, err := o.db.Stmt(tx, insertDep)
			if err != nil {
				return nil, err
			}
			if _, err := dst.Exec(ids[i], dep); err != nil {
				return nil, err
			}
		}
	}
	return ids, nil
}

// EnqueueNow stores one item in its own write and returns once it is
// committed.
func (o *Outbox) EnqueueNow(ctx context.Context, it Item) (int64, error) {
	var id int64
	err := o.db.Write(ctx, func(tx *sql.Tx) error {
		var err error
		id, err = o.Enqueue(tx, it)
		return err
	})
	return id, err
}
