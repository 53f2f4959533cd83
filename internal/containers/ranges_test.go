package containers

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// allocate takes n SSCCs, each opened as a case, and returns them with
// what was left after each.
func allocate(t *testing.T, c *Containers, n int) ([]string, []int64) {
	t.Helper()
	var out []string
	var lefts []int64
	for i := 0; i < n; i++ {
		write(t, c.db, func(tx *sql.Tx) error {
			s, left, err := c.Allocate(tx)
			if err != nil {
				return err
			}
			out, lefts = append(out, s), append(lefts, left)
			return Create(tx, s, Case, "s1", "", Allocated, 1)
		})
	}
	return out, lefts
}

// SSCCs come from the line's ranges in ascending order, skipping a
// reference a preprinted label took; the low-water mark is reported, and
// used-up ranges refuse with what is used up.
func TestAllocateTakesTheLinesRanges(t *testing.T) {
	db := openDB(t)
	c, _ := openContainers(t, db, SSCCConfig{CompanyPrefix: prefix, Extension: 3, Ranges: []Range{{5, 6}, {10, 12}}, LowWater: 3})
	sup, ok, err := c.Supply(context.Background())
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, Supply{Ranges: []Range{{5, 6}, {10, 12}}, Size: 5, Left: 5, LowWater: 3}, sup)

	got, left := allocate(t, c, 2)
	assert.Equal(t, []string{sscc(t, 5), sscc(t, 6)}, got)
	assert.Equal(t, []int64{4, 3}, left)
	assert.False(t, c.Low(3))
	write(t, db, func(tx *sql.Tx) error { return Create(tx, sscc(t, 10), Case, "s1", "", Scanned, 1) })
	got, left = allocate(t, c, 1)
	assert.Equal(t, []string{sscc(t, 11)}, got, "the reference of a preprinted label is skipped, the gap between the ranges too")
	assert.Equal(t, []int64{1}, left)
	assert.True(t, c.Low(1))
	sup, _, _ = c.Supply(context.Background())
	assert.Equal(t, int64(1), sup.Left)
	assert.True(t, sup.Low)

	allocate(t, c, 1)
	err = db.Write(context.Background(), func(tx *sql.Tx) error { _, _, err := c.Allocate(tx); return err })
	require.ErrorIs(t, err, ErrNoSSCCLeft)
	var ex *ExhaustedError
	require.True(t, errors.As(err, &ex))
	assert.Equal(t, "5 to 6, 10 to 12", ex.Used())
	assert.EqualError(t, err, "no SSCC left in this line's range: serial references 5 to 6, 10 to 12 of company prefix 9506000 (extension 3) are used up")
	sup, _, _ = c.Supply(context.Background())
	assert.Equal(t, int64(0), sup.Left)

	// Three lines on one prefix and extension never meet.
	seen := map[string]string{}
	for i, rg := range []Range{{1, 100}, {101, 200}, {201, 300}} {
		cs, _ := openContainers(t, openDB(t), SSCCConfig{CompanyPrefix: prefix, Extension: 7, Ranges: []Range{rg}})
		got, _ := allocate(t, cs, 100)
		for _, s := range got {
			require.Empty(t, seen[s], "%s allocated on two lines", s)
			seen[s] = string(rune('1' + i))
		}
		_, err := allocateOne(cs)
		require.ErrorIs(t, err, ErrNoSSCCLeft, "each line stops at the end of its range")
	}
	assert.Len(t, seen, 300)
}

func allocateOne(c *Containers) (string, error) {
	var s string
	err := c.db.Write(context.Background(), func(tx *sql.Tx) error {
		var err error
		s, _, err = c.Allocate(tx)
		return err
	})
	return s, err
}

