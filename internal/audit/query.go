package audit

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// Filter selects entries for Query. Empty fields select everything.
type Filter struct {
	User    string    // the actor, exactly (e.g. "user:Ana", "cli:root")
	Action  string    // exactly, e.g. "label.resolve"
	Subject string    // exactly, e.g. a GTIN/serial or an SSCC
	From    time.Time // entries at or after From
	To      time.Time // entries before To
	Before  int64     // entries with a smaller id: the cursor of the next page
	Limit   int       // at most this many; 0 means 100, and at most 1000
}

// Page sizes of Query.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// atKey is the expression of the audit_log_time index: at with its
// fraction of a second padded to nine digits, so that text order is time
// order. RFC 3339 as written by Write drops trailing zeros of the
// fraction ("10:00:00Z", "10:00:00.5Z"), and "Z" sorts after ".", so the
// column itself does not compare as time within one second. The text
// must stay exactly as in migration 0007 for SQLite to use the index.
const atKey = `(substr(at, 1, 19) || substr(rtrim(substr(at, 21), 'Z') || '000000000', 1, 9))`

// timeKey is atKey of t.
func timeKey(t time.Time) string {
	t = t.UTC()
	return t.Format("2006-01-02T15:04:05") + fmt.Sprintf("%09d", t.Nanosecond())
}

// Query lists the entries that f selects, newest first, a page at a time.
// next is the Before of the following page, or 0 when this page is the
// last. Each filter is served by an index of migration 0007.
func Query(ctx context.Context, db *sql.DB, f Filter) ([]Entry, int64, error) {
	limit := f.Limit
	switch {
	case limit <= 0:
		limit = DefaultLimit
	case limit > MaxLimit:
		limit = MaxLimit
	}
	where, args := f.where()
	// One more than asked tells whether there is a next page.
	out, err := query(ctx, db, where+` ORDER BY id DESC LIMIT ?`, append(args, limit+1)...)
	if err != nil {
		return nil, 0, err
	}
	if len(out) <= limit {
		return out, 0, nil
	}
	out = out[:limit]
	return out, out[limit-1].ID, nil
}

// where is the WHERE clause of f and its arguments.
func (f Filter) where() (string, []any) {
	var conds []string
	var args []any
	add := func(cond string, arg any) { conds, args = append(conds, cond), append(args, arg) }
	if f.User != "" {
		add(`actor = ?`, f.User)
	}
	if f.Action != "" {
		add(`action = ?`, f.Action)
	}
	if f.Subject != "" {
		add(`subject = ?`, f.Subject)
	}
	if !f.From.IsZero() {
		add(atKey+` >= ?`, timeKey(f.From))
	}
	if !f.To.IsZero() {
		add(atKey+` < ?`, timeKey(f.To))
	}
	if f.Before > 0 {
		add(`id < ?`, f.Before)
	}
	if len(conds) == 0 {
		return "", nil
	}
	return `WHERE ` + strings.Join(conds, ` AND `), args
}
