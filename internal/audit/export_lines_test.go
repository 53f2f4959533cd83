package audit_test

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/audit"
)

// TestExport: every entry as a JSON line with its hashes, oldest first,
// then the head; an auditor can recompute the chain from the lines alone.
func TestExport(t *testing.T) {
	db := openDB(t)
	write(t, db, "a", "b")
	require.NoError(t, db.Write(context.Background(), func(tx *sql.Tx) error {
		_, err := audit.WriteSigned(tx, audit.Entry{Actor: "user:Ana", Action: "batch.release", Subject: "AB12", Reason: "<ok> & done", Meaning: "approved"})
		return err
	}))
	var buf bytes.Buffer
	n, head, err := audit.Export(context.Background(), db.Reader(), &buf)
	require.NoError(t, err)
	require.Equal(t, 3, n)

	sc := bufio.NewScanner(&buf)
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	require.Len(t, lines, 4)
	require.Contains(t, lines[2], `"reason":"<ok> & done","meaning":"approved","prev_hash":"`)
	require.NotContains(t, lines[0], `"meaning"`, "no meaning: not a signature")
	prev := audit.Genesis
	for i, l := range lines[:3] {
		var e audit.Entry
		require.NoError(t, json.Unmarshal([]byte(l), &e))
		require.Equal(t, int64(i+1), e.ID)
		require.Equal(t, prev, e.PrevHash)
		require.Equal(t, e.Sum(), e.Hash, "recomputed from the exported line")
		prev = e.Hash
	}
	require.Equal(t, audit.Head{ID: 3, Hash: prev}, head)
	require.JSONEq(t, `{"head":{"id":3,"hash":"`+prev+`"}}`, lines[3])

	buf.Reset()
	n, head, err = audit.Export(context.Background(), openDB(t).Reader(), &buf)
	require.NoError(t, err)
	require.Zero(t, n)
	require.Equal(t, audit.Head{Hash: audit.Genesis}, head)
	require.JSONEq(t, `{"head":{"id":0,"hash":"`+audit.Genesis+`"}}`, buf.String())
}
