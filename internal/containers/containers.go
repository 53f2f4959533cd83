// Package containers keeps the line's cases and pallets: SSCC allocation
// from a counter that only counts up, within the serial reference ranges
// the line is given (so that lines sharing a company prefix never meet),
// what each container holds, closing
// (the aggregation reported to the cloud) and rework — taking items out,
// cancelling an open container, disaggregating a closed one.
//
// The rules of which pack or case may go where are the stations'; this
// package offers the records they are built on, all inside the caller's
// transaction.
package containers

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/rs/zerolog"

	"github.com/edgeagent/edgeagent/internal/audit"
	"github.com/edgeagent/edgeagent/internal/facts"
	"github.com/edgeagent/edgeagent/internal/gs1"
	"github.com/edgeagent/edgeagent/internal/journal"
	"github.com/edgeagent/edgeagent/internal/label"
	"github.com/edgeagent/edgeagent/internal/ledger"
	"github.com/edgeagent/edgeagent/internal/store"
	v2 "github.com/edgeagent/edgeagent/internal/v2"
	"github.com/edgeagent/edgeagent/internal/zpl"
)

// Level is what a container is.
type Level string

// Levels.
const (
	Case   Level = "case"   // holds packs
	Pallet Level = "pallet" // holds cases
)

// Word is the level in a sentence: "case" or "pallet".
func (l Level) Word() string {
	if l == Pallet {
		return "pallet"
	}
	return "case"
}

// Title is the level at the start of a sentence.
func (l Level) Title() string { w := l.Word(); return strings.ToUpper(w[:1]) + w[1:] }

// State is where a container is in its life.
type State string

// States.
const (
	Open          State = "open"          // being filled at a station
	Closed        State = "closed"        // its aggregation is reported
	Cancelled     State = "cancelled"     // emptied before it was closed; its SSCC is not used again
	Disaggregated State = "disaggregated" // emptied by rework after closing; it may be filled again
)

// SSCCConfig is where allocated SSCCs come from.
type SSCCConfig struct {
	CompanyPrefix string // 4-12 digits
	Extension     int    // 0-9
	// Ranges are the serial references this line allocates, in ascending
	// order (empty: every reference from 1). Lines that share a company
	// prefix and extension digit are given disjoint ranges, so that none
	// allocates an SSCC another one does.
	Ranges []Range
	// LowWater: with fewer references left than this, a station says so
	// with each new container, and the dashboard warns (see
	// DefaultLowWater).
	LowWater int64
	// Log is told when the ranges run low and when they are used up.
	Log zerolog.Logger
}

// Errors.
var (
	ErrNotFound       = errors.New("the container is not known on this line")
	ErrNotInContainer = errors.New("the item is not in any container")
	ErrNoPrefix       = errors.New("this line has no SSCC company prefix configured")
	ErrReasonRequired = errors.New("a reason is required")
	ErrEmpty          = errors.New("the container is empty")
)

// StateError is a container in a state that does not allow the act.
type StateError struct {
	SSCC  string
	State State
	Act   string
}

func (e *StateError) Error() string {
	if before, rule, ok := strings.Cut(e.Act, ": "); ok {
		_ = before
		return fmt.Sprintf("container %s is %s: %s", e.SSCC, e.State, rule)
	}
	return fmt.Sprintf("container %s is %s: it cannot be %s", e.SSCC, e.State, e.Act)
}

// OnPalletError is a case that must come off its pallet first.
type OnPalletError struct{ Case, Pallet string }

func (e *OnPalletError) Error() string {
	return fmt.Sprintf("container %s is on pallet %s: take it off first", e.Case, e.Pallet)
}

// ItemError is an item reference that is neither an SSCC nor GTIN/serial.
type ItemError struct{ Item string }

func (e *ItemError) Error() string {
	return fmt.Sprintf("item %q: give an SSCC (18 digits) or GTIN/serial", e.Item)
}

// Container is a stored case or pallet.
type Container struct {
	SSCC    string
	Level   Level
	State   State
	Station string
	Order   string // the packaging order
	Gen     int    // how many times it was filled (the aggregation key)
}

// Containers is the store of cases and pallets.
type Containers struct {
	db     *store.DB
	ledger *ledger.Ledger
	sscc   SSCCConfig

	// changes counts the takes, disaggregations and aggregations run
	// through these Containers; see Changes.
	changes atomic.Uint64
	// exhausted is set once the log has said the ranges are used up.
	exhausted atomic.Bool
}

