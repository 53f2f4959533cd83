package containers

import (
	"context"
	"database/sql"
	"fmt"
)

// Tree is a container with its items, as the line knows it.
type Tree struct {
	SSCC     string   `json:"sscc"`
	Level    Level    `json:"level"`
	State    State    `json:"state"`
	Station  string   `json:"station"`
	Order    string   `json:"order,omitempty"`    // the packaging order
	Parent   string   `json:"parent,omitempty"`   // the pallet a case is on
	Packs    []string `json:"packs,omitempty"`    // GTIN/serial
	Children []string `json:"children,omitempty"` // SSCCs
}

// StateFilterError is an unknown state asked for in a listing.
type StateFilterError struct{ State string }

func (e *StateFilterError) Error() string {
	return fmt.Sprintf("state %q: must be open, closed, cancelled or disaggregated", e.State)
}

// List lists the containers in a state ("" = all), with their items.
func (c *Containers) List(ctx context.Context, state string) ([]Tree, error) {
	switch State(state) {
	case "", Open, Closed, Cancelled, Disaggregated:
	default:
		return nil, &StateFilterError{State: state}
	}
	rows, err := c.db.Reader().QueryContext(ctx, `SELECT c.sscc, c.level, c.state, c.station, c.order_id,
		COALESCE((SELECT p.sscc FROM container_items p WHERE p.child = c.sscc), ''), i.gtin, i.serial, i.child FROM containers c
		LEFT JOIN container_items i ON i.sscc = c.sscc WHERE ? = '' OR c.state = ? ORDER BY c.sscc, i.id`, state, state)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Tree{}
	for rows.Next() {
		var t Tree
		var gtin, serial, child sql.NullString
		if err := rows.Scan(&t.SSCC, &t.Level, &t.State, &t.Station, &t.Order, &t.Parent, &gtin, &serial, &child); err != nil {
			return nil, err
		}
		if len(out) == 0 || out[len(out)-1].SSCC != t.SSCC {
			out = append(out, t)
		}
		last := &out[len(out)-1]
		switch {
		case serial.Valid:
			last.Packs = append(last.Packs, gtin.String+"/"+serial.String)
		case child.Valid:
			last.Children = append(last.Children, child.String)
		}
	}
	return out, rows.Err()
}

// Counts counts containers by level and state, from the counters that
// triggers keep with every change to the containers (see
// internal/store/migrations/0009_counters.sql); counts of 0 are left out.
func (c *Containers) Counts(ctx context.Context) (map[Level]map[State]int, error) {
	rows, err := c.db.Reader().QueryContext(ctx, `SELECT k1, k2, n FROM counters WHERE what = 'containers' AND n != 0`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[Level]map[State]int{}
	for rows.Next() {
		var l Level
		var s State
		var n int
		if err := rows.Scan(&l, &s, &n); err != nil {
			return nil, err
		}
		if out[l] == nil {
			out[l] = map[State]int{}
		}
		out[l][s] = n
	}
	return out, rows.Err()
}
