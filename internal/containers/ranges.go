package containers

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/edgeagent/edgeagent/internal/gs1"
)

// Range is a span of SSCC serial references, both ends included: the
// digits between the company prefix and the check digit.
type Range struct{ From, To int64 }

func (r Range) String() string { return fmt.Sprintf("%d to %d", r.From, r.To) }

func (r Range) size() int64 { return r.To - r.From + 1 }

// ErrNoSSCCLeft is an allocation from ranges that are used up.
var ErrNoSSCCLeft = errors.New("no SSCC left in this line's range")

// ExhaustedError is an allocation from used-up ranges: every serial
// reference of them has been handed out (or taken by a preprinted label).
type ExhaustedError struct {
	CompanyPrefix string
	Extension     int
	Ranges        []Range
}

func (e *ExhaustedError) Error() string {
	return fmt.Sprintf("%v: serial references %s of company prefix %s (extension %d) are used up",
		ErrNoSSCCLeft, rangeList(e.Ranges), e.CompanyPrefix, e.Extension)
}

// Used lists the used-up ranges: "1 to 1000, 5001 to 6000".
func (e *ExhaustedError) Used() string { return rangeList(e.Ranges) }

// Unwrap makes the error ErrNoSSCCLeft.
func (e *ExhaustedError) Unwrap() error { return ErrNoSSCCLeft }

func rangeList(rs []Range) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = r.String()
	}
	return strings.Join(parts, ", ")
}

// maxRef is the largest serial reference after a company prefix: 16 digits
// hold the prefix and the reference.
func maxRef(prefix string) int64 {
	m := int64(1)
	for i := 0; i < 16-len(prefix); i++ {
		m *= 10
	}
	return m - 1
}

// DefaultLowWater is the low-water mark of ranges that set none: a tenth
// of their size (0 without ranges: the whole space of references is the
// line's, and only its end is reported).
func DefaultLowWater(ranges []Range) int64 {
	var n int64
	for _, r := range ranges {
		if r.To >= r.From {
			n += r.size()
		}
	}
	return n / 10
}

// CheckSSCC checks the ranges and the low-water mark of the SSCC settings,
// as the agent takes them; each fault names its setting (line.sscc.…) and
// the rule. The company prefix and extension digit themselves are the
// configuration's to check.
func CheckSSCC(cfg SSCCConfig) error {
	var errs []error
	bad := func(field, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, a...)))
	}
	if cfg.LowWater < 0 {
		bad("line.sscc.low_water", "must not be negative; got %d", cfg.LowWater)
	}
	if len(cfg.Ranges) == 0 {
		return errors.Join(errs...)
	}
	p := cfg.CompanyPrefix
	if p == "" {
		bad("line.sscc.ranges", "needs line.sscc.company_prefix: only SSCCs of a company prefix are allocated from ranges")
		return errors.Join(errs...)
	}
	width := len(p) >= 4 && len(p) <= 12 && strings.Trim(p, "0123456789") == ""
	prev := -1 // the last range without a fault of its own
	for i, r := range cfg.Ranges {
		f := fmt.Sprintf("line.sscc.ranges[%d]", i)
		switch {
		case r.From < 0:
			bad(f+".from", "must not be negative; got %d", r.From)
			continue
		case r.To < r.From:
			bad(f+".to", "must not be below from (%d); got %d", r.From, r.To)
			continue
		case width && r.To > maxRef(p):
			bad(f+".to", "must fit in the %d digits a serial reference has after the %d-digit company prefix (at most %d); got %d",
				16-len(p), len(p), maxRef(p), r.To)
			continue
		}
		if prev >= 0 && r.From <= cfg.Ranges[prev].To {
			bad(f, "%s must come after line.sscc.ranges[%d] (%s): list the ranges in ascending order, without overlaps", r, prev, cfg.Ranges[prev])
		}
		prev = i
	}
	return errors.Join(errs...)
}

// ranges are the line's ranges: the configured ones, or every reference
// from 1 when none are configured.
func (c *Containers) ranges() []Range {
	if len(c.sscc.Ranges) > 0 {
		return c.sscc.Ranges
	}
	return []Range{{From: 1, To: maxRef(c.sscc.CompanyPrefix)}}
}

// nextIn is the first reference at or after next that lies in a range.
func (c *Containers) nextIn(next int64) (int64, bool) {
	for _, r := range c.ranges() {
		if next <= r.To {
			return max(next, r.From), true
		}
	}
	return 0, false
}

// left is how many references the ranges hold at or after next.
func (c *Containers) left(next int64) int64 {
	var n int64
	for _, r := range c.ranges() {
		if next <= r.To {
			n += r.To - max(next, r.From) + 1
		}
	}
	return n
}

// Low reports whether left is below the low-water mark: the station tells
// the operator, the dashboard warns.
func (c *Containers) Low(left int64) bool { return left < c.sscc.LowWater || left == 0 }

// Supply is what is left of the line's SSCC ranges.
type Supply struct {
	Ranges   []Range
	Size     int64 // references in the ranges
	Left     int64 // references not yet handed out (at most: preprinted labels may take some)
	LowWater int64
	Low      bool // Left is below LowWater, or nothing is left
}

