// Package ledger is the serial ledger of the line: the products and their
// batches, the serial number pools, and every label the agent prints, with
// the print state machine (queued → printing → printed | unknown), recovery
// after a stop, and a person's reprint or resolution of an unknown label.
//
// Printer runners pull from the ledger: Next hands a printer its oldest
// queued label, so a label committed as queued is printed once its printer
// can take it, in order, whatever happened in between — a full printer, a
// fault, a restart.
package ledger

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/edgeagent/edgeagent/internal/audit"
	"github.com/edgeagent/edgeagent/internal/journal"
	"github.com/edgeagent/edgeagent/internal/label"
	"github.com/edgeagent/edgeagent/internal/queue"
	"github.com/edgeagent/edgeagent/internal/store"
	v2 "github.com/edgeagent/edgeagent/internal/v2"
	"github.com/edgeagent/edgeagent/internal/zpl"
)

// SerialConfig sets up the serial number generator.
type SerialConfig struct {
	Generate bool   // make serials locally when the pool runs short (else import them)
	Length   int    // characters per serial (default 12)
	Alphabet string // characters to draw from (default DefaultAlphabet); all in GS1 CSET 82
	LowPool  int    // warn when fewer than this many are available for a product (or left in the line's range)
	// Prefix begins every serial the line generates, the rest drawn at
	// random: lines that generate serials for the same products are given
	// different prefixes, none the beginning of another, so that no two
	// of them ever make the same serial. Part of Length.
	Prefix string
}

// DefaultAlphabet avoids characters easily misread on a label (0/O, 1/I/L).
const DefaultAlphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"

// cset82 is GS1 character set 82, what AI (21) may hold.
const cset82 = "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"

// Config sets up the ledger.
type Config struct {
	Templates *zpl.Set // pack labels are rendered from these when printed
	Serials   SerialConfig
	Log       zerolog.Logger
	// Notify wakes the outbox dispatcher after facts were queued.
	Notify func()
	// Poll is how often a waiting printer looks for labels queued by
	// another process (default 1s); labels queued here wake it at once.
	Poll time.Duration
	// Journal writes the EPCIS event of each fact in the fact's
	// transaction; nil: no journal.
	Journal *journal.Config
}

// Hook runs inside the transaction that moves a label, so other parts of
// the line keep their own records in step (an order completes, a shipping
// order learns its label printed).
type Hook func(tx *sql.Tx, l Row, to LabelState) error

// Ledger is the serial ledger.
type Ledger struct {
	db      *store.DB
	outbox  *queue.Outbox
	journal *journal.Journal
	cfg     Config

	mu    sync.Mutex
	wake  map[string]chan struct{} // by printer
	hooks map[label.Kind][]Hook    // by label kind
	doubt map[string]bool          // printers whose last Handover failed (see there)
}

// New returns the ledger.
func New(db *store.DB, cfg Config) (*Ledger, error) {
	if cfg.Serials.Length == 0 {
		cfg.Serials.Length = 12
	}
	if cfg.Serials.Alphabet == "" {
		cfg.Serials.Alphabet = DefaultAlphabet
	}
	if err := CheckSerials(cfg.Serials); err != nil {
		return nil, err
	}
	if cfg.Templates == nil {
		cfg.Templates = zpl.Builtin()
	}
	if cfg.Notify == nil {
		cfg.Notify = func() {}
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	l := &Ledger{db: db, outbox: queue.New(db), cfg: cfg, wake: map[string]chan struct{}{}, hooks: map[label.Kind][]Hook{}}
	if cfg.Journal != nil {
		j, err := journal.New(l.outbox, *cfg.Journal)
		if err != nil {
			return nil, err
		}
		l.journal = j
	}
	return l, nil
}

// Journal is the line's EPCIS journal (nil without one: its methods then
// write nothing).
func (l *Ledger) Journal() *journal.Journal { return l.journal }

// DB is the database the ledger keeps.
func (l *Ledger) DB() *store.DB { return l.db }

// Outbox is where the ledger's facts go.
func (l *Ledger) Outbox() *queue.Outbox { return l.outbox }

// Notify wakes the outbox dispatcher.
func (l *Ledger) Notify() { l.cfg.Notify() }

// Templates are the label templates.
func (l *Ledger) Templates() *zpl.Set { return l.cfg.Templates }

// Serials is the serial configuration.
func (l *Ledger) Serials() SerialConfig { return l.cfg.Serials }

// OnLabel registers a hook for labels of a kind.
func (l *Ledger) OnLabel(kind label.Kind, h Hook) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.hooks[kind] = append(l.hooks[kind], h)
}

