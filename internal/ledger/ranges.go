package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// The line's range of generated serials is kept in the meta table: the
// prefix the line generates under, once it has generated a serial with
// it, and how many serials it has generated with it for each product.
const (
	metaPrefix  = "serials.prefix"
	metaMadePre = "serials.made/"
)

// ErrNoSerialsLeft is a generation from a range that is used up. It is an
// ErrNoSerials: the order waits, suspended.
var ErrNoSerialsLeft = fmt.Errorf("%w: no serials left in this line's range", ErrNoSerials)

// ExhaustedError is a generation that the line's range of serials cannot
// hold: every serial of the prefix has been made for the product (or
// fewer are left than the order needs).
type ExhaustedError struct {
	GTIN   string
	Prefix string
	Left   int64
}

func (e *ExhaustedError) Error() string {
	return fmt.Sprintf("product %s: no serials left in this line's range: %d left with prefix %q, fewer than the order needs", e.GTIN, e.Left, e.Prefix)
}

// Unwrap makes the error ErrNoSerialsLeft (and so ErrNoSerials).
func (e *ExhaustedError) Unwrap() error { return ErrNoSerialsLeft }

// CheckSerials checks the serial settings as the ledger takes them (an
// empty length or alphabet is the default); each fault names its setting
// (line.serials.…) and the rule.
func CheckSerials(c SerialConfig) error {
	var errs []error
	bad := func(field, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, a...)))
	}
	length, alpha := c.Length, c.Alphabet
	if length == 0 {
		length = 12
	}
	if alpha == "" {
		alpha = DefaultAlphabet
	}
	if length < 1 || length > 20 {
		bad("line.serials.length", "must be 1-20 (GS1 AI 21); got %d", length)
	}
	for i, ch := range []rune(alpha) {
		if ch > 127 || !strings.ContainsRune(cset82, ch) {
			bad("line.serials.alphabet", "%q at position %d is not in GS1 character set 82", ch, i+1)
			break
		}
	}
	if c.LowPool < 0 {
		bad("line.serials.low_pool", "must not be negative; got %d", c.LowPool)
	}
	if p := c.Prefix; p != "" {
		switch {
		case !c.Generate:
			bad("line.serials.prefix", "applies to serials the line generates: set line.serials.generate: true, or leave the prefix out")
		case CheckSerial(p) != nil:
			bad("line.serials.prefix", "%v; got %q", CheckSerial(p), p)
		case len(p) >= length:
			bad("line.serials.prefix", "must leave characters of line.serials.length (%d) to draw at random; got %d characters", length, len(p))
		}
	}
	return errors.Join(errs...)
}

// capacity is how many serials of a product the line's prefix holds:
// the distinct characters of the alphabet to the power of the characters
// drawn (math.MaxInt64 when that is more).
func (l *Ledger) capacity() int64 {
	distinct := map[byte]bool{}
	for i := 0; i < len(l.cfg.Serials.Alphabet); i++ {
		distinct[l.cfg.Serials.Alphabet[i]] = true
	}
	k := int64(len(distinct))
	n := int64(1)
	for i := len(l.cfg.Serials.Prefix); i < l.cfg.Serials.Length; i++ {
		if n > math.MaxInt64/k {
			return math.MaxInt64
		}
		n *= k
	}
	return n
}

// made is how many serials the line has generated with its prefix for a
// product, inside tx: from the count kept with each generation, or the
// serials themselves the first time.
func (l *Ledger) made(tx *sql.Tx, gtin string) (int64, error) {
	var v string
	err := tx.QueryRow(`SELECT value FROM meta WHERE key = ?`, metaMadePre+gtin).Scan(&v)
	if err == nil {
		return strconv.ParseInt(v, 10, 64)
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, err
	}
	var n int64
	p := l.cfg.Serials.Prefix
	err = tx.QueryRow(`SELECT COUNT(*) FROM serials WHERE gtin = ? AND serial >= ? AND serial < ? AND origin = 'generated'`, gtin, p, p+"\x7f").Scan(&n)
	return n, err
}