// Supply reads what is left of the line's SSCC ranges; ok is false when
// the line allocates no SSCCs (no company prefix).
func (c *Containers) Supply(ctx context.Context) (s Supply, ok bool, err error) {
	if !c.CanAllocate() {
		return s, false, nil
	}
	next, err := counter(c.db.Reader().QueryRowContext(ctx, `SELECT next FROM sscc_counters WHERE prefix = ? AND extension = ?`,
		c.sscc.CompanyPrefix, c.sscc.Extension))
	if err != nil {
		return s, false, err
	}
	if next == 0 {
		next = c.ranges()[0].From
	}
	s = Supply{Ranges: c.ranges(), Left: c.left(next), LowWater: c.sscc.LowWater}
	for _, r := range s.Ranges {
		s.Size += r.size()
	}
	s.Low = c.Low(s.Left)
	return s, true, nil
}

// counter reads an SSCC counter; 0 when the line has none yet.
func counter(r *sql.Row) (int64, error) {
	var next int64
	if err := r.Scan(&next); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, err
	}
	return next, nil
}

// CheckRanges refuses ranges that do not cover what the line has already
// used, so that the references it handed out cannot be handed out again
// by the line now given them:
//
//   - an SSCC this line allocated from its counter whose reference lies
//     outside every range (a range that was taken away, or moved);
//   - a range that starts below the counter and holds references the
//     counter went past without handing them out: a range added below the
//     references used, which the line, counting upwards only, would never
//     use.
//
// The agent runs it at start, before any station takes a scan. It warns
// when the ranges are low or used up.
func (c *Containers) CheckRanges(ctx context.Context) error {
	if !c.CanAllocate() {
		return nil
	}
	p, ext := c.sscc.CompanyPrefix, c.sscc.Extension
	key := func(ref int64) string {
		s, _ := gs1.SSCC(ext, p, uint64(ref))
		return s[:17] // without the check digit: sorts as the reference does
	}
	r := c.db.Reader()
	next, err := counter(r.QueryRowContext(ctx, `SELECT next FROM sscc_counters WHERE prefix = ? AND extension = ?`, p, ext))
	if err != nil {
		return err
	}
	var errs []error
	// Allocated SSCCs outside the ranges: look in each gap between them.
	lo := int64(0)
	ranges := c.ranges()
	for i := 0; i <= len(ranges); i++ {
		hi := maxRef(p)
		if i < len(ranges) {
			hi = ranges[i].From - 1
		}
		if lo <= hi {
			var n int
			var first, last sql.NullString
			if err := r.QueryRowContext(ctx, `SELECT COUNT(*), MIN(sscc), MAX(sscc) FROM containers WHERE origin = 'allocated' AND sscc >= ? AND sscc < ?`,
				key(lo), key(hi)+":").Scan(&n, &first, &last); err != nil {
				return err
			}
			if n > 0 {
				what := fmt.Sprintf("%d SSCCs with serial references %d to %d", n, refOf(first.String, p), refOf(last.String, p))
				if n == 1 {
					what = fmt.Sprintf("an SSCC with serial reference %d", refOf(first.String, p))
				}
				errs = append(errs, fmt.Errorf("line.sscc.ranges: this line has allocated %s, outside its ranges (%s): "+
					"keep the range they came from in the list (a range that is used up is skipped), so that no other line is given them", what, rangeList(ranges)))
			}
		}
		if i < len(ranges) {
			lo = ranges[i].To + 1
		}
	}
	// Ranges below the counter that it went past without using.
	for i, rg := range c.sscc.Ranges {
		if next == 0 || rg.From >= next {
			continue
		}
		end := min(rg.To, next-1)
		var n int64
		if err := r.QueryRowContext(ctx, `SELECT COUNT(*) FROM containers WHERE sscc >= ? AND sscc < ?`, key(rg.From), key(end)+":").Scan(&n); err != nil {
			return err
		}
		if n < end-rg.From+1 {
			errs = append(errs, fmt.Errorf("line.sscc.ranges[%d]: %s starts below %d, the last serial reference this line used, and %d of its references below it were never used: "+
				"the line counts upwards only, so give it ranges above %d", i, rg, next-1, end-rg.From+1-n, next-1))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if next == 0 {
		next = ranges[0].From
	}
	switch left := c.left(next); {
	case left == 0:
		c.sscc.Log.Warn().Str("ranges", rangeList(ranges)).Msg("no SSCC left in this line's range: stations refuse NEW containers until line.sscc.ranges gets a new range")
	case c.Low(left):
		c.sscc.Log.Warn().Int64("left", left).Int64("low_water", c.sscc.LowWater).Str("ranges", rangeList(ranges)).
			Msg("few SSCCs left in this line's range: give the line a new range (line.sscc.ranges) before they run out")
	}
	return nil
}

// refOf is the serial reference of an SSCC of the company prefix.
func refOf(sscc, prefix string) int64 {
	if len(sscc) != 18 {
		return 0
	}
	n, _ := strconv.ParseInt(sscc[1+len(prefix):17], 10, 64)
	return n
}
