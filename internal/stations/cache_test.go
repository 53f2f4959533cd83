package stations

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/containers"
	"github.com/edgeagent/edgeagent/internal/store"
)

// packScanStatements bounds the statements of one pack scan into an open
// case: BEGIN, the savepoint, the serial's ledger row, the pack's holder,
// the pack into the case, the savepoint's release, the verdict's row and
// COMMIT. The station, its packaging order and the case's count come from
// memory.
const packScanStatements = 8

// inCase counts a container's items in the database.
func inCase(t *testing.T, db *store.DB, sscc string) int {
	t.Helper()
	var n int
	require.NoError(t, db.Reader().QueryRow(`SELECT COUNT(*) FROM container_items WHERE sscc = ?`, sscc).Scan(&n))
	return n
}

func TestAPackScanRunsFewStatements(t *testing.T) {
	var stats store.Stats
	path := filepath.Join(t.TempDir(), "data", "l.db")
	cfg := store.Config{Path: path, MaxBatch: 64, Stats: &stats}
	l, db := openLineWith(t, cfg, StationConfig{Name: "a"})
	serials := printLabels(t, l, "LO-1", 6)
	scan := handlerOf(t, l, "a")
	sscc := scan(command(CmdNew)).Container
	packs := func(from int, serials []string) {
		t.Helper()
		for i, s := range serials {
			before := stats.Snapshot()
			v := scan(packScan(t, s, "AB12"))
			ran := stats.Snapshot().Sub(before)
			require.Equal(t, "added", v.Code, v.Message)
			assert.Equal(t, from+i+1, v.Count)
			assert.Equal(t, sscc, v.Container)
			assert.Equal(t, int64(1), ran.Transactions)
			if from > 0 && i == 0 {
				// The first scan after a start reads the station, its
				// case and its count.
				assert.Greater(t, ran.Statements, int64(packScanStatements))
				continue
			}
			assert.LessOrEqual(t, ran.Statements, int64(packScanStatements), "pack %d", from+i)
		}
		assert.Equal(t, from+len(serials), inCase(t, db, sscc), "what the verdicts said is stored")
	}
	packs(0, serials[:3])

	// A restart starts from the database.
	require.NoError(t, db.Close())
	l, db = openLineWith(t, cfg, StationConfig{Name: "a"})
	defer db.Close()
	scan = handlerOf(t, l, "a")
	packs(3, serials[3:])
	v := scan(command(CmdClose))
	require.Equal(t, "closed", v.Code, v.Message)
	assert.Equal(t, 6, v.Count)
}

// A station's count of its open case follows items taken out of it
// elsewhere: by a supervisor, by another station's REMOVE.
func TestAStationSeesItsCaseChangedElsewhere(t *testing.T) {
	l, db := openLine(t, filepath.Join(t.TempDir(), "data", "l.db"), StationConfig{Name: "a", CaseCapacity: 2}, StationConfig{Name: "b"})
	defer db.Close()
	ctx := context.Background()
	serials := printLabels(t, l, "LO-1", 5)
	a, b := handlerOf(t, l, "a"), handlerOf(t, l, "b")
	sscc := a(command(CmdNew)).Container
	require.Equal(t, "added", a(packScan(t, serials[0], "AB12")).Code)
	require.Equal(t, "added", a(packScan(t, serials[1], "AB12")).Code)
	require.Equal(t, "full", a(packScan(t, serials[2], "AB12")).Code)

	in, err := l.containers.Remove(ctx, "ana", containers.Item{GTIN: testGTIN, Serial: serials[0]}, "damaged")
	require.NoError(t, err)
	require.Equal(t, sscc, in)
	v := a(packScan(t, serials[2], "AB12"))
	require.Equal(t, "added", v.Code, "there is room again: %s", v.Message)
	assert.Equal(t, 2, v.Count)

	require.Equal(t, "remove_next", b(command(CmdRemove)).Code)
	require.Equal(t, "removed", b(packScan(t, serials[2], "AB12")).Code)
	v = a(packScan(t, serials[3], "AB12"))
	require.Equal(t, "added", v.Code, v.Message)
	assert.Equal(t, 2, v.Count)
	v = a(packScan(t, serials[4], "AB12"))
	assert.Equal(t, "full", v.Code, v.Message)
	assert.Equal(t, 2, v.Count)
	assert.Equal(t, 2, inCase(t, db, sscc))
}

