// Package audit writes and reads the audit log: who changed what, from
// what to what, and why. Every domain package writes its entries in the
// same transaction as the change they describe.
//
// # Append-only
//
// The database refuses to change or delete an entry (triggers on
// audit_log answer "the audit log is append-only"), and refuses a new
// entry that does not extend the chain below. Entries are written only
// through Write and WriteSigned.
//
// # The hash chain
//
// Every entry carries the hash of the entry before it (prev_hash) and its
// own hash, both as 64 lowercase hexadecimal characters of a SHA-256 sum.
// The first entry's prev_hash is Genesis (64 zeros). An entry's hash is
//
//	hash = hex(SHA-256(prev_hash || field(id) || field(at) || field(actor) ||
//	                   field(action) || field(subject) || field(old) ||
//	                   field(new) || field(reason) || field(meaning)))
//
// where prev_hash is its 64 ASCII characters as stored, and field(v) is
// the length of v in bytes as an unsigned 64-bit big-endian integer (8
// bytes) followed by the bytes of v in UTF-8. id is written in decimal
// without leading zeros (entry 12 is the two bytes "12"), at exactly as
// stored (RFC 3339 UTC, e.g. 2025-03-04T10:15:02.123456789Z), old and new
// are the old_value and new_value columns, and meaning is the empty string
// for an entry that is not an electronic signature. The length prefixes
// make the encoding unambiguous: no two different entries encode alike.
//
// Anyone can recompute the chain from an export (edgeagent audit export)
// or from the database with the formula above. An entry changed after it
// was written no longer matches its hash; a deleted entry leaves a gap in
// the ids and a broken link; rewriting an entry and every hash after it
// changes the head, so record the head (the last line of an export, or
// what edgeagent audit verify prints) where the agent cannot change it,
// for example in the batch record. Verify checks all of this.
package audit

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Genesis is the prev_hash of the first entry.
const Genesis = "0000000000000000000000000000000000000000000000000000000000000000"

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
	// Meaning is what an electronic signature means (21 CFR 11.50:
	// review, approval, responsibility, authorship); empty for an entry
	// that is not a signature.
	Meaning  string `json:"meaning,omitempty"`
	PrevHash string `json:"prev_hash"`
	Hash     string `json:"hash"`
}

