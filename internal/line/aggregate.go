package line

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/edgeagent/edgeagent/internal/facts"
	"github.com/edgeagent/edgeagent/internal/gs1"
	"github.com/edgeagent/edgeagent/internal/v2"
	"github.com/edgeagent/edgeagent/internal/zpl"
)

// container is a stored case or pallet.
type container struct {
	sscc, level, state, station, order string
	gen                                int
}

func loadContainer(tx *sql.Tx, sscc string) (*container, error) {
	c := container{sscc: sscc}
	err := tx.QueryRow(`SELECT level, state, station, order_id, gen FROM containers WHERE sscc = ?`, sscc).
		Scan(&c.level, &c.state, &c.station, &c.order, &c.gen)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// holder is the container an item is in ("" = none).
func holder(tx *sql.Tx, gtin, serial, child string) (string, error) {
	var sscc string
	var err error
	if child != "" {
		err = tx.QueryRow(`SELECT sscc FROM container_items WHERE child = ?`, child).Scan(&sscc)
	} else {
		err = tx.QueryRow(`SELECT sscc FROM container_items WHERE gtin = ? AND serial = ?`, gtin, serial).Scan(&sscc)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return sscc, err
}

func word(level string) string {
	if level == ModePallet {
		return "pallet"
	}
	return "case"
}

func title(s string) string { return strings.ToUpper(s[:1]) + s[1:] }

func (w *work) actor() string {
	if w.who != "" {
		return w.who
	}
	return "station:" + w.s.cfg.Name
}

// aggregate handles a GS1 scan at a case or pallet station.
func (w *work) aggregate(m *gs1.Message) error {
	if sscc, ok := m.Get("00"); ok {
		return w.containerScan(sscc)
	}
	gtin, ok1 := m.Get("01")
	serial, ok2 := m.Get("21")
	if !ok1 || !ok2 {
		return refuse("not_pack", "Not a pack label: it has no GTIN (01) and serial (21); read %s", clip(m.Bracketed(), 80))
	}
	if w.row.removeNext {
		return w.remove(gtin, serial, "")
	}
	if w.row.mode == ModePallet {
		return refuse("wrong_level", "A pack was scanned where cases go: scan case labels onto the pallet")
	}
	if w.row.container == "" {
		return refuse("no_container", "No case is open: scan a case label or NEW first")
	}
	c, err := loadContainer(w.tx, w.row.container)
	if err != nil {
		return err
	}
	o, err := w.order(c.order)
	if err != nil {
		return err
	}
	batch, _ := m.Get("10")
	expiry, _ := m.Get("17")
	if o != nil {
		switch {
		case gtin != o.ProductCode:
			return refuse("wrong_product", "Wrong product: GTIN %s, but order %s is for %s", gtin, o.ID, o.ProductCode)
		case o.Batch != "" && batch == "":
			return refuse("wrong_batch", "The pack label has no batch (10); order %s is for batch %s", o.ID, o.Batch)
		case o.Batch != "" && batch != o.Batch:
			return refuse("wrong_batch", "Wrong batch: %s, but order %s is for batch %s", batch, o.ID, o.Batch)
		case o.Expiry != "" && expiry == "":
			return refuse("wrong_expiry", "The pack label has no expiry (17); order %s expires %s", o.ID, o.Expiry)
		case o.Expiry != "" && expiry != o.Expiry:
			return refuse("wrong_expiry", "Wrong expiry: %s, but order %s expires %s", expiry, o.ID, o.Expiry)
		}
	}
	var state, lbatch, lexpiry, reason string
	err = w.tx.QueryRow(`SELECT state, batch, expiry, reason FROM serials WHERE gtin = ? AND serial = ?`, gtin, serial).Scan(&state, &lbatch, &lexpiry, &reason)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return refuse("unknown_serial", "Serial %s of %s is not known on this line: put the pack aside", serial, gtin)
	case err != nil:
		return err
	case state == "decommissioned":
		return refuse("is_decommissioned", "Pack %s was decommissioned (%s): put it aside", serial, strings.ReplaceAll(reason, "_", " "))
	case state == "unknown":
		return refuse("not_printed", "Pack %s: its label's printing was not confirmed; a supervisor must resolve it first", serial)
	case state != "printed" && state != "commissioned":
		return refuse("not_printed", "Pack %s was never printed on this line (%s): put it aside", serial, state)
	case lbatch != batch || (expiry != "" && lexpiry != expiry):
		return refuse("wrong_label", "Pack %s: the label says batch %s expiry %s, but the serial was printed for batch %s expiry %s", serial, batch, expiry, lbatch, lexpiry)
	}
	in, err := holder(w.tx, gtin, serial, "")
	switch {
	case err != nil:
		return err
	case in == w.row.container:
		return refuse("duplicate", "Pack %s is already in this case: scanned twice", serial)
	case in != "":
		return w.inOther("Pack "+serial, in)
	}
	if err := w.roomFor(c); err != nil {
		return err
	}
	if _, err := w.tx.Exec(`INSERT INTO container_items (sscc, gtin, serial, batch, expiry) VALUES (?, ?, ?, ?, ?)`, c.sscc, gtin, serial, lbatch, lexpiry); err != nil {
		return err
	}
	w.v.Code, w.v.Message = "added", "Pack "+serial+" added"
	return nil
}

// inOther refuses an item that is in another container, saying which.
func (w *work) inOther(what, in string) error {
	c, err := loadContainer(w.tx, in)
	if err != nil || c == nil {
		return refuse("in_container", "%s is already in %s: take it out there first", what, in)
	}
	return refuse("in_container", "%s is already in %s %s (%s, station %s): take it out there first", what, word(c.level), in, c.state, c.station)
}

// roomFor refuses when the container is full.
func (w *work) roomFor(c *container) error {
	limit, err := w.capacity(c.level, c.order)
	if err != nil || limit == 0 {
		return err
	}
	var n int
	if err := w.tx.QueryRow(`SELECT COUNT(*) FROM container_items WHERE sscc = ?`, c.sscc).Scan(&n); err != nil {
		return err
	}
	if n >= limit {
		return refuse("full", "%s %s is full (%d of %d): close it", title(word(c.level)), c.sscc, n, limit)
	}
	return nil
}

// containerScan handles a scanned SSCC: open, close, or put a case on the
// open pallet.
func (w *work) containerScan(sscc string) error {
	if w.row.removeNext {
		return w.remove("", "", sscc)
	}
	c, err := loadContainer(w.tx, sscc)
	if err != nil {
		return err
	}
	if w.row.container != "" {
		if sscc == w.row.container {
			return w.closeContainer()
		}
		if w.row.mode == ModeCase {
			return refuse("wrong_level", "A case label (%s) was scanned where packs go: finish case %s first", sscc, w.row.container)
		}
		return w.addCase(sscc, c)
	}
	level := w.row.mode
	if c == nil {
		o, err := w.activeOrder()
		if err != nil {
			return err
		}
		if _, err := w.tx.Exec(`INSERT INTO containers (sscc, level, state, station, order_id, origin, opened_at) VALUES (?, ?, 'open', ?, ?, 'scanned', ?)`,
			sscc, level, w.s.cfg.Name, o.ID, w.now); err != nil {
			return err
		}
		return w.opened(sscc, level)
	}
	switch {
	case c.level != level:
		return refuse("wrong_level", "%s is a %s label; this station is building %ss: scan a %s label or NEW", sscc, word(c.level), word(level), word(level))
	case c.state == "open":
		return refuse("open_elsewhere", "%s %s is open at station %s", title(word(c.level)), sscc, c.station)
	case c.state == "closed":
		return refuse("already_closed", "%s %s is already closed; to rework it, scan REMOVE and its items, or a supervisor disaggregates it", title(word(c.level)), sscc)
	case c.state == "cancelled":
		return refuse("cancelled", "%s %s was cancelled: use a new label", title(word(c.level)), sscc)
	}
	// Disaggregated (emptied by rework): it is filled again and will be
	// aggregated again under its next generation.
	o, err := w.activeOrder()
	if err != nil {
		return err
	}
	if _, err := w.tx.Exec(`UPDATE containers SET state = 'open', station = ?, order_id = ?, gen = gen + 1, opened_at = ?, closed_at = NULL WHERE sscc = ?`,
		w.s.cfg.Name, o.ID, w.now, sscc); err != nil {
		return err
	}
	return w.opened(sscc, level)
}

func (w *work) opened(sscc, level string) error {
	w.row.container, w.row.removeNext, w.dirty = sscc, false, true
	w.v.Code = "opened"
	if level == ModePallet {
		w.v.Message = "Pallet " + sscc + " opened: scan cases"
	} else {
		w.v.Message = "Case " + sscc + " opened: scan packs"
	}
	return nil
}

// addCase puts a closed case on the open pallet.
func (w *work) addCase(sscc string, c *container) error {
	switch {
	case c == nil:
		return refuse("unknown_container", "Case %s is not known on this line: pack it at a case station first", sscc)
	case c.level == ModePallet:
		return refuse("wrong_level", "%s is a pallet: pallets do not go on pallets", sscc)
	case c.state == "open":
		return refuse("not_closed", "Case %s is still open at station %s: close it first", sscc, c.station)
	case c.state != "closed":
		return refuse("not_closed", "Case %s is %s: it cannot go on a pallet", sscc, c.state)
	}
	p, err := loadContainer(w.tx, w.row.container)
	if err != nil {
		return err
	}
	in, err := holder(w.tx, "", "", sscc)
	switch {
	case err != nil:
		return err
	case in == p.sscc:
		return refuse("duplicate", "Case %s is already on this pallet: scanned twice", sscc)
	case in != "":
		return w.inOther("Case "+sscc, in)
	case p.order != "" && c.order != p.order:
		return refuse("wrong_order", "Case %s belongs to order %s, this pallet to order %s", sscc, c.order, p.order)
	}
	if err := w.roomFor(p); err != nil {
		return err
	}
	if _, err := w.tx.Exec(`INSERT INTO container_items (sscc, child) VALUES (?, ?)`, p.sscc, sscc); err != nil {
		return err
	}
	w.v.Code, w.v.Message = "added", "Case "+sscc+" added"
	return nil
}

// closeContainer closes the open container and queues its aggregation.
func (w *work) closeContainer() error {
	if w.row.container == "" {
		return refuse("no_container", "No %s is open: nothing to close", word(w.row.mode))
	}
	c, err := loadContainer(w.tx, w.row.container)
	if err != nil {
		return err
	}
	a, gens, err := contents(w.tx, c.sscc)
	if err != nil {
		return err
	}
	n := len(a.ChildTradeItems) + len(a.ChildContainers)
	if n == 0 {
		return refuse("empty", "%s %s is empty: scan items into it, or CANCEL", title(word(c.level)), c.sscc)
	}
	if _, err := w.tx.Exec(`UPDATE containers SET state = 'closed', closed_at = ? WHERE sscc = ?`, w.now, c.sscc); err != nil {
		return err
	}
	if _, err := w.s.l.outbox.Enqueue(w.tx, facts.ContainerAggregate(a, c.gen, gens)); err != nil {
		return err
	}
	w.after = append(w.after, w.s.l.notify)
	w.row.container, w.row.removeNext, w.dirty = "", false, true
	w.v.Code, w.v.Message = "closed", fmt.Sprintf("%s %s closed with %d %s", title(word(c.level)), c.sscc, n, map[bool]string{true: "packs", false: "cases"}[c.level == ModeCase])
	w.v.Count = n
	return nil
}

// contents reads a container's items as an aggregation, and the
// generation of each child container.
func contents(tx *sql.Tx, sscc string) (v2.Aggregation, map[string]int, error) {
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

// cancelContainer empties and cancels the open container: it never
// reached the cloud.
func (w *work) cancelContainer() error {
	if w.row.container == "" {
		return refuse("no_container", "No %s is open: nothing to cancel", word(w.row.mode))
	}
	sscc := w.row.container
	if _, err := w.tx.Exec(`DELETE FROM container_items WHERE sscc = ?`, sscc); err != nil {
		return err
	}
	if _, err := w.tx.Exec(`UPDATE containers SET state = 'cancelled', closed_at = ? WHERE sscc = ?`, w.now, sscc); err != nil {
		return err
	}
	if err := audit(w.tx, w.actor(), "container.cancel", sscc, "open", "cancelled", ""); err != nil {
		return err
	}
	w.row.container, w.row.removeNext, w.dirty = "", false, true
	w.v.Code, w.v.Message = "cancelled", title(word(w.row.mode))+" "+sscc+" cancelled: take its items out"
	return nil
}

// undo takes the last item out of the open container.
func (w *work) undo() error {
	if w.row.container == "" {
		return refuse("no_container", "Nothing to undo: no %s is open", word(w.row.mode))
	}
	var id int64
	var serial, child sql.NullString
	err := w.tx.QueryRow(`SELECT id, serial, child FROM container_items WHERE sscc = ? ORDER BY id DESC LIMIT 1`, w.row.container).Scan(&id, &serial, &child)
	if errors.Is(err, sql.ErrNoRows) {
		return refuse("empty", "Nothing to undo: %s %s is empty", word(w.row.mode), w.row.container)
	}
	if err != nil {
		return err
	}
	if _, err := w.tx.Exec(`DELETE FROM container_items WHERE id = ?`, id); err != nil {
		return err
	}
	what := "pack " + serial.String
	if child.Valid {
		what = "case " + child.String
	}
	if err := audit(w.tx, w.actor(), "container.undo", w.row.container, what, "", "undo last"); err != nil {
		return err
	}
	w.v.Code, w.v.Message = "undone", "Took out "+what+": remove it from the "+word(w.row.mode)
	return nil
}

// remove takes one item out of whatever container holds it; a closed
// container's removal is reported to the cloud (disaggregation).
func (w *work) remove(gtin, serial, child string) error {
	w.row.removeNext, w.dirty = false, true
	what := "Pack " + serial
	if child != "" {
		what = "Case " + child
	}
	in, err := removeItem(w.s.l, w.tx, w.actor(), gtin, serial, child, "remove at station")
	if err != nil {
		return err
	}
	if in == "" {
		return refuse("not_in_container", "%s is not in any container: nothing to take out", what)
	}
	w.after = append(w.after, w.s.l.notify)
	w.v.Code, w.v.Message = "removed", what+" taken out of "+in
	return nil
}

// removeItem takes an item out of its container and returns the container
// ("" when it was in none).
func removeItem(l *Line, tx *sql.Tx, actor, gtin, serial, child, reason string) (string, error) {
	in, err := holder(tx, gtin, serial, child)
	if err != nil || in == "" {
		return "", err
	}
	c, err := loadContainer(tx, in)
	if err != nil {
		return "", err
	}
	item := gtin + "/" + serial
	a := v2.Aggregation{Parent: in}
	if child != "" {
		item = child
		_, err = tx.Exec(`DELETE FROM container_items WHERE child = ?`, child)
		a.ChildContainers = []string{child}
	} else {
		var batch, expiry string
		if err := tx.QueryRow(`SELECT batch, expiry FROM container_items WHERE gtin = ? AND serial = ?`, gtin, serial).Scan(&batch, &expiry); err != nil {
			return "", err
		}
		_, err = tx.Exec(`DELETE FROM container_items WHERE gtin = ? AND serial = ?`, gtin, serial)
		a.ChildTradeItems = []v2.TradeItem{{ProductCode: gtin, ProductCodeSchema: "GTIN", SerialNumber: serial, Batch: batch, ExpiryDate: expiry}}
	}
	if err != nil {
		return "", err
	}
	if c.state == "closed" {
		var seq int64
		if err := tx.QueryRow(`SELECT COALESCE(MAX(id), 0) + 1 FROM audit_log`).Scan(&seq); err != nil {
			return "", err
		}
		key := fmt.Sprintf("%s-%d", facts.AggregateKey(in, c.gen), seq)
		if _, err := l.outbox.Enqueue(tx, facts.ContainerDisaggregate(a, c.gen, key)); err != nil {
			return "", err
		}
	}
	return in, audit(tx, actor, "container.remove", in, item, "", reason)
}

// newContainer allocates the next SSCC, opens it and prints its label.
func (w *work) newContainer() error {
	if w.row.mode != ModeCase && w.row.mode != ModePallet {
		return refuse("wrong_mode", "NEW works when packing cases or pallets")
	}
	if w.row.container != "" {
		return refuse("container_open", "%s %s is still open: close or cancel it first", title(word(w.row.mode)), w.row.container)
	}
	if w.s.l.cfg.SSCC.CompanyPrefix == "" {
		return refuse("no_sscc", "This line has no SSCC company prefix configured: scan a preprinted label")
	}
	o, err := w.activeOrder()
	if err != nil {
		return err
	}
	sscc, err := w.s.l.allocateSSCC(w.tx)
	if err != nil {
		return err
	}
	if _, err := w.tx.Exec(`INSERT INTO containers (sscc, level, state, station, order_id, origin, opened_at) VALUES (?, ?, 'open', ?, ?, 'allocated', ?)`,
		sscc, w.row.mode, w.s.cfg.Name, o.ID, w.now); err != nil {
		return err
	}
	if err := w.opened(sscc, w.row.mode); err != nil {
		return err
	}
	return w.printLabel(sscc)
}

// printLabel renders a container label and prints it once committed.
func (w *work) printLabel(sscc string) error {
	p := w.s.l.cfg.Printers[w.s.cfg.Printer]
	if p == nil {
		w.v.Message += "; this station has no printer: label it by hand"
		return nil
	}
	t, ok := w.s.l.cfg.Templates.Get("sscc")
	if !ok {
		return errors.New("template sscc is missing")
	}
	data, err := t.Render(nil, zpl.Data{"sscc": sscc})
	if err != nil {
		return err
	}
	var n int
	if err := w.tx.QueryRow(`SELECT COUNT(*) FROM audit_log WHERE action = 'container.label' AND subject = ?`, sscc).Scan(&n); err != nil {
		return err
	}
	if err := audit(w.tx, w.actor(), "container.label", sscc, "", w.s.cfg.Printer, ""); err != nil {
		return err
	}
	id := fmt.Sprintf("sscc:%s:%d", sscc, n+1)
	w.after = append(w.after, func() {
		if err := p.Submit(id, []PrintLabel{{ID: id, Data: data}}); err != nil {
			w.s.l.cfg.Log.Error().Err(err).Str("sscc", sscc).Msg("container label not printed")
		}
	})
	w.v.Message += "; label printing"
	return nil
}

// reprint prints the label of the open container, or of the last one
// closed here.
func (w *work) reprint() error {
	sscc := w.row.container
	if sscc == "" {
		err := w.tx.QueryRow(`SELECT sscc FROM containers WHERE station = ? AND state = 'closed' ORDER BY closed_at DESC LIMIT 1`, w.s.cfg.Name).Scan(&sscc)
		if errors.Is(err, sql.ErrNoRows) {
			return refuse("no_container", "No container to reprint: none is open or was closed here")
		}
		if err != nil {
			return err
		}
	}
	if w.s.l.cfg.Printers[w.s.cfg.Printer] == nil {
		return refuse("no_printer", "This station has no printer")
	}
	w.v.Code, w.v.Message = "reprint", "Label of "+sscc+" again"
	return w.printLabel(sscc)
}

// allocateSSCC takes the next SSCC from the persisted counter; a number is
// never handed out twice, even when the container is cancelled.
func (l *Line) allocateSSCC(tx *sql.Tx) (string, error) {
	p, ext := l.cfg.SSCC.CompanyPrefix, l.cfg.SSCC.Extension
	if _, err := tx.Exec(`INSERT INTO sscc_counters (prefix, extension, next) VALUES (?, ?, 1) ON CONFLICT DO NOTHING`, p, ext); err != nil {
		return "", err
	}
	var next uint64
	if err := tx.QueryRow(`SELECT next FROM sscc_counters WHERE prefix = ? AND extension = ?`, p, ext).Scan(&next); err != nil {
		return "", err
	}
	for {
		sscc, err := gs1.SSCC(ext, p, next)
		if err != nil {
			return "", fmt.Errorf("sscc: serial references for prefix %s are used up: %w", p, err)
		}
		next++
		var used int
		if err := tx.QueryRow(`SELECT COUNT(*) FROM containers WHERE sscc = ?`, sscc).Scan(&used); err != nil {
			return "", err
		}
		if used > 0 {
			continue // a preprinted label took it
		}
		if _, err := tx.Exec(`UPDATE sscc_counters SET next = ? WHERE prefix = ? AND extension = ?`, next, p, ext); err != nil {
			return "", err
		}
		return sscc, nil
	}
}

// decommission takes a scanned pack out of circulation.
func (w *work) decommission(m *gs1.Message) error {
	gtin, ok1 := m.Get("01")
	serial, ok2 := m.Get("21")
	if !ok1 || !ok2 {
		return refuse("not_pack", "Not a pack label: it has no GTIN (01) and serial (21)")
	}
	var state, batch, expiry, reason string
	err := w.tx.QueryRow(`SELECT state, batch, expiry, reason FROM serials WHERE gtin = ? AND serial = ?`, gtin, serial).Scan(&state, &batch, &expiry, &reason)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return refuse("unknown_serial", "Serial %s of %s is not known on this line", serial, gtin)
	case err != nil:
		return err
	case state == "decommissioned":
		return refuse("is_decommissioned", "Pack %s was already decommissioned (%s)", serial, strings.ReplaceAll(reason, "_", " "))
	case state != "printed" && state != "commissioned":
		return refuse("not_printed", "Pack %s was never confirmed printed (%s): a supervisor must resolve it", serial, state)
	}
	if in, err := holder(w.tx, gtin, serial, ""); err != nil {
		return err
	} else if in != "" {
		return refuse("in_container", "Pack %s is in %s: take it out first (REMOVE at its station)", serial, in)
	}
	if _, err := w.tx.Exec(`UPDATE serials SET state = 'decommissioned', reason = ?, updated_at = ? WHERE gtin = ? AND serial = ?`, w.row.reason, w.now, gtin, serial); err != nil {
		return err
	}
	f := facts.SerialFact{ProductCode: gtin, Batch: batch, ExpiryDate: expiry, Serial: serial, Reason: w.row.reason, SendToMarket: w.s.cfg.SendToMarket}
	if _, err := w.s.l.outbox.Enqueue(w.tx, facts.DecommissionItem(gtin+"/"+batch, f)); err != nil {
		return err
	}
	if err := audit(w.tx, w.actor(), "serial.decommission", gtin+"/"+serial, state, "decommissioned", w.row.reason); err != nil {
		return err
	}
	w.after = append(w.after, w.s.l.notify)
	w.v.Code, w.v.Message = "decommissioned", "Pack "+serial+" decommissioned: "+strings.ReplaceAll(w.row.reason, "_", " ")
	return nil
}

// Disaggregate empties a closed container (rework): the cloud is told to
// take every item out; the container can be filled and closed again.
// An audited supervisor action.
func (l *Line) Disaggregate(ctx context.Context, actor, sscc, reason string) error {
	if reason == "" {
		return errors.New("disaggregating needs a reason")
	}
	err := l.db.Write(ctx, func(tx *sql.Tx) error {
		c, err := loadContainer(tx, sscc)
		if err != nil {
			return err
		}
		if c == nil {
			return fmt.Errorf("container %s is not known on this line", sscc)
		}
		if c.state != "closed" {
			return fmt.Errorf("container %s is %s: only closed containers are disaggregated (an open one is cancelled at its station)", sscc, c.state)
		}
		if in, err := holder(tx, "", "", sscc); err != nil {
			return err
		} else if in != "" {
			return fmt.Errorf("container %s is on pallet %s: take it off first", sscc, in)
		}
		a, _, err := contents(tx, sscc)
		if err != nil {
			return err
		}
		if len(a.ChildTradeItems)+len(a.ChildContainers) > 0 {
			if _, err := l.outbox.Enqueue(tx, facts.ContainerDisaggregate(a, c.gen, facts.AggregateKey(sscc, c.gen)+"-all")); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(`DELETE FROM container_items WHERE sscc = ?`, sscc); err != nil {
			return err
		}
		if _, err := tx.Exec(`UPDATE containers SET state = 'disaggregated' WHERE sscc = ?`, sscc); err != nil {
			return err
		}
		return audit(tx, actor, "container.disaggregate", sscc, "closed", "disaggregated", reason)
	})
	if err == nil {
		l.notify()
	}
	return err
}

// RemoveItem takes one item (an SSCC, or GTIN/serial) out of its container:
// an audited supervisor action.
func (l *Line) RemoveItem(ctx context.Context, actor, item, reason string) (string, error) {
	if reason == "" {
		return "", errors.New("removing an item needs a reason")
	}
	var gtin, serial, child string
	if g, s, ok := strings.Cut(item, "/"); ok {
		gtin, serial = g, s
	} else if v2.ValidGS1Key(item, 18) {
		child = item
	} else {
		return "", fmt.Errorf("item %q: give an SSCC (18 digits) or GTIN/serial", item)
	}
	var in string
	err := l.db.Write(ctx, func(tx *sql.Tx) error {
		var err error
		in, err = removeItem(l, tx, actor, gtin, serial, child, reason)
		if err == nil && in == "" {
			err = fmt.Errorf("%s is not in any container", item)
		}
		return err
	})
	if err == nil {
		l.notify()
	}
	return in, err
}

// ContainerTree is a container with its items, as the line knows it.
type ContainerTree struct {
	SSCC     string   `json:"sscc"`
	Level    string   `json:"level"`
	State    string   `json:"state"`
	Station  string   `json:"station"`
	Order    string   `json:"order,omitempty"`    // the packaging order
	Parent   string   `json:"parent,omitempty"`   // the pallet a case is on
	Packs    []string `json:"packs,omitempty"`    // GTIN/serial
	Children []string `json:"children,omitempty"` // SSCCs
}

// Containers lists the containers in a state ("" = all), with their items.
func (l *Line) Containers(ctx context.Context, state string) ([]ContainerTree, error) {
	rows, err := l.db.Reader().QueryContext(ctx, `SELECT c.sscc, c.level, c.state, c.station, c.order_id,
		COALESCE((SELECT p.sscc FROM container_items p WHERE p.child = c.sscc), ''), i.gtin, i.serial, i.child FROM containers c
		LEFT JOIN container_items i ON i.sscc = c.sscc WHERE ? = '' OR c.state = ? ORDER BY c.sscc, i.id`, state, state)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ContainerTree
	for rows.Next() {
		var t ContainerTree
		var gtin, serial, child sql.NullString
		if err := rows.Scan(&t.SSCC, &t.Level, &t.State, &t.Station, &t.Order, &t.Parent, &gtin, &serial, &child); err != nil {
			return nil, err
		}
		if len(out) == 0 || out[len(out)-1].SSCC != t.SSCC {
			out = append(out, t)
		}
		last := &out[len(out)-1]
		switch {
		case serial.Valid:
			last.Packs = append(last.Packs, gtin.String+"/"+serial.String)
		case child.Valid:
			last.Children = append(last.Children, child.String)
		}
	}
	return out, rows.Err()
}