// Changes counts the changes to containers' contents made through c by
// anyone — Take (a station's REMOVE, a supervisor's remove, a V2
// disaggregation), Disaggregate and Aggregate — each counted inside its
// write transaction, before it touches a row. A station that keeps its
// open container's count in memory reads this in its own transaction: a
// number other than the one it read when it counted means the count may be
// stale, and it counts again. Writes run one after another, so nothing is
// missed; a change that was rolled back only costs a recount.
func (c *Containers) Changes() uint64 { return c.changes.Load() }

// New returns the containers of the line.
func New(l *ledger.Ledger, sscc SSCCConfig) (*Containers, error) {
	if sscc.CompanyPrefix != "" {
		if _, err := gs1.SSCC(sscc.Extension, sscc.CompanyPrefix, 0); err != nil {
			return nil, fmt.Errorf("sscc: %w", err)
		}
	}
	if err := CheckSSCC(sscc); err != nil {
		return nil, err
	}
	c := &Containers{db: l.DB(), ledger: l, sscc: sscc}
	l.OnLabel(label.SSCC, func(tx *sql.Tx, r ledger.Row, to ledger.LabelState) error {
		_, err := tx.Exec(`UPDATE containers SET label_state = ? WHERE sscc = ?`, to, r.Subject)
		return err
	})
	return c, nil
}

// CanAllocate reports whether SSCCs can be allocated (a prefix is set).
func (c *Containers) CanAllocate() bool { return c.sscc.CompanyPrefix != "" }

// Load reads a container; nil when it is not known.
func Load(tx *sql.Tx, sscc string) (*Container, error) {
	k := Container{SSCC: sscc}
	err := tx.QueryRow(`SELECT level, state, station, order_id, gen FROM containers WHERE sscc = ?`, sscc).
		Scan(&k.Level, &k.State, &k.Station, &k.Order, &k.Gen)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &k, nil
}

// HolderOfPack is the container a pack is in ("" = none).
func HolderOfPack(tx *sql.Tx, gtin, serial string) (string, error) {
	return holder(tx.QueryRow(`SELECT sscc FROM container_items WHERE gtin = ? AND serial = ?`, gtin, serial))
}

// HolderOfCase is the pallet a case is on ("" = none).
func HolderOfCase(tx *sql.Tx, sscc string) (string, error) {
	return holder(tx.QueryRow(`SELECT sscc FROM container_items WHERE child = ?`, sscc))
}

func holder(r *sql.Row) (string, error) {
	var sscc string
	err := r.Scan(&sscc)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return sscc, err
}

// Count is how many items a container holds.
func Count(tx *sql.Tx, sscc string) (int, error) {
	var n int
	err := tx.QueryRow(`SELECT COUNT(*) FROM container_items WHERE sscc = ?`, sscc).Scan(&n)
	return n, err
}

// Origin is where a container's SSCC came from.
type Origin string

// Origins.
const (
	Allocated Origin = "allocated" // this line's counter
	Scanned   Origin = "scanned"   // a preprinted label
)

// Create opens a new container inside tx.
func Create(tx *sql.Tx, sscc string, level Level, station, order string, origin Origin, now int64) error {
	_, err := tx.Exec(`INSERT INTO containers (sscc, level, state, station, order_id, origin, opened_at) VALUES (?, ?, 'open', ?, ?, ?, ?)`,
		sscc, level, station, order, origin, now)
	return err
}

// Reopen fills a disaggregated container again, under its next generation.
func Reopen(tx *sql.Tx, sscc, station, order string, now int64) error {
	res, err := tx.Exec(`UPDATE containers SET state = 'open', station = ?, order_id = ?, gen = gen + 1, opened_at = ?, closed_at = NULL WHERE sscc = ? AND state = 'disaggregated'`,
		station, order, now, sscc)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		var state State
		if err := tx.QueryRow(`SELECT state FROM containers WHERE sscc = ?`, sscc).Scan(&state); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		return &StateError{SSCC: sscc, State: state, Act: "reopened"}
	}
	return nil
}

// AddPack puts a pack into an open case.
func AddPack(tx *sql.Tx, sscc, gtin, serial, batch, expiry string) error {
	_, err := tx.Exec(`INSERT INTO container_items (sscc, gtin, serial, batch, expiry) VALUES (?, ?, ?, ?, ?)`, sscc, gtin, serial, batch, expiry)
	return err
}

