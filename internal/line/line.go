package line

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

	"github.com/edgeagent/edgeagent/internal/gs1"
	"github.com/edgeagent/edgeagent/internal/queue"
	"github.com/edgeagent/edgeagent/internal/store"
	"github.com/edgeagent/edgeagent/internal/zpl"
)

// PrintLabel is a label handed to a printer.
type PrintLabel struct {
	ID     string // the label's ledger ID
	Serial string
	Data   []byte // one ZPL format
}

// Printer takes jobs for one destination. Outcomes come back through the
// line's Printing, Printed and Unknown methods.
type Printer interface {
	Submit(jobID string, labels []PrintLabel) error
}

// SerialConfig sets up the serial number generator.
type SerialConfig struct {
	Generate bool   // make serials locally when the pool runs short (else import them)
	Length   int    // characters per serial (default 12)
	Alphabet string // characters to draw from (default DefaultAlphabet); all in GS1 CSET 82
	LowPool  int    // warn when fewer than this many are available for a product
}

// DefaultAlphabet avoids characters easily misread on a label (0/O, 1/I/L).
const DefaultAlphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"

// Extra is the default of extra labels when an order gives none (the
// channel settings).
type Extra struct {
	Amount int
	Type   string // amount or percentage
}

// Config sets up the line.
type Config struct {
	Name      string
	Templates *zpl.Set
	Printers  map[string]Printer // by destination tag
	Serials   SerialConfig
	Extra     Extra
	// Capacities are the packing configuration by GTIN.
	Capacities map[string]Capacity
	// SSCC is where "new container" takes its SSCCs from.
	SSCC SSCCConfig
	Log  zerolog.Logger
}

// Line is the domain of one packaging line.
type Line struct {
	db     *store.DB
	outbox *queue.Outbox
	cfg    Config
	notify func() // wakes the outbox dispatcher

	smu      sync.Mutex
	stations map[string]*Station
}

// New returns the line.
func New(db *store.DB, cfg Config, notify func()) (*Line, error) {
	if cfg.Serials.Length == 0 {
		cfg.Serials.Length = 12
	}
	if cfg.Serials.Alphabet == "" {
		cfg.Serials.Alphabet = DefaultAlphabet
	}
	if cfg.Serials.Length < 1 || cfg.Serials.Length > 20 {
		return nil, fmt.Errorf("serials.length %d: must be 1-20 (GS1 AI 21)", cfg.Serials.Length)
	}
	for _, c := range cfg.Serials.Alphabet {
		if c > 127 || !strings.ContainsRune("!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz", c) {
			return nil, fmt.Errorf("serials.alphabet: %q is not in GS1 character set 82", c)
		}
	}
	if notify == nil {
		notify = func() {}
	}
	if cfg.Templates == nil {
		cfg.Templates = zpl.Builtin()
	}
	if cfg.SSCC.CompanyPrefix != "" {
		if _, err := gs1.SSCC(cfg.SSCC.Extension, cfg.SSCC.CompanyPrefix, 0); err != nil {
			return nil, fmt.Errorf("sscc: %w", err)
		}
	}
	return &Line{db: db, outbox: queue.New(db), cfg: cfg, notify: notify, stations: map[string]*Station{}}, nil
}

func nowMS() int64 { return time.Now().UnixMilli() }

// audit writes who changed what, from what to what, and why.
func audit(tx *sql.Tx, actor, action, subject, old, new, reason string) error {
	_, err := tx.Exec(`INSERT INTO audit_log (at, actor, action, subject, old_value, new_value, reason) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		time.Now().UTC().Format(time.RFC3339Nano), actor, action, subject, old, new, reason)
	return err
}

// AddProduct registers a product and its batches (master data, from the
// configuration or from packaging orders).
func (l *Line) AddProduct(ctx context.Context, gtin, market string, batches map[string]string) error {
	return l.db.Write(ctx, func(tx *sql.Tx) error { return addProduct(tx, gtin, market, batches) })
}

func addProduct(tx *sql.Tx, gtin, market string, batches map[string]string) error {
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

// ImportSerials adds serials issued elsewhere to a product's pool; ones
// already known are skipped. It returns how many were added.
func (l *Line) ImportSerials(ctx context.Context, actor, gtin string, serials []string) (int, error) {
	for i, s := range serials {
		if err := checkSerial(s); err != nil {
			return 0, fmt.Errorf("serial %d (%q): %w", i+1, s, err)
		}
	}
	added := 0
	err := l.db.Write(ctx, func(tx *sql.Tx) error {
		added = 0
		var known int
		if err := tx.QueryRow(`SELECT COUNT(*) FROM products WHERE gtin = ?`, gtin).Scan(&known); err != nil {
			return err
		}
		if known == 0 {
			return fmt.Errorf("product %s is not registered on this line", gtin)
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
		return audit(tx, actor, "serials.import", gtin, "", fmt.Sprintf("%d serials", added), "")
	})
	return added, err
}

func checkSerial(s string) error {
	if s == "" || len(s) > 20 {
		return errors.New("must be 1-20 characters")
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c > 127 || !strings.ContainsRune("!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz", rune(c)) {
			return fmt.Errorf("character %q at position %d is not in GS1 character set 82", c, i+1)
		}
	}
	return nil
}

// PoolLevel counts a product's available serials.
func (l *Line) PoolLevel(ctx context.Context, gtin string) (int, error) {
	var n int
	err := l.db.Reader().QueryRowContext(ctx, `SELECT COUNT(*) FROM serials WHERE gtin = ? AND state = 'available'`, gtin).Scan(&n)
	return n, err
}

// randomSerial draws a serial from the alphabet with a cryptographic
// source: serials must not be guessable from one another.
func (l *Line) randomSerial() (string, error) {
	alpha := l.cfg.Serials.Alphabet
	b := make([]byte, l.cfg.Serials.Length)
	max := big.NewInt(int64(len(alpha)))
	for i := range b {
		n, err := rand.Int(rand.Reader, max)
		if err != nil {
			return "", err
		}
		b[i] = alpha[n.Int64()]
	}
	return string(b), nil
}

// generate adds n fresh serials to a product's pool inside tx; the primary
// key keeps them unique per GTIN.
func (l *Line) generate(tx *sql.Tx, gtin string, n int) error {
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
	return nil
}

// IsDiskFull reports whether err is a refusal because the database cannot
// grow: the work was not stored.
func IsDiskFull(err error) bool { return store.IsDiskFull(err) }