func nowMS() int64 { return time.Now().UnixMilli() }

// Product is master data: a GTIN and its market.
type Product struct {
	GTIN   string
	Market string
}

// AddProduct registers a product and its batches (batch → expiry YYMMDD):
// master data from the configuration or from packaging orders.
func (l *Ledger) AddProduct(ctx context.Context, gtin, market string, batches map[string]string) error {
	return l.db.Write(ctx, func(tx *sql.Tx) error { return AddProduct(tx, gtin, market, batches) })
}

// AddProduct registers a product and its batches inside tx; a known one
// keeps what it had where the new data is empty.
func AddProduct(tx *sql.Tx, gtin, market string, batches map[string]string) error {
	if _, err := tx.Exec(`INSERT INTO products (gtin, market) VALUES (?, ?) ON CONFLICT (gtin) DO UPDATE SET market = CASE WHEN excluded.market != '' THEN excluded.market ELSE market END`, gtin, market); err != nil {
		return err
	}
	for b, exp := range batches {
		if _, err := tx.Exec(`INSERT INTO batches (gtin, batch, expiry) VALUES (?, ?, ?) ON CONFLICT (gtin, batch) DO UPDATE SET expiry = CASE WHEN excluded.expiry != '' THEN excluded.expiry ELSE expiry END`, gtin, b, exp); err != nil {
			return err
		}
	}
	return nil
}

// ProductOf reads a product (ErrProductNotFound).
func ProductOf(tx *sql.Tx, gtin string) (Product, error) {
	p := Product{GTIN: gtin}
	err := tx.QueryRow(`SELECT market FROM products WHERE gtin = ?`, gtin).Scan(&p.Market)
	if errors.Is(err, sql.ErrNoRows) {
		return p, ErrProductNotFound
	}
	return p, err
}

// ExpiryOf reads a batch's expiry (ErrBatchNotFound).
func ExpiryOf(tx *sql.Tx, gtin, batch string) (string, error) {
	var expiry string
	err := tx.QueryRow(`SELECT expiry FROM batches WHERE gtin = ? AND batch = ?`, gtin, batch).Scan(&expiry)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrBatchNotFound
	}
	return expiry, err
}

// Products lists the products with their batches.
func (l *Ledger) Products(ctx context.Context) (map[string]map[string]string, error) {
	rows, err := l.db.Reader().QueryContext(ctx, `SELECT p.gtin, COALESCE(b.batch, ''), COALESCE(b.expiry, '') FROM products p LEFT JOIN batches b ON b.gtin = p.gtin ORDER BY p.gtin, b.batch`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]map[string]string{}
	for rows.Next() {
		var g, b, e string
		if err := rows.Scan(&g, &b, &e); err != nil {
			return nil, err
		}
		if out[g] == nil {
			out[g] = map[string]string{}
		}
		if b != "" {
			out[g][b] = e
		}
	}
	return out, rows.Err()
}

// CheckSerial checks a serial number against GS1 AI (21): 1-20 characters
// of character set 82.
func CheckSerial(s string) error {
	if s == "" || len(s) > 20 {
		return errors.New("must be 1-20 characters")
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c > 127 || !strings.ContainsRune(cset82, rune(c)) {
			return fmt.Errorf("character %q at position %d is not in GS1 character set 82", c, i+1)
		}
	}
	return nil
}

