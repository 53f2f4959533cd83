package audit_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"

	_ "github.com/mattn/go-sqlite3"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/audit"
	"github.com/edgeagent/edgeagent/internal/store"
)

// openDB opens a new database with every migration applied.
func openDB(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), store.Config{Path: filepath.Join(t.TempDir(), "data", "x.db")}, zerolog.Nop())
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

// write appends entries with audit.Write, each in its own transaction.
func write(t *testing.T, db *store.DB, actions ...string) {
	t.Helper()
	for _, a := range actions {
		require.NoError(t, db.Write(context.Background(), func(tx *sql.Tx) error {
			return audit.Write(tx, "user:Ana", a, "SUBJ-"+a, "old", "new", "because "+a)
		}))
	}
}

// oldestFirst reads every entry, oldest first.
func oldestFirst(t *testing.T, db *sql.DB) []audit.Entry {
	t.Helper()
	es, err := audit.Newest(context.Background(), db, 1000)
	require.NoError(t, err)
	for i, j := 0, len(es)-1; i < j; i, j = i+1, j-1 {
		es[i], es[j] = es[j], es[i]
	}
	return es
}

// TestHashIsTheDocumentedEncoding: hashes recomputed outside Go (with the
// package documentation's formula, in Python) match Sum.
func TestHashIsTheDocumentedEncoding(t *testing.T) {
	e1 := audit.Entry{ID: 1, At: "2025-03-04T10:15:02.123456789Z", Actor: "user:Ana", Action: "label.resolve",
		Subject: "09506000134352/SN1", Old: "unknown", New: "printed", Reason: "found on the pack", PrevHash: audit.Genesis}
	require.Equal(t, "717c1faed17c9baa79efca8067580b140d687716f27dab598697192620a6ac60", e1.Sum())
	e2 := audit.Entry{ID: 2, At: "2025-03-04T10:16:00Z", Actor: "user:Bő", Action: "batch.release", Subject: "AB12",
		New: "released", Reason: "QA ok", Meaning: "approved", PrevHash: e1.Sum()}
	require.Equal(t, "b6b55c93acc66f91a3bacc258ff28f5aa909219b5fdd81a38d2a63e08958f2db", e2.Sum())
}

// TestHashSeparatesFields: moving text from one field to the next, or
// changing any field, changes the hash.
func TestHashSeparatesFields(t *testing.T) {
	base := audit.Entry{ID: 7, At: "2025-03-04T10:15:02Z", Actor: "ab", Action: "c", PrevHash: audit.Genesis}
	moved := base
	moved.Actor, moved.Action = "a", "bc"
	require.NotEqual(t, base.Sum(), moved.Sum())
	seen := map[string]string{base.Sum(): "base"}
	for name, change := range map[string]func(e *audit.Entry){
		"id":        func(e *audit.Entry) { e.ID = 8 },
		"at":        func(e *audit.Entry) { e.At = "2025-03-04T10:15:03Z" },
		"subject":   func(e *audit.Entry) { e.Subject = "x" },
		"old":       func(e *audit.Entry) { e.Old = "x" },
		"new":       func(e *audit.Entry) { e.New = "x" },
		"reason":    func(e *audit.Entry) { e.Reason = "x" },
		"meaning":   func(e *audit.Entry) { e.Meaning = "x" },
		"prev_hash": func(e *audit.Entry) { e.PrevHash = base.Sum() },
	} {
		e := base
		change(&e)
		other, dup := seen[e.Sum()]
		require.False(t, dup, "%s hashes like %s", name, other)
		seen[e.Sum()] = name
	}
}

// TestWriteChainsEntries: each entry links to the one before, the first to
// Genesis, and carries its own hash; a clean log verifies.
func TestWriteChainsEntries(t *testing.T) {
	db := openDB(t)
	write(t, db, "a", "b", "c")
	es := oldestFirst(t, db.Reader())
	require.Len(t, es, 3)
	prev := audit.Genesis
	for i, e := range es {
		require.Equal(t, int64(i+1), e.ID)
		require.Equal(t, prev, e.PrevHash, "entry #%d links to the one before", e.ID)
		require.Equal(t, e.Sum(), e.Hash)
		require.Empty(t, e.Meaning)
		prev = e.Hash
	}
	require.Equal(t, "because b", es[1].Reason)

	rep, err := audit.Verify(context.Background(), db.Reader())
	require.NoError(t, err)
	require.True(t, rep.Intact(), "%v", rep.Problems)
	require.Equal(t, 3, rep.Entries)
	require.Equal(t, audit.Head{ID: 3, Hash: es[2].Hash}, rep.Head)
}