// Sum computes the entry's hash from its fields and its PrevHash, with the
// encoding described in the package documentation.
func (e Entry) Sum() string {
	h := sha256.New()
	h.Write([]byte(e.PrevHash))
	var n [8]byte
	for _, f := range []string{strconv.FormatInt(e.ID, 10), e.At, e.Actor, e.Action, e.Subject, e.Old, e.New, e.Reason, e.Meaning} {
		binary.BigEndian.PutUint64(n[:], uint64(len(f)))
		h.Write(n[:])
		h.Write([]byte(f))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// now is the clock of Write; tests set it.
var now = time.Now

// Write appends an entry inside tx.
//
// An actor made by Signed carries the meaning of an electronic signature:
// the entry is then the signed record of the act.
func Write(tx *sql.Tx, actor, action, subject, old, new, reason string) error {
	actor, meaning, _ := strings.Cut(actor, signedSep)
	_, err := appendEntry(tx, Entry{Actor: actor, Action: action, Subject: subject, Old: old, New: new, Reason: reason, Meaning: meaning})
	return err
}

const signedSep = "\x1f"

// Signed is an actor who signed the act with the given meaning (e.g.
// "approved"): passed as the actor of a domain act, Write records the
// signature in the act's own entry, in the act's transaction.
func Signed(actor, meaning string) string { return actor + signedSep + meaning }

// Signer splits an actor made by Signed into who signed and the meaning of
// the signature; any other actor has no meaning.
func Signer(actor string) (who, meaning string) {
	who, meaning, _ = strings.Cut(actor, signedSep)
	return who, meaning
}

// WriteSigned appends an electronic signature inside tx: e's Actor (who
// signs), Action, Subject, Old, New, Reason and Meaning (what the
// signature means, e.g. "approved"); its ID, At and hashes are set here.
// It returns the entry as written, with its id and hash, so that the
// signed record can be linked to it.
func WriteSigned(tx *sql.Tx, e Entry) (Entry, error) {
	if strings.TrimSpace(e.Meaning) == "" {
		return Entry{}, errors.New("audit: a signature needs its meaning (for example approved or reviewed)")
	}
	if strings.TrimSpace(e.Actor) == "" {
		return Entry{}, errors.New("audit: a signature needs the name of the person who signs")
	}
	return appendEntry(tx, e)
}

// appendEntry links e to the newest entry and inserts it. Reading the
// newest entry and inserting after it is safe without further locking:
// every write to the database goes through the store's single writer
// connection, one transaction at a time, so no other entry can be
// appended between the read and the insert.
func appendEntry(tx *sql.Tx, e Entry) (Entry, error) {
	var last int64
	var head sql.NullString
	err := tx.QueryRow(`SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1`).Scan(&last, &head)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		head = sql.NullString{String: Genesis, Valid: true}
	case err != nil:
		return Entry{}, err
	case !head.Valid:
		return Entry{}, fmt.Errorf("audit: entry #%d has no hash: it was added outside edgeagent; run edgeagent audit verify", last)
	}
	e.ID = last + 1
	e.At = now().UTC().Format(time.RFC3339Nano)
	e.PrevHash = head.String
	e.Hash = e.Sum()
	_, err = tx.Exec(`INSERT INTO audit_log (id, at, actor, action, subject, old_value, new_value, reason, meaning, prev_hash, hash)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.ID, e.At, e.Actor, e.Action, e.Subject, e.Old, e.New, e.Reason, nullable(e.Meaning), e.PrevHash, e.Hash)
	if err != nil {
		return Entry{}, err
	}
	return e, nil
}

// nullable stores an empty meaning as NULL: not a signature.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// Seal gives the entries that have no hash yet their place in the chain,
// in id order, and returns how many it sealed. The migration that brought
// the chain (0007) runs it once, for the entries written before it; the
// database refuses new entries without a hash, so afterwards there is
// nothing to seal. The agent never seals on its own: an entry without a
// hash can only have been added outside edgeagent, and Verify names it.
func Seal(tx *sql.Tx) (int, error) {
	var firstOpen, lastSealed sql.NullInt64
	if err := tx.QueryRow(`SELECT (SELECT MIN(id) FROM audit_log WHERE hash IS NULL), (SELECT MAX(id) FROM audit_log WHERE hash IS NOT NULL)`).
		Scan(&firstOpen, &lastSealed); err != nil {
		return 0, err
	}
	if !firstOpen.Valid {
		return 0, nil
	}
	prev := Genesis
	if lastSealed.Valid {
		if lastSealed.Int64 > firstOpen.Int64 {
			return 0, fmt.Errorf("audit: entry #%d has no hash but entries after it have: seal only entries that follow the chain", firstOpen.Int64)
		}
		if err := tx.QueryRow(`SELECT hash FROM audit_log WHERE id = ?`, lastSealed.Int64).Scan(&prev); err != nil {
			return 0, err
		}
	}
	// In steps, so that no query is open while its rows are updated.
	sealed := 0
	after := firstOpen.Int64 - 1
	for {
		batch, err := readEntries(tx, `WHERE id > ? AND hash IS NULL ORDER BY id LIMIT 500`, after)
		if err != nil {
			return sealed, err
		}
		if len(batch) == 0 {
			return sealed, nil
		}
		for _, e := range batch {
			e.PrevHash = prev
			e.Hash = e.Sum()
			if _, err := tx.Exec(`UPDATE audit_log SET prev_hash = ?, hash = ? WHERE id = ?`, e.PrevHash, e.Hash, e.ID); err != nil {
				return sealed, err
			}
			prev, after = e.Hash, e.ID
			sealed++
		}
	}
}

// columns are the columns of an Entry, in Entry's order; scan reads them.
const columns = `id, at, actor, action, subject, old_value, new_value, reason, COALESCE(meaning, ''), COALESCE(prev_hash, ''), COALESCE(hash, '')`

type scanner interface{ Scan(dest ...any) error }

func scan(r scanner) (Entry, error) {
	var e Entry
	err := r.Scan(&e.ID, &e.At, &e.Actor, &e.Action, &e.Subject, &e.Old, &e.New, &e.Reason, &e.Meaning, &e.PrevHash, &e.Hash)
	return e, err
}

// querier is a *sql.DB or a *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// readEntries reads the entries selected by where (with args) in tx.
func readEntries(tx *sql.Tx, where string, args ...any) ([]Entry, error) {
	return query(context.Background(), tx, where, args...)
}

func query(ctx context.Context, q querier, where string, args ...any) ([]Entry, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+columns+` FROM audit_log `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		e, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// Newest lists the newest entries, newest first.
func Newest(ctx context.Context, db *sql.DB, limit int) ([]Entry, error) {
	return query(ctx, db, `ORDER BY id DESC LIMIT ?`, limit)
}