// ImportSerials adds serials issued elsewhere to a product's pool; ones
// already known are skipped. It returns how many were added.
func (l *Ledger) ImportSerials(ctx context.Context, actor, gtin string, serials []string) (int, error) {
	for i, s := range serials {
		if err := CheckSerial(s); err != nil {
			return 0, fmt.Errorf("serial %d (%q): %w", i+1, s, err)
		}
	}
	added := 0
	err := l.db.Write(ctx, func(tx *sql.Tx) error {
		added = 0
		if _, err := ProductOf(tx, gtin); err != nil {
			return err
		}
		ins, err := l.db.Stmt(tx, `INSERT OR IGNORE INTO serials (gtin, serial, state, origin, updated_at) VALUES (?, ?, 'available', 'imported', ?)`)
		if err != nil {
			return err
		}
		now := nowMS()
		for _, s := range serials {
			res, err := ins.Exec(gtin, s, now)
			if err != nil {
				return err
			}
			n, _ := res.RowsAffected()
			added += int(n)
		}
		return audit.Write(tx, actor, "serials.import", gtin, "", fmt.Sprintf("%d serials", added), "")
	})
	return added, err
}

// PoolLevel counts a product's available serials.
func (l *Ledger) PoolLevel(ctx context.Context, gtin string) (int, error) {
	var n int
	err := l.db.Reader().QueryRowContext(ctx, availableSQL, gtin).Scan(&n)
	return n, err
}

// WarnLowPool logs when a product's imported pool runs low, or the line's
// range of generated serials.
func (l *Ledger) WarnLowPool(ctx context.Context, gtin string) {
	if l.cfg.Serials.Generate && l.cfg.Serials.Prefix != "" {
		if left, err := l.SerialsLeft(ctx); err == nil && l.lowRange(left[gtin]) {
			l.cfg.Log.Warn().Str("gtin", gtin).Int64("left", left[gtin]).Str("prefix", l.cfg.Serials.Prefix).
				Msg("few serials left in this line's range: give the line a longer line.serials.length before they run out")
		}
		return
	}
	if l.cfg.Serials.Generate || l.cfg.Serials.LowPool <= 0 {
		return // generated serials are made as orders need them
	}
	if left, err := l.PoolLevel(ctx, gtin); err == nil && left < l.cfg.Serials.LowPool {
		l.cfg.Log.Warn().Str("gtin", gtin).Int("available", left).Msg("serial pool low")
	}
}

// randomSerial draws a serial from the alphabet with a cryptographic
// source: serials must not be guessable from one another. It begins with
// the line's prefix.
func (l *Ledger) randomSerial() (string, error) {
	alpha, p := l.cfg.Serials.Alphabet, l.cfg.Serials.Prefix
	b := make([]byte, l.cfg.Serials.Length)
	copy(b, p)
	max := big.NewInt(int64(len(alpha)))
	for i := len(p); i < len(b); i++ {
		n, err := rand.Int(rand.Reader, max)
		if err != nil {
			return "", err
		}
		b[i] = alpha[n.Int64()]
	}
	return string(b), nil
}

// generate adds n fresh serials to a product's pool inside tx; the primary
// key keeps them unique per GTIN. With a prefix, the serials come from the
// line's range, and a range with fewer than n left is an
// *ExhaustedError.
func (l *Ledger) generate(tx *sql.Tx, gtin string, n int) error {
	var before int64
	if l.cfg.Serials.Prefix != "" {
		var err error
		if before, err = l.made(tx, gtin); err != nil {
			return err
		}
		if left := l.capacity() - before; left < int64(n) {
			return &ExhaustedError{GTIN: gtin, Prefix: l.cfg.Serials.Prefix, Left: left}
		}
	}
	ins, err := l.db.Stmt(tx, `INSERT OR IGNORE INTO serials (gtin, serial, state, origin, updated_at) VALUES (?, ?, 'available', 'generated', ?)`)
	if err != nil {
		return err
	}
	now := nowMS()
	for made, tries := 0, 0; made < n; tries++ {
		if tries > 10*n+100 {
			return fmt.Errorf("serial generator: too many collisions for %s; use a longer serials.length", gtin)
		}
		s, err := l.randomSerial()
		if err != nil {
			return err
		}
		res, err := ins.Exec(gtin, s, now)
		if err != nil {
			return err
		}
		if k, _ := res.RowsAffected(); k == 1 {
			made++
		}
	}
	if l.cfg.Serials.Prefix != "" {
		return l.recordMade(tx, gtin, before+int64(n))
	}
	return nil
}