// TestGroupCommitKeepsTheChain: writes that share one transaction (group
// commit), one of them failing and rolled back, still form one chain.
func TestGroupCommitKeepsTheChain(t *testing.T) {
	db, err := store.Open(context.Background(), store.Config{Path: filepath.Join(t.TempDir(), "data", "x.db"), MaxBatch: 8, MaxDelay: 0}, zerolog.Nop())
	require.NoError(t, err)
	defer db.Close()
	errs := make(chan error, 40)
	for i := range 40 {
		go func() {
			errs <- db.Write(context.Background(), func(tx *sql.Tx) error {
				if err := audit.Write(tx, "agent", "test.write", "", "", "", ""); err != nil {
					return err
				}
				if i%5 == 0 {
					return errors.New("refused") // this write is rolled back with its entry
				}
				return nil
			})
		}()
	}
	failed := 0
	for range 40 {
		if <-errs != nil {
			failed++
		}
	}
	require.Equal(t, 8, failed)
	rep, err := audit.Verify(context.Background(), db.Reader())
	require.NoError(t, err)
	require.True(t, rep.Intact(), "%v", rep.Problems)
	require.Equal(t, 32, rep.Entries)
	require.Equal(t, int64(32), rep.Head.ID)
}

// TestWriteSigned: a signature keeps its meaning, in the hash too, and
// needs one.
func TestWriteSigned(t *testing.T) {
	db := openDB(t)
	write(t, db, "a")
	var signed audit.Entry
	require.NoError(t, db.Write(context.Background(), func(tx *sql.Tx) error {
		var err error
		signed, err = audit.WriteSigned(tx, audit.Entry{Actor: "user:Ana", Action: "batch.release", Subject: "AB12",
			Old: "packed", New: "released", Reason: "line clearance done", Meaning: "approved"})
		return err
	}))
	require.Equal(t, int64(2), signed.ID)
	require.NotEmpty(t, signed.At)
	require.Equal(t, signed.Sum(), signed.Hash)
	es := oldestFirst(t, db.Reader())
	require.Equal(t, signed, es[1], "returned as stored")
	require.Equal(t, es[0].Hash, signed.PrevHash)

	err := db.Write(context.Background(), func(tx *sql.Tx) error {
		_, err := audit.WriteSigned(tx, audit.Entry{Actor: "user:Ana", Action: "batch.release", Subject: "AB12"})
		return err
	})
	require.EqualError(t, err, "audit: a signature needs its meaning (for example approved or reviewed)")
	err = db.Write(context.Background(), func(tx *sql.Tx) error {
		_, err := audit.WriteSigned(tx, audit.Entry{Action: "batch.release", Meaning: "approved"})
		return err
	})
	require.EqualError(t, err, "audit: a signature needs the name of the person who signs")

	var meaning sql.NullString
	require.NoError(t, db.Reader().QueryRow(`SELECT meaning FROM audit_log WHERE id = 1`).Scan(&meaning))
	require.False(t, meaning.Valid, "an entry that is not a signature has no meaning")
}

// TestDatabaseRefusesChanges: the database itself refuses to change or
// delete an entry, and an entry that does not extend the chain.
func TestDatabaseRefusesChanges(t *testing.T) {
	db := openDB(t)
	write(t, db, "a", "b")
	es := oldestFirst(t, db.Reader())
	for _, stmt := range []string{
		`UPDATE audit_log SET reason = 'x' WHERE id = 2`,
		`UPDATE audit_log SET hash = '` + es[0].Hash + `' WHERE id = 2`,
		`UPDATE audit_log SET meaning = 'approved' WHERE id = 1`,
		`DELETE FROM audit_log WHERE id = 2`,
		`DELETE FROM audit_log`,
	} {
		err := db.Write(context.Background(), func(tx *sql.Tx) error { _, err := tx.Exec(stmt); return err })
		require.ErrorContains(t, err, "the audit log is append-only", stmt)
	}
	for _, stmt := range []string{
		// The way entries were written before the chain.
		`INSERT INTO audit_log (at, actor, action) VALUES ('2025-01-01T00:00:00Z', 'x', 'y')`,
		// A valid-looking entry that does not link to the newest one.
		`INSERT INTO audit_log (id, at, actor, action, prev_hash, hash) VALUES (3, '2025-01-01T00:00:00Z', 'x', 'y', '` + es[0].Hash + `', '` + es[0].Hash + `')`,
		// Linked, but not the next id.
		`INSERT INTO audit_log (id, at, actor, action, prev_hash, hash) VALUES (9, '2025-01-01T00:00:00Z', 'x', 'y', '` + es[1].Hash + `', '` + es[0].Hash + `')`,
	} {
		err := db.Write(context.Background(), func(tx *sql.Tx) error { _, err := tx.Exec(stmt); return err })
		require.ErrorContains(t, err, "the audit log is append-only: a new entry must follow the newest one in the chain", stmt)
	}
	require.Equal(t, es, oldestFirst(t, db.Reader()), "nothing changed")
}