// failScans makes the writer fail to store the verdict of a scan whose
// read contains marker (or, with "", of no scan), after the scan's other
// changes were made in its transaction.
func failScans(t *testing.T, db *store.DB, marker string) {
	t.Helper()
	require.NoError(t, db.Write(context.Background(), func(tx *sql.Tx) error {
		if _, err := tx.Exec(`DROP TRIGGER IF EXISTS temp.fail_scan`); err != nil || marker == "" {
			return err
		}
		_, err := tx.Exec(fmt.Sprintf(`CREATE TEMP TRIGGER fail_scan BEFORE INSERT ON main.scans WHEN instr(NEW.raw, '%s') > 0
			BEGIN SELECT RAISE(ABORT, 'the disk failed'); END`, marker))
		return err
	}))
}

// A scan whose transaction fails leaves nothing behind, in the database
// or in the station: the next scans see the station as it is stored.
func TestAFailedScanLeavesTheStationAsStored(t *testing.T) {
	l, db := openLine(t, filepath.Join(t.TempDir(), "data", "l.db"), StationConfig{Name: "a"})
	defer db.Close()
	ctx := context.Background()
	serials := printLabels(t, l, "LO-1", 3)
	st, _ := l.Station("a")
	scan := handler(t, st)
	sscc := scan(command(CmdNew)).Container
	require.Equal(t, "added", scan(packScan(t, serials[0], "AB12")).Code)

	failScans(t, db, serials[1])
	_, err := st.Handle(ctx, packScan(t, serials[1], "AB12"))
	require.ErrorContains(t, err, "the disk failed")
	failScans(t, db, CmdClose)
	_, err = st.Handle(ctx, command(CmdClose))
	require.ErrorContains(t, err, "the disk failed")
	failScans(t, db, "")

	v := scan(packScan(t, serials[2], "AB12"))
	require.Equal(t, "added", v.Code, "the case is still open: %s", v.Message)
	assert.Equal(t, sscc, v.Container)
	assert.Equal(t, 2, v.Count, "the failed pack is not in the case")
	v = scan(packScan(t, serials[1], "AB12"))
	require.Equal(t, "added", v.Code, "the failed pack goes in when scanned again: %s", v.Message)
	assert.Equal(t, 3, v.Count)
	v = scan(command(CmdClose))
	require.Equal(t, "closed", v.Code, v.Message)
	assert.Equal(t, 3, v.Count)
	assert.Equal(t, 3, inCase(t, db, sscc))
}

// Packs scanned at a station while a supervisor takes packs out of the
// same case, the writes sharing transactions: every verdict's count is one
// the case had, and the count the station ends with is the stored one.
func TestAStationsCountHoldsWhilePacksAreTakenOut(t *testing.T) {
	l, db := openLine(t, filepath.Join(t.TempDir(), "data", "l.db"), StationConfig{Name: "a"})
	defer db.Close()
	ctx := context.Background()
	const n = 40
	serials := printLabels(t, l, "LO-1", n+1)
	st, _ := l.Station("a")
	sscc := handler(t, st)(command(CmdNew)).Container
	added := make(chan string, n)
	taken := make(chan int, 1)
	go func() {
		k := 0
		for s := range added {
			if _, err := l.containers.Remove(ctx, "ana", containers.Item{GTIN: testGTIN, Serial: s}, "damaged"); err == nil {
				k++
			}
		}
		taken <- k
	}()
	for i, s := range serials[:n] {
		v, err := st.Handle(ctx, packScan(t, s, "AB12"))
		require.NoError(t, err)
		require.Equal(t, "added", v.Code, v.Message)
		assert.LessOrEqual(t, v.Count, i+1)
		assert.Positive(t, v.Count, "the pack just added is in the case")
		if i%2 == 0 {
			added <- s
		}
	}
	close(added)
	k := <-taken
	require.Equal(t, n/2, k)
	v, err := st.Handle(ctx, packScan(t, serials[n], "AB12"))
	require.NoError(t, err)
	require.Equal(t, "added", v.Code, v.Message)
	assert.Equal(t, n/2+1, v.Count)
	assert.Equal(t, n/2+1, inCase(t, db, sscc))
}
