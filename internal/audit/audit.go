// Package audit writes and reads the audit log: who changed what, from
// what to what, and why. Every domain package writes its entries in the
// same transaction as the change they describe.
package audit

import (
	"context"
	"database/sql"
	"time"
)

// Entry is one line of the audit log.
type Entry struct {
	ID      int64  `json:"id"`
	At      string `json:"at"`
	Actor   string `json:"actor"`
	Action  string `json:"action"`
	Subject string `json:"subject"`
	Old     string `json:"old"`
	New     string `json:"new"`
	Reason  string `json:"reason"`
}

// Write appends an entry inside tx.
func Write(tx *sql.Tx, actor, action, subject, old, new, reason string) error {
	_, err := tx.Exec(`INSERT INTO audit_log (at, actor, action, subject, old_value, new_value, reason) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		time.Now().UTC().Format(time.RFC3339Nano), actor, action, subject, old, new, reason)
	return err
}

// Newest lists the newest entries, newest first.
func Newest(ctx context.Context, db *sql.DB, limit int) ([]Entry, error) {
	rows, err := db.QueryContext(ctx, `SELECT id, at, actor, action, subject, old_value, new_value, reason FROM audit_log ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		var a Entry
		if err := rows.Scan(&a.ID, &a.At, &a.Actor, &a.Action, &a.Subject, &a.Old, &a.New, &a.Reason); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}