// tamper stops the agent's database and runs stmts on the file the way
// someone with the sqlite3 shell would, then opens it read-only, as
// edgeagent audit verify does, and verifies it.
func tamper(t *testing.T, db *store.DB, stmts ...string) audit.Report {
	t.Helper()
	path := db.Path()
	require.NoError(t, db.Close())
	raw, err := sql.Open("sqlite3", "file:"+path)
	require.NoError(t, err)
	for _, s := range stmts {
		_, err := raw.Exec(s)
		require.NoError(t, err, s)
	}
	require.NoError(t, raw.Close())
	ro, err := store.OpenReadOnly(context.Background(), store.Config{Path: path}, zerolog.Nop())
	require.NoError(t, err)
	defer ro.Close()
	rep, err := audit.Verify(context.Background(), ro.Reader())
	require.NoError(t, err)
	return rep
}

func TestVerifyNamesAnEditedEntry(t *testing.T) {
	db := openDB(t)
	write(t, db, "a", "b", "c")
	es := oldestFirst(t, db.Reader())
	rep := tamper(t, db, `DROP TRIGGER audit_log_no_update`, `UPDATE audit_log SET reason = 'x' WHERE id = 2`)
	require.False(t, rep.Intact())
	require.Equal(t, []audit.Problem{{ID: 2, Kind: audit.Edited,
		Detail: "entry #2 was changed after it was written: its contents do not match its hash " + es[1].Hash}}, rep.Problems)
	require.Equal(t, 3, rep.Entries)
	require.Equal(t, audit.Head{ID: 3, Hash: es[2].Hash}, rep.Head)
}

func TestVerifyNamesAnEditedSignatureMeaning(t *testing.T) {
	db := openDB(t)
	require.NoError(t, db.Write(context.Background(), func(tx *sql.Tx) error {
		_, err := audit.WriteSigned(tx, audit.Entry{Actor: "user:Ana", Action: "batch.release", Subject: "AB12", Meaning: "reviewed"})
		return err
	}))
	rep := tamper(t, db, `DROP TRIGGER audit_log_no_update`, `UPDATE audit_log SET meaning = 'approved' WHERE id = 1`)
	require.Len(t, rep.Problems, 1)
	require.Equal(t, audit.Problem{ID: 1, Kind: audit.Edited, Detail: rep.Problems[0].Detail}, rep.Problems[0])
}

func TestVerifyNamesADeletedEntry(t *testing.T) {
	db := openDB(t)
	write(t, db, "a", "b", "c")
	rep := tamper(t, db, `DROP TRIGGER audit_log_no_delete`, `DELETE FROM audit_log WHERE id = 2`)
	require.Equal(t, []audit.Problem{{ID: 2, Kind: audit.Deleted, Detail: "entry #2 is missing: it was deleted"}}, rep.Problems)
	require.Equal(t, 2, rep.Entries)

	db = openDB(t)
	write(t, db, "a", "b", "c", "d", "e")
	rep = tamper(t, db, `DROP TRIGGER audit_log_no_delete`, `DELETE FROM audit_log WHERE id IN (1, 3, 4)`)
	require.Equal(t, []audit.Problem{
		{ID: 1, Kind: audit.Deleted, Detail: "entry #1 is missing: it was deleted"},
		{ID: 3, Kind: audit.Deleted, Detail: "entries #3 to #4 are missing: they were deleted"},
	}, rep.Problems)
}

