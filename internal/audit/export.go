package audit

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"io"
)

// Export writes every entry, oldest first, as one JSON object a line with
// its prev_hash and hash, then a last line {"head":{"id":…,"hash":…}}, all
// from one snapshot of the database. It returns how many entries it wrote
// and the head. The export is written as stored, also when the log is not
// intact: it is the evidence.
func Export(ctx context.Context, db *sql.DB, w io.Writer) (int, Head, error) {
	head := Head{Hash: Genesis}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return 0, head, err
	}
	defer tx.Rollback() //nolint:errcheck // read only
	rows, err := tx.QueryContext(ctx, `SELECT `+columns+` FROM audit_log ORDER BY id`)
	if err != nil {
		return 0, head, err
	}
	defer rows.Close()
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	n := 0
	for rows.Next() {
		e, err := scan(rows)
		if err != nil {
			return n, head, err
		}
		if err := enc.Encode(e); err != nil {
			return n, head, err
		}
		head = Head{ID: e.ID, Hash: e.Hash}
		n++
	}
	if err := rows.Err(); err != nil {
		return n, head, err
	}
	if err := enc.Encode(map[string]Head{"head": head}); err != nil {
		return n, head, err
	}
	return n, head, bw.Flush()
}