// recordMade keeps, inside the generation's transaction, how many serials
// the line has made with its prefix for a product, and the prefix itself.
func (l *Ledger) recordMade(tx *sql.Tx, gtin string, made int64) error {
	if _, err := tx.Exec(`INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
		metaMadePre+gtin, strconv.FormatInt(made, 10)); err != nil {
		return err
	}
	_, err := tx.Exec(`INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`, metaPrefix, l.cfg.Serials.Prefix)
	return err
}

// CheckPrefix refuses a serial prefix other than the one this line has
// generated serials with: the prefix it leaves could be given to another
// line, which would make its serials again; without a prefix, the line
// would draw from every other line's range. The agent runs it at start,
// before any order is released. It warns when a product's range is low.
func (l *Ledger) CheckPrefix(ctx context.Context) error {
	if !l.cfg.Serials.Generate {
		return nil
	}
	var was string
	err := l.db.Reader().QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, metaPrefix).Scan(&was)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	if p := l.cfg.Serials.Prefix; p != was {
		how := fmt.Sprintf("the prefix %q it would leave could be given to another line, which would make the same serials again", was)
		if p == "" {
			how = "without a prefix it would draw from every other line's range"
		}
		return fmt.Errorf("line.serials.prefix: this line has generated serials beginning with %q: keep line.serials.prefix: %q, since %s", was, was, how)
	}
	left, err := l.SerialsLeft(ctx)
	if err != nil {
		return err
	}
	for gtin, n := range left {
		if l.lowRange(n) {
			l.cfg.Log.Warn().Str("gtin", gtin).Int64("left", n).Str("prefix", l.cfg.Serials.Prefix).
				Msg("few serials left in this line's range: give the line a longer line.serials.length before they run out")
		}
	}
	return nil
}

// lowRange reports whether a product's range is below the low-water mark
// (line.serials.low_pool) or used up.
func (l *Ledger) lowRange(left int64) bool { return left == 0 || left < int64(l.cfg.Serials.LowPool) }

// SerialSupply is what is left of the line's range of generated serials.
type SerialSupply struct {
	Prefix   string
	Capacity int64            // serials a prefix holds, per product
	Left     map[string]int64 // by GTIN
	LowWater int64
	Low      []string // the GTINs whose range is low or used up, sorted
}

// Supply reads what is left of the line's range of generated serials for
// each registered product; ok is false when the line generates none with
// a prefix.
func (l *Ledger) Supply(ctx context.Context) (s SerialSupply, ok bool, err error) {
	if !l.cfg.Serials.Generate || l.cfg.Serials.Prefix == "" {
		return s, false, nil
	}
	left, err := l.SerialsLeft(ctx)
	if err != nil {
		return s, false, err
	}
	s = SerialSupply{Prefix: l.cfg.Serials.Prefix, Capacity: l.capacity(), Left: left, LowWater: int64(l.cfg.Serials.LowPool)}
	for g, n := range left {
		if l.lowRange(n) {
			s.Low = append(s.Low, g)
		}
	}
	sort.Strings(s.Low)
	return s, true, nil
}

// SerialsLeft is how many serials are left in the line's range for each
// registered product; nil without a prefix.
func (l *Ledger) SerialsLeft(ctx context.Context) (map[string]int64, error) {
	if l.cfg.Serials.Prefix == "" {
		return nil, nil
	}
	rows, err := l.db.Reader().QueryContext(ctx, `SELECT p.gtin, COALESCE(m.value, '0') FROM products p LEFT JOIN meta m ON m.key = ? || p.gtin`, metaMadePre)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int64{}
	c := l.capacity()
	for rows.Next() {
		var g, v string
		if err := rows.Scan(&g, &v); err != nil {
			return nil, err
		}
		made, _ := strconv.ParseInt(v, 10, 64)
		out[g] = max(c-made, 0)
	}
	return out, rows.Err()
}