// AddCase puts a closed case onto an open pallet.
func AddCase(tx *sql.Tx, pallet, sscc string) error {
	_, err := tx.Exec(`INSERT INTO container_items (sscc, child) VALUES (?, ?)`, pallet, sscc)
	return err
}

// Contents reads a container's items as an aggregation, and the
// generation of each child container.
func Contents(tx *sql.Tx, sscc string) (v2.Aggregation, map[string]int, error) {
	a := v2.Aggregation{Parent: sscc}
	gens := map[string]int{}
	rows, err := tx.Query(`SELECT i.gtin, i.serial, i.child, i.batch, i.expiry, COALESCE(c.gen, 0) FROM container_items i
		LEFT JOIN containers c ON c.sscc = i.child WHERE i.sscc = ? ORDER BY i.id`, sscc)
	if err != nil {
		return a, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var gtin, serial, child sql.NullString
		var batch, expiry string
		var gen int
		if err := rows.Scan(&gtin, &serial, &child, &batch, &expiry, &gen); err != nil {
			return a, nil, err
		}
		if child.Valid {
			a.ChildContainers = append(a.ChildContainers, child.String)
			gens[child.String] = gen
			continue
		}
		a.ChildTradeItems = append(a.ChildTradeItems, v2.TradeItem{ProductCode: gtin.String, ProductCodeSchema: "GTIN",
			SerialNumber: serial.String, Batch: batch, ExpiryDate: expiry})
	}
	return a, gens, rows.Err()
}

// Close closes an open container and queues its aggregation; it returns
// how many items it holds. An empty container is ErrEmpty.
func (c *Containers) Close(tx *sql.Tx, k *Container, now int64) (int, error) {
	if k.State != Open {
		return 0, &StateError{SSCC: k.SSCC, State: k.State, Act: "closed"}
	}
	a, gens, err := Contents(tx, k.SSCC)
	if err != nil {
		return 0, err
	}
	n := len(a.ChildTradeItems) + len(a.ChildContainers)
	if n == 0 {
		return 0, ErrEmpty
	}
	if _, err := tx.Exec(`UPDATE containers SET state = 'closed', closed_at = ? WHERE sscc = ?`, now, k.SSCC); err != nil {
		return 0, err
	}
	if _, err := c.ledger.Outbox().Enqueue(tx, facts.ContainerAggregate(a, k.Gen, gens)); err != nil {
		return 0, err
	}
	packs, cases := journalled(a)
	return n, c.ledger.Journal().Pack(tx, k.SSCC, packs, cases)
}

// journalled names an aggregation's children as the journal does.
func journalled(a v2.Aggregation) ([]journal.Pack, []string) {
	packs := make([]journal.Pack, len(a.ChildTradeItems))
	for i, t := range a.ChildTradeItems {
		packs[i] = journal.Pack{GTIN: t.ProductCode, Serial: t.SerialNumber}
	}
	return packs, a.ChildContainers
}

// Cancel empties and cancels an open container: it never reached the
// cloud.
func Cancel(tx *sql.Tx, actor, sscc string, now int64) error {
	if _, err := tx.Exec(`DELETE FROM container_items WHERE sscc = ?`, sscc); err != nil {
		return err
	}
	if _, err := tx.Exec(`UPDATE containers SET state = 'cancelled', closed_at = ? WHERE sscc = ?`, now, sscc); err != nil {
		return err
	}
	return audit.Write(tx, actor, "container.cancel", sscc, string(Open), string(Cancelled), "")
}

// Undo takes the last item out of an open container and says what it was
// ("pack S" or "case SSCC"); an empty container is ErrEmpty.
func Undo(tx *sql.Tx, actor, sscc string) (string, error) {
	var id int64
	var serial, child sql.NullString
	err := tx.QueryRow(`SELECT id, serial, child FROM container_items WHERE sscc = ? ORDER BY id DESC LIMIT 1`, sscc).Scan(&id, &serial, &child)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrEmpty
	}
	if err != nil {
		return "", err
	}
	if _, err := tx.Exec(`DELETE FROM container_items WHERE id = ?`, id); err != nil {
		return "", err
	}
	what := "pack " + serial.String
	if child.Valid {
		what = "case " + child.String
	}
	return what, audit.Write(tx, actor, "container.undo", sscc, what, "", "undo last")
}