// The rules of the ranges, each fault naming its setting.
func TestCheckSSCC(t *testing.T) {
	faults := func(cfg SSCCConfig) []string {
		err := CheckSSCC(cfg)
		if err == nil {
			return nil
		}
		return strings.Split(err.Error(), "\n")
	}
	assert.Nil(t, faults(SSCCConfig{CompanyPrefix: prefix, Ranges: []Range{{0, 10}, {11, 999999999}}, LowWater: 5}))
	assert.Nil(t, faults(SSCCConfig{}))
	assert.Equal(t, []string{
		"line.sscc.low_water: must not be negative; got -1",
		"line.sscc.ranges[0].to: must not be below from (10); got 5",
		"line.sscc.ranges[1].from: must not be negative; got -3",
		"line.sscc.ranges[2].to: must fit in the 9 digits a serial reference has after the 7-digit company prefix (at most 999999999); got 1000000000",
		"line.sscc.ranges[4]: 100 to 300 must come after line.sscc.ranges[3] (200 to 400): list the ranges in ascending order, without overlaps",
	}, faults(SSCCConfig{CompanyPrefix: prefix, LowWater: -1, Ranges: []Range{{10, 5}, {-3, 4}, {1, 1000000000}, {200, 400}, {100, 300}}}))
	assert.Equal(t, []string{"line.sscc.ranges: needs line.sscc.company_prefix: only SSCCs of a company prefix are allocated from ranges"},
		faults(SSCCConfig{Ranges: []Range{{1, 10}}}))
	_, err := New(nil, SSCCConfig{CompanyPrefix: prefix, Ranges: []Range{{10, 5}}})
	require.EqualError(t, err, "line.sscc.ranges[0].to: must not be below from (10); got 5", "the agent applies the same rules")
	assert.Equal(t, int64(30), DefaultLowWater([]Range{{1, 100}, {1001, 1200}}))
}

// The agent refuses ranges that leave out SSCCs the line allocated, or that
// start below its counter with references it never used.
func TestCheckRangesRefusesWhatTheLineUsed(t *testing.T) {
	db := openDB(t)
	ctx := context.Background()
	with := func(ranges ...Range) error {
		c, _ := openContainers(t, db, SSCCConfig{CompanyPrefix: prefix, Extension: 3, Ranges: ranges})
		return c.CheckRanges(ctx)
	}
	require.NoError(t, with(Range{1001, 2000}), "nothing used yet")
	old, _ := openContainers(t, db, SSCCConfig{CompanyPrefix: prefix, Extension: 3})
	allocate(t, old, 3) // 1, 2 and 3, from the whole space

	assert.EqualError(t, with(Range{1001, 2000}), "line.sscc.ranges: this line has allocated 3 SSCCs with serial references 1 to 3, outside its ranges (1001 to 2000): "+
		"keep the range they came from in the list (a range that is used up is skipped), so that no other line is given them")
	require.NoError(t, with(Range{1, 3}, Range{1001, 2000}), "the used-up range kept in the list")
	require.NoError(t, with(Range{1, 1000}))
	err := with(Range{2, 1000})
	require.ErrorContains(t, err, "line.sscc.ranges: this line has allocated an SSCC with serial reference 1, outside its ranges (2 to 1000)")

	// Allocate from a range of its own, then add a range below it.
	c, _ := openContainers(t, db, SSCCConfig{CompanyPrefix: prefix, Extension: 3, Ranges: []Range{{1, 3}, {5000, 6000}}})
	got, _ := allocate(t, c, 2)
	assert.Equal(t, []string{sscc(t, 5000), sscc(t, 5001)}, got)
	assert.EqualError(t, with(Range{1, 3}, Range{100, 200}, Range{5000, 6000}), "line.sscc.ranges[1]: 100 to 200 starts below 5001, the last serial reference this line used, "+
		"and 101 of its references below it were never used: the line counts upwards only, so give it ranges above 5001")
	require.NoError(t, with(Range{1, 3}, Range{5000, 6000}, Range{9000, 9999}))
	require.ErrorContains(t, with(Range{1, 3}, Range{4000, 6000}), "line.sscc.ranges[1]: 4000 to 6000 starts below 5001")

	// Another extension digit is another counter.
	other, _ := openContainers(t, db, SSCCConfig{CompanyPrefix: prefix, Extension: 4, Ranges: []Range{{7, 9}}})
	require.NoError(t, other.CheckRanges(ctx))
}
