package audit

import (
	"database/sql"
	"strings"
	"time"
)

// SetClock makes Write stamp entries with f's time until restore is called.
func SetClock(f func() time.Time) (restore func()) {
	now = f
	return func() { now = time.Now }
}

// Plan is SQLite's query plan for Query with f, one step a line.
func Plan(db *sql.DB, f Filter) (string, error) {
	where, args := f.where()
	rows, err := db.Query(`EXPLAIN QUERY PLAN SELECT `+columns+` FROM audit_log `+where+` ORDER BY id DESC LIMIT ?`, append(args, 10)...)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			return "", err
		}
		plan = append(plan, detail)
	}
	return strings.Join(plan, "\n"), rows.Err()
}