// Item is something a container holds: a pack (GTIN and serial) or a case
// (its SSCC).
type Item struct {
	GTIN, Serial string
	Case         string
}

func (i Item) String() string {
	if i.Case != "" {
		return i.Case
	}
	return i.GTIN + "/" + i.Serial
}

// ParseItem reads an item reference: an SSCC, or GTIN/serial.
func ParseItem(s string) (Item, error) {
	if g, sn, ok := strings.Cut(s, "/"); ok && g != "" && sn != "" {
		return Item{GTIN: g, Serial: sn}, nil
	}
	if v2.ValidGS1Key(s, 18) {
		return Item{Case: s}, nil
	}
	return Item{}, &ItemError{Item: s}
}

// Take takes an item out of whatever container holds it and returns the
// container ("" when it was in none). A closed container's loss is
// reported to the cloud (disaggregation).
func (c *Containers) Take(tx *sql.Tx, actor string, it Item, reason string) (string, error) {
	c.changes.Add(1)
	var in string
	var err error
	if it.Case != "" {
		in, err = HolderOfCase(tx, it.Case)
	} else {
		in, err = HolderOfPack(tx, it.GTIN, it.Serial)
	}
	if err != nil || in == "" {
		return "", err
	}
	k, err := Load(tx, in)
	if err != nil {
		return "", err
	}
	a := v2.Aggregation{Parent: in}
	if it.Case != "" {
		_, err = tx.Exec(`DELETE FROM container_items WHERE child = ?`, it.Case)
		a.ChildContainers = []string{it.Case}
	} else {
		var batch, expiry string
		if err := tx.QueryRow(`SELECT batch, expiry FROM container_items WHERE gtin = ? AND serial = ?`, it.GTIN, it.Serial).Scan(&batch, &expiry); err != nil {
			return "", err
		}
		_, err = tx.Exec(`DELETE FROM container_items WHERE gtin = ? AND serial = ?`, it.GTIN, it.Serial)
		a.ChildTradeItems = []v2.TradeItem{{ProductCode: it.GTIN, ProductCodeSchema: "GTIN", SerialNumber: it.Serial, Batch: batch, ExpiryDate: expiry}}
	}
	if err != nil {
		return "", err
	}
	if k.State == Closed {
		var seq int64
		if err := tx.QueryRow(`SELECT COALESCE(MAX(id), 0) + 1 FROM audit_log`).Scan(&seq); err != nil {
			return "", err
		}
		key := fmt.Sprintf("%s-%d", facts.AggregateKey(in, k.Gen), seq)
		if _, err := c.ledger.Outbox().Enqueue(tx, facts.ContainerDisaggregate(a, k.Gen, key)); err != nil {
			return "", err
		}
		packs, cases := journalled(a)
		if err := c.ledger.Journal().Unpack(tx, in, packs, cases); err != nil {
			return "", err
		}
	}
	return in, audit.Write(tx, actor, "container.remove", in, it.String(), "", reason)
}

// Remove takes one item out of its container: an audited supervisor
// action. It returns the container.
func (c *Containers) Remove(ctx context.Context, actor string, it Item, reason string) (string, error) {
	if reason == "" {
		return "", fmt.Errorf("removing an item: %w", ErrReasonRequired)
	}
	var in string
	err := c.db.Write(ctx, func(tx *sql.Tx) error {
		var err error
		in, err = c.Take(tx, actor, it, reason)
		if err == nil && in == "" {
			err = fmt.Errorf("%s: %w", it, ErrNotInContainer)
		}
		return err
	})
	if err == nil {
		c.ledger.Notify()
	}
	return in, err
}

