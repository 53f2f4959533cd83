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

// Enqueue adds an item inside the caller's transaction, so that it is
// stored if and only if the state change it reports is. Queuing the same
// kind and key again with the same payload is a no-op returning the first
// item's ID.
func Enqueue(tx *sql.Tx, it Item) (int64, error) {
	if it.Kind == "" || it.Stream == "" || it.Key == "" {
		return 0, fmt.Errorf("queue: an item needs a kind, a stream and a key")
	}
	var id int64
	var payload []byte
	err := tx.QueryRow(`SELECT id, payload FROM outbox WHERE kind = ? AND key = ?`, it.Kind, it.Key).Scan(&id, &payload)
	switch {
	case err == nil:
		if !bytes.Equal(payload, it.Payload) {
			return id, fmt.Errorf("%w: %s %s", ErrConflict, it.Kind, it.Key)
		}
		return id, nil
	case !errors.Is(err, sql.ErrNoRows):
		return 0, err
	}
	res, err := tx.Exec(`INSERT INTO outbox (kind, stream, key, batch_key, payload, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		it.Kind, it.Stream, it.Key, it.BatchKey, it.Payload, nowMS())
	if err != nil {
		return 0, err
	}
	if id, err = res.LastInsertId(); err != nil {
		return 0, err
	}
	if _, err := tx.Exec(`INSERT OR IGNORE INTO outbox_streams (stream) VALUES (?)`, it.Stream); err != nil {
		return 0, err
	}
	for _, d := range it.DependsOn {
		var dep int64
		var state string
		err := tx.QueryRow(`SELECT id, state FROM outbox WHERE kind = ? AND key = ?`, d.Kind, d.Key).Scan(&dep, &state)
		if errors.Is(err, sql.ErrNoRows) || state == StateDelivered {
			continue // delivered long ago, or never ours to send
		}
		if err != nil {
			return 0, err
		}
		if _, err := tx.Exec(`INSERT OR IGNORE INTO outbox_deps (item, depends_on) VALUES (?, ?)`, id, dep); err != nil {
			return 0, err
		}
	}
	return id, nil
}

// EnqueueNow stores one item in its own transaction and returns once it is
// committed.
func EnqueueNow(ctx context.Context, db *store.DB, it Item) (int64, error) {
	var id int64
	err := db.Write(ctx, func(tx *sql.Tx) error {
		var err error
		id, err = Enqueue(tx, it)
		return err
	})
	return id, err
}
