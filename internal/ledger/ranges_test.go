package ledger

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func take(l *Ledger, n int) ([]string, error) {
	var out []string
	err := l.db.Write(context.Background(), func(tx *sql.Tx) error {
		var err error
		out, err = l.Take(tx, gtin, n)
		if err != nil {
			return err
		}
		// Allocate them, as a label order does, so the next Take makes more.
		for _, s := range out {
			if _, err := tx.Exec(`UPDATE serials SET state = 'allocated' WHERE gtin = ? AND serial = ?`, gtin, s); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// Generated serials begin with the line's prefix and the rest is drawn at
// random; the range of a prefix is counted per product, and a range that
// cannot hold what an order needs refuses and takes nothing.
func TestGeneratedSerialsComeFromTheLinesRange(t *testing.T) {
	// Two letters after the prefix: 4 serials per product.
	l, _ := openLedger(t, Config{Serials: SerialConfig{Generate: true, Length: 4, Alphabet: "AB", Prefix: "L1", LowPool: 2}})
	ctx := context.Background()
	sup, ok, err := l.Supply(ctx)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, SerialSupply{Prefix: "L1", Capacity: 4, Left: map[string]int64{gtin: 4}, LowWater: 2}, sup)

	got, err := take(l, 3)
	require.NoError(t, err)
	require.Len(t, got, 3)
	for _, s := range got {
		assert.Regexp(t, `^L1[AB]{2}$`, s)
	}
	sup, _, _ = l.Supply(ctx)
	assert.Equal(t, map[string]int64{gtin: 1}, sup.Left)
	assert.Equal(t, []string{gtin}, sup.Low, "fewer than low_pool left")

	_, err = take(l, 2)
	require.ErrorIs(t, err, ErrNoSerialsLeft)
	require.ErrorIs(t, err, ErrNoSerials, "an order waits, suspended")
	var ex *ExhaustedError
	require.True(t, errors.As(err, &ex))
	assert.EqualError(t, err, `product 09506000134352: no serials left in this line's range: 1 left with prefix "L1", fewer than the order needs`)
	last, err := take(l, 1)
	require.NoError(t, err, "the last one of the range")
	assert.NotContains(t, got, last[0])
	_, err = take(l, 1)
	require.ErrorIs(t, err, ErrNoSerialsLeft)

	// After a restart the count goes on, from the database.
	l2, err := New(l.db, Config{Serials: SerialConfig{Generate: true, Length: 4, Alphabet: "AB", Prefix: "L1"}})
	require.NoError(t, err)
	require.NoError(t, l2.CheckPrefix(ctx))
	left, err := l2.SerialsLeft(ctx)
	require.NoError(t, err)
	assert.Equal(t, map[string]int64{gtin: 0}, left)
	// A longer serial makes the range larger; the prefix stays.
	l3, err := New(l.db, Config{Serials: SerialConfig{Generate: true, Length: 5, Alphabet: "AB", Prefix: "L1"}})
	require.NoError(t, err)
	more, err := take(l3, 4)
	require.NoError(t, err)
	assert.Len(t, more, 4)
}

// A line keeps the prefix it generated serials with: another line may be
// given the one it would leave.
func TestCheckPrefixRefusesAnotherPrefix(t *testing.T) {
	l, db := openLedger(t, Config{Serials: SerialConfig{Generate: true, Length: 10}})
	ctx := context.Background()
	_, err := take(l, 5)
	require.NoError(t, err)
	require.NoError(t, l.CheckPrefix(ctx), "no prefix recorded: serials made before the line had one")

	a, err := New(db, Config{Serials: SerialConfig{Generate: true, Length: 10, Prefix: "LA"}})
	require.NoError(t, err)
	require.NoError(t, a.CheckPrefix(ctx), "the first prefix")
	_, err = take(a, 5)
	require.NoError(t, err)
	require.NoError(t, a.CheckPrefix(ctx))

	b, err := New(db, Config{Serials: SerialConfig{Generate: true, Length: 10, Prefix: "LB"}})
	require.NoError(t, err)
	assert.EqualError(t, b.CheckPrefix(ctx), `line.serials.prefix: this line has generated serials beginning with "LA": keep line.serials.prefix: "LA", `+
		`since the prefix "LA" it would leave could be given to another line, which would make the same serials again`)
	none, err := New(db, Config{Serials: SerialConfig{Generate: true, Length: 10}})
	require.NoError(t, err)
	assert.EqualError(t, none.CheckPrefix(ctx), `line.serials.prefix: this line has generated serials beginning with "LA": keep line.serials.prefix: "LA", `+
		`since without a prefix it would draw from every other line's range`)
	imported, err := New(db, Config{})
	require.NoError(t, err)
	require.NoError(t, imported.CheckPrefix(ctx), "a line that imports its serials generates none")
}

// The rules of the serial settings, each fault naming its setting.
func TestCheckSerials(t *testing.T) {
	faults := func(c SerialConfig) []string {
		err := CheckSerials(c)
		if err == nil {
			return nil
		}
		return strings.Split(err.Error(), "\n")
	}
	assert.Nil(t, faults(SerialConfig{}))
	assert.Nil(t, faults(SerialConfig{Generate: true, Prefix: "L1-", Length: 12}))
	assert.Equal(t, []string{
		"line.serials.length: must be 1-20 (GS1 AI 21); got 21",
		`line.serials.alphabet: ' ' at position 3 is not in GS1 character set 82`,
		"line.serials.low_pool: must not be negative; got -1",
	}, faults(SerialConfig{Length: 21, Alphabet: "AB C", LowPool: -1}))
	assert.Equal(t, []string{"line.serials.prefix: applies to serials the line generates: set line.serials.generate: true, or leave the prefix out"},
		faults(SerialConfig{Prefix: "L1"}))
	assert.Equal(t, []string{`line.serials.prefix: character ' ' at position 2 is not in GS1 character set 82; got "L 1"`},
		faults(SerialConfig{Generate: true, Prefix: "L 1"}))
	assert.Equal(t, []string{"line.serials.prefix: must leave characters of line.serials.length (4) to draw at random; got 4 characters"},
		faults(SerialConfig{Generate: true, Prefix: "LINE", Length: 4}))
	_, err := New(nil, Config{Serials: SerialConfig{Generate: true, Prefix: "LINE", Length: 4}})
	require.EqualError(t, err, "line.serials.prefix: must leave characters of line.serials.length (4) to draw at random; got 4 characters", "the ledger applies the same rules")
}