// TestVerifyNamesABrokenLink: an entry rewritten with a fresh hash matches
// itself, but the next entry no longer follows it.
func TestVerifyNamesABrokenLink(t *testing.T) {
	db := openDB(t)
	write(t, db, "a", "b", "c")
	es := oldestFirst(t, db.Reader())
	forged := es[1]
	forged.Reason = "x"
	forged.Hash = forged.Sum()
	rep := tamper(t, db, `DROP TRIGGER audit_log_no_update`,
		`UPDATE audit_log SET reason = 'x', hash = '`+forged.Hash+`' WHERE id = 2`)
	require.Equal(t, []audit.Problem{{ID: 3, Kind: audit.BrokenLink,
		Detail: "entry #3 does not follow entry #2: its prev_hash " + es[1].Hash + " is not #2's hash " + forged.Hash + " (one of them was rewritten)"}}, rep.Problems)

	db = openDB(t)
	write(t, db, "a")
	rep = tamper(t, db, `DROP TRIGGER audit_log_no_update`, `UPDATE audit_log SET prev_hash = '`+es[0].Hash+`' WHERE id = 1`)
	require.Equal(t, audit.Problem{ID: 1, Kind: audit.BrokenLink,
		Detail: "entry #1 does not start the chain: its prev_hash is " + es[0].Hash + ", not " + audit.Genesis}, rep.Problems[0])
}

// TestVerifyNamesAnEntryAddedOutside: an entry inserted by hand has no
// hash; the agent refuses to write after it rather than seal it.
func TestVerifyNamesAnEntryAddedOutside(t *testing.T) {
	db := openDB(t)
	write(t, db, "a")
	path := db.Path()
	rep := tamper(t, db, `DROP TRIGGER audit_log_append`,
		`INSERT INTO audit_log (at, actor, action) VALUES ('2025-01-01T00:00:00Z', 'user:Eve', 'label.resolve')`)
	require.Equal(t, []audit.Problem{
		{ID: 2, Kind: audit.BrokenLink, Detail: rep.Problems[0].Detail},
		{ID: 2, Kind: audit.Unsealed, Detail: "entry #2 has no hash: it was added outside edgeagent"},
	}, rep.Problems)

	db, err := store.Open(context.Background(), store.Config{Path: path}, zerolog.Nop())
	require.NoError(t, err)
	defer db.Close()
	err = db.Write(context.Background(), func(tx *sql.Tx) error { return audit.Write(tx, "agent", "x", "", "", "", "") })
	require.EqualError(t, err, "audit: entry #2 has no hash: it was added outside edgeagent; run edgeagent audit verify")
}

// TestCheckHead: removing the newest entries leaves an intact chain; the
// head recorded before shows it.
func TestCheckHead(t *testing.T) {
	db := openDB(t)
	write(t, db, "a", "b", "c")
	rep, err := audit.Verify(context.Background(), db.Reader())
	require.NoError(t, err)
	recorded := rep.Head
	require.NoError(t, audit.CheckHead(context.Background(), db.Reader(), recorded))
	write(t, db, "d")
	require.NoError(t, audit.CheckHead(context.Background(), db.Reader(), recorded), "later entries keep the recorded head")
	require.NoError(t, audit.CheckHead(context.Background(), db.Reader(), audit.Head{Hash: audit.Genesis}))
	require.EqualError(t, audit.CheckHead(context.Background(), db.Reader(), audit.Head{ID: 3, Hash: audit.Genesis}),
		"entry #3 has hash "+recorded.Hash+", not "+audit.Genesis+" as recorded earlier: the log was rewritten")

	rep = tamper(t, db, `DROP TRIGGER audit_log_no_delete`, `DELETE FROM audit_log WHERE id >= 3`)
	require.True(t, rep.Intact(), "a shorter chain is intact by itself")
	require.Equal(t, int64(2), rep.Head.ID)
	ro, err := store.OpenReadOnly(context.Background(), store.Config{Path: db.Path()}, zerolog.Nop())
	require.NoError(t, err)
	defer ro.Close()
	require.EqualError(t, audit.CheckHead(context.Background(), ro.Reader(), recorded),
		"entry #3, the head recorded earlier, is missing: entries were deleted")
}

func TestVerifyEmptyLog(t *testing.T) {
	db := openDB(t)
	rep, err := audit.Verify(context.Background(), db.Reader())
	require.NoError(t, err)
	require.True(t, rep.Intact())
	require.Equal(t, audit.Report{Head: audit.Head{Hash: audit.Genesis}}, rep)
}