// Take draws n available serials of a product inside tx, generating what
// the pool lacks when the line makes its own serials; otherwise a short
// pool is ErrNoSerials and nothing is taken. The serials stay available
// until QueuePack gives them to labels.
func (l *Ledger) Take(tx *sql.Tx, gtin string, n int) ([]string, error) {
	if n <= 0 {
		return nil, nil
	}
	avail, err := Available(tx, gtin)
	if err != nil {
		return nil, err
	}
	if avail < n {
		if !l.cfg.Serials.Generate {
			return nil, ErrNoSerials
		}
		if err := l.generate(tx, gtin, n-avail); err != nil {
			return nil, err
		}
	}
	rows, err := tx.Query(`SELECT serial FROM serials WHERE gtin = ? AND state = 'available' LIMIT ?`, gtin, n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]string, 0, n)
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// Serial is a serial's record.
type Serial struct {
	GTIN, Serial  string
	State         SerialState
	Batch, Expiry string
	Reason        string // why it was decommissioned
	OrderID       string
}

// SerialOf reads a serial (*SerialNotFoundError).
func SerialOf(tx *sql.Tx, gtin, serial string) (Serial, error) {
	s := Serial{GTIN: gtin, Serial: serial}
	var order sql.NullString
	err := tx.QueryRow(`SELECT state, batch, expiry, reason, order_id FROM serials WHERE gtin = ? AND serial = ?`, gtin, serial).
		Scan(&s.State, &s.Batch, &s.Expiry, &s.Reason, &order)
	if errors.Is(err, sql.ErrNoRows) {
		return s, &SerialNotFoundError{GTIN: gtin, Serial: serial}
	}
	s.OrderID = order.String
	return s, err
}

// Commission takes serials into circulation for the V2 API (POST
// serials/commission): a serial printed on this line is commissioned
// already (its commission is queued when the printer confirmed it, so it
// is simply answered); a serial the line does not know — printed
// elsewhere, as the dialect allows — is recorded printed with the batch
// and expiry given, and its commission queued. A serial in any other state
// refuses the whole request.
func (l *Ledger) Commission(ctx context.Context, actor string, c v2.Commission) error {
	if err := c.Validate(); err != nil {
		return err
	}
	queued := false
	err := l.db.Write(ctx, func(tx *sql.Tx) error {
		queued = false
		if _, err := ProductOf(tx, c.ProductCode); err != nil {
			return err
		}
		now := nowMS()
		for _, sn := range c.Serials {
			s, err := SerialOf(tx, c.ProductCode, sn)
			var nf *SerialNotFoundError
			switch {
			case errors.As(err, &nf):
				if _, err := tx.Exec(`INSERT INTO serials (gtin, serial, state, origin, batch, expiry, updated_at) VALUES (?, ?, 'printed', 'imported', ?, ?, ?)`,
					c.ProductCode, sn, c.Batch, c.ExpiryDate, now); err != nil {
					return err
				}
				if err := l.commission(tx, c.ProductCode, sn); err != nil {
					return err
				}
				queued = true
				if err := audit.Write(tx, actor, "serial.commission", c.ProductCode+"/"+sn, "", string(SerialPrinted), "printed elsewhere"); err != nil {
					return err
				}
			case err != nil:
				return err
			case s.State == SerialPrinted:
				// Its commission is queued already.
			default:
				return &SerialStateError{GTIN: c.ProductCode, Serial: sn, State: s.State, Act: "commissioned"}
			}
		}
		return nil
	})
	if err == nil && queued {
		l.cfg.Notify()
	}
	return err
}