// Disaggregate empties a closed container (rework): the cloud is told to
// take every item out; the container can be filled and closed again.
// An audited supervisor action.
func (c *Containers) Disaggregate(ctx context.Context, actor, sscc, reason string) error {
	if reason == "" {
		return fmt.Errorf("disaggregating: %w", ErrReasonRequired)
	}
	err := c.db.Write(ctx, func(tx *sql.Tx) error {
		c.changes.Add(1)
		k, err := Load(tx, sscc)
		if err != nil {
			return err
		}
		if k == nil {
			return fmt.Errorf("container %s: %w", sscc, ErrNotFound)
		}
		if k.State != Closed {
			return &StateError{SSCC: sscc, State: k.State, Act: "disaggregated: only closed containers are disaggregated (an open one is cancelled at its station)"}
		}
		if in, err := HolderOfCase(tx, sscc); err != nil {
			return err
		} else if in != "" {
			return &OnPalletError{Case: sscc, Pallet: in}
		}
		a, _, err := Contents(tx, sscc)
		if err != nil {
			return err
		}
		if len(a.ChildTradeItems)+len(a.ChildContainers) > 0 {
			if _, err := c.ledger.Outbox().Enqueue(tx, facts.ContainerDisaggregate(a, k.Gen, facts.AggregateKey(sscc, k.Gen)+"-all")); err != nil {
				return err
			}
			packs, cases := journalled(a)
			if err := c.ledger.Journal().Unpack(tx, sscc, packs, cases); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(`DELETE FROM container_items WHERE sscc = ?`, sscc); err != nil {
			return err
		}
		if _, err := tx.Exec(`UPDATE containers SET state = 'disaggregated' WHERE sscc = ?`, sscc); err != nil {
			return err
		}
		return audit.Write(tx, actor, "container.disaggregate", sscc, string(Closed), string(Disaggregated), reason)
	})
	if err == nil {
		c.ledger.Notify()
	}
	return err
}

// Allocate takes the next SSCC of the line's ranges from the persisted
// counter, inside the caller's transaction, and says how many references
// are left after it. A number is never handed out twice, even when the
// container is cancelled; one a preprinted label took is skipped. Used-up
// ranges are an *ExhaustedError (ErrNoSSCCLeft).
func (c *Containers) Allocate(tx *sql.Tx) (string, int64, error) {
	p, ext := c.sscc.CompanyPrefix, c.sscc.Extension
	if p == "" {
		return "", 0, ErrNoPrefix
	}
	if _, err := tx.Exec(`INSERT INTO sscc_counters (prefix, extension, next) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`, p, ext, c.ranges()[0].From); err != nil {
		return "", 0, err
	}
	var next int64
	if err := tx.QueryRow(`SELECT next FROM sscc_counters WHERE prefix = ? AND extension = ?`, p, ext).Scan(&next); err != nil {
		return "", 0, err
	}
	before := c.left(next)
	for {
		ref, ok := c.nextIn(next)
		if !ok {
			if c.exhausted.CompareAndSwap(false, true) {
				c.sscc.Log.Warn().Str("ranges", rangeList(c.ranges())).Msg("no SSCC left in this line's range: stations refuse NEW containers until line.sscc.ranges gets a new range")
			}
			return "", 0, &ExhaustedError{CompanyPrefix: p, Extension: ext, Ranges: c.ranges()}
		}
		sscc, err := gs1.SSCC(ext, p, uint64(ref))
		if err != nil {
			return "", 0, fmt.Errorf("sscc: %w", err)
		}
		next = ref + 1
		var used int
		if err := tx.QueryRow(`SELECT COUNT(*) FROM containers WHERE sscc = ?`, sscc).Scan(&used); err != nil {
			return "", 0, err
		}
		if used > 0 {
			continue // a preprinted label took it
		}
		if _, err := tx.Exec(`UPDATE sscc_counters SET next = ? WHERE prefix = ? AND extension = ?`, next, p, ext); err != nil {
			return "", 0, err
		}
		left := c.left(next)
		if c.Low(left) && !c.Low(before) {
			c.sscc.Log.Warn().Int64("left", left).Int64("low_water", c.sscc.LowWater).Str("ranges", rangeList(c.ranges())).
				Msg("few SSCCs left in this line's range: give the line a new range (line.sscc.ranges) before they run out")
		}
		return sscc, left, nil
	}
}

// QueueLabel queues a container's SSCC label for a printer in the ledger,
// inside tx: it is printed once committed, and a crash cannot lose it.
func (c *Containers) QueueLabel(tx *sql.Tx, actor, sscc, printer string) error {
	t, ok := c.ledger.Templates().Get("sscc")
	if !ok {
		return errors.New("template sscc is missing")
	}
	data, err := t.Render(nil, zpl.Data{"sscc": sscc})
	if err != nil {
		return err
	}
	if _, err := c.ledger.QueueLabel(tx, label.SSCC, printer, sscc, data); err != nil {
		return err
	}
	return audit.Write(tx, actor, "container.label", sscc, "", printer, "")
}
