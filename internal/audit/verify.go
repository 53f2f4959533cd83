package audit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Head is the newest entry of the chain: whoever records it can later
// check that nothing up to it was changed or removed.
type Head struct {
	ID   int64  `json:"id"`
	Hash string `json:"hash"`
}

// String is how the CLI prints a head: "#ID HASH".
func (h Head) String() string { return fmt.Sprintf("#%d %s", h.ID, h.Hash) }

// What is wrong with an entry.
const (
	// Edited: the entry's contents do not match its hash.
	Edited = "edited"
	// Deleted: entries are missing before this one (a gap in the ids).
	Deleted = "deleted"
	// BrokenLink: the entry's prev_hash is not the hash of the entry before.
	BrokenLink = "broken link"
	// Unsealed: the entry has no hash at all.
	Unsealed = "unsealed"
)

// Problem is one thing wrong with the log, at entry ID.
type Problem struct {
	ID     int64  `json:"id"`
	Kind   string `json:"kind"` // Edited, Deleted, BrokenLink or Unsealed
	Detail string `json:"detail"`
}

func (p Problem) String() string { return p.Detail }

// maxProblems bounds the problems a Report lists; the rest are counted.
const maxProblems = 100

// Report is the outcome of Verify.
type Report struct {
	// Entries is how many entries were checked: all of them.
	Entries int `json:"entries"`
	// Head is the newest entry, as stored; ID 0 and Genesis when the log
	// is empty.
	Head Head `json:"head"`
	// Problems lists what is wrong, in id order (at most 100; Omitted
	// counts the others). None means the log is intact.
	Problems []Problem `json:"problems,omitempty"`
	Omitted  int       `json:"omitted,omitempty"`
}

// Intact reports whether no problem was found.
func (r Report) Intact() bool { return len(r.Problems) == 0 }

func (r *Report) add(id int64, kind, format string, args ...any) {
	if len(r.Problems) >= maxProblems {
		r.Omitted++
		return
	}
	r.Problems = append(r.Problems, Problem{ID: id, Kind: kind, Detail: fmt.Sprintf(format, args...)})
}

// Verify walks the whole chain, oldest entry first, in one snapshot of
// the database (the agent may keep writing), and reports every entry that
// was changed, removed or added outside edgeagent. The error is for a
// database that cannot be read; a damaged log is a Report with Problems.
//
// Removing the newest entries leaves an intact, shorter chain: compare the
// Head with one recorded earlier (CheckHead).
func Verify(ctx context.Context, db *sql.DB) (Report, error) {
	rep := Report{Head: Head{Hash: Genesis}}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return rep, err
	}
	defer tx.Rollback() //nolint:errcheck // read only
	rows, err := tx.QueryContext(ctx, `SELECT `+columns+`, hash IS NULL FROM audit_log ORDER BY id`)
	if err != nil {
		return rep, err
	}
	defer rows.Close()
	prev := Head{Hash: Genesis} // the entry before, as stored
	for rows.Next() {
		var e Entry
		var unsealed bool
		if err := rows.Scan(&e.ID, &e.At, &e.Actor, &e.Action, &e.Subject, &e.Old, &e.New, &e.Reason, &e.Meaning, &e.PrevHash, &e.Hash, &unsealed); err != nil {
			return rep, err
		}
		rep.Entries++
		switch {
		case e.ID == prev.ID+2:
			rep.add(prev.ID+1, Deleted, "entry #%d is missing: it was deleted", prev.ID+1)
		case e.ID > prev.ID+2:
			rep.add(prev.ID+1, Deleted, "entries #%d to #%d are missing: they were deleted", prev.ID+1, e.ID-1)
		case e.PrevHash != prev.Hash && prev.ID == 0:
			rep.add(e.ID, BrokenLink, "entry #%d does not start the chain: its prev_hash is %s, not %s", e.ID, show(e.PrevHash), Genesis)
		case e.PrevHash != prev.Hash:
			rep.add(e.ID, BrokenLink, "entry #%d does not follow entry #%d: its prev_hash %s is not #%d's hash %s (one of them was rewritten)",
				e.ID, prev.ID, show(e.PrevHash), prev.ID, show(prev.Hash))
		}
		switch {
		case unsealed:
			rep.add(e.ID, Unsealed, "entry #%d has no hash: it was added outside edgeagent", e.ID)
		case e.Sum() != e.Hash:
			rep.add(e.ID, Edited, "entry #%d was changed after it was written: its contents do not match its hash %s", e.ID, show(e.Hash))
		}
		prev = Head{ID: e.ID, Hash: e.Hash}
	}
	if err := rows.Err(); err != nil {
		return rep, err
	}
	rep.Head = prev
	return rep, nil
}

// show prints a stored hash, however damaged, for a message.
func show(h string) string {
	if h == "" {
		return "empty"
	}
	return h
}

// CheckHead checks that the log still holds the head h recorded earlier
// (from an export's last line, or printed by Verify): entry h.ID exists
// with hash h.Hash. Together with an intact Report, this shows that no
// entry up to h was changed or removed since h was recorded.
func CheckHead(ctx context.Context, db *sql.DB, h Head) error {
	if h.ID == 0 {
		return nil // the empty log's head is held by every log
	}
	var hash sql.NullString
	err := db.QueryRowContext(ctx, `SELECT hash FROM audit_log WHERE id = ?`, h.ID).Scan(&hash)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("entry #%d, the head recorded earlier, is missing: entries were deleted", h.ID)
	case err != nil:
		return err
	case hash.String != h.Hash:
		return fmt.Errorf("entry #%d has hash %s, not %s as recorded earlier: the log was rewritten", h.ID, show(hash.String), h.Hash)
	}
	return nil
}
