package stations

import (
	"errors"
	"fmt"
	"strings"

	"github.com/edgeagent/edgeagent/internal/containers"
	"github.com/edgeagent/edgeagent/internal/gs1"
	"github.com/edgeagent/edgeagent/internal/ledger"
	"github.com/edgeagent/edgeagent/internal/orders"
)

func (w *work) actor() string {
	if w.who != "" {
		return w.who
	}
	return "station:" + w.s.cfg.Name
}

func (w *work) level() containers.Level { return containers.Level(w.row.mode) }

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
		return w.remove(containers.Item{GTIN: gtin, Serial: serial})
	}
	if w.row.mode == ModePallet {
		return refuse("wrong_level", "A pack was scanned where cases go: scan case labels onto the pallet")
	}
	if w.open == nil {
		return refuse("no_container", "No case is open: scan a case label or NEW first")
	}
	c := w.open
	o, err := w.order(c.Order)
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
	s, err := ledger.SerialOf(w.tx, gtin, serial)
	var nf *ledger.SerialNotFoundError
	switch {
	case errors.As(err, &nf):
		return refuse("unknown_serial", "Serial %s of %s is not known on this line: put the pack aside", serial, gtin)
	case err != nil:
		return err
	case s.State == ledger.SerialDecommissioned:
		return refuse("is_decommissioned", "Pack %s was decommissioned (%s): put it aside", serial, strings.ReplaceAll(s.Reason, "_", " "))
	case s.State == ledger.SerialUnknown:
		return refuse("not_printed", "Pack %s: its label's printing was not confirmed; a supervisor must resolve it first", serial)
	case !s.State.Usable():
		return refuse("not_printed", "Pack %s was never printed on this line (%s): put it aside", serial, s.State)
	case s.Batch != batch || (expiry != "" && s.Expiry != expiry):
		return refuse("wrong_label", "Pack %s: the label says batch %s expiry %s, but the serial was printed for batch %s expiry %s", serial, batch, expiry, s.Batch, s.Expiry)
	}
	in, err := containers.HolderOfPack(w.tx, gtin, serial)
	switch {
	case err != nil:
		return err
	case in == w.row.container:
		return refuse("duplicate", "Pack %s is already in this case: scanned twice", serial)
	case in != "":
		return w.inOther("Pack "+serial, in)
	}
	if err := w.roomFor(); err != nil {
		return err
	}
	if err := containers.AddPack(w.tx, c.SSCC, gtin, serial, s.Batch, s.Expiry); err != nil {
		return err
	}
	w.count++
	w.v.Code, w.v.Message = "added", "Pack "+serial+" added"
	return nil
}

// inOther refuses an item that is in another container, saying which.
func (w *work) inOther(what, in string) error {
	c, err := containers.Load(w.tx, in)
	if err != nil || c == nil {
		return refuse("in_container", "%s is already in %s: take it out there first", what, in)
	}
	return refuse("in_container", "%s is already in %s %s (%s, station %s): take it out there first", what, c.Level.Word(), in, c.State, c.Station)
}

// roomFor refuses when the open container is full.
func (w *work) roomFor() error {
	c := w.open
	limit, err := w.capacity(c.Level, c.Order)
	if err != nil || limit == 0 {
		return err
	}
	if n := w.count; n >= limit {
		return refuse("full", "%s %s is full (%d of %d): close it", c.Level.Title(), c.SSCC, n, limit)
	}
	return nil
}

// containerScan handles a scanned SSCC: open, close, or put a case on the
// open pallet.
func (w *work) containerScan(sscc string) error {
	if w.row.removeNext {
		return w.remove(containers.Item{Case: sscc})
	}
	if w.row.container != "" && sscc == w.row.container {
		return w.closeContainer()
	}
	c, err := containers.Load(w.tx, sscc)
	if err != nil {
		return err
	}
	if w.row.container != "" {
		if w.row.mode == ModeCase {
			return refuse("wrong_level", "A case label (%s) was scanned where packs go: finish case %s first", sscc, w.row.container)
		}
		return w.addCase(sscc, c)
	}
	level := w.level()
	if c == nil {
		o, err := w.activeOrder()
		if err != nil {
			return err
		}
		if err := containers.Create(w.tx, sscc, level, w.s.cfg.Name, o.ID, containers.Scanned, w.now); err != nil {
			return err
		}
		return w.opened(sscc, level)
	}
	switch {
	case c.Level != level:
		return refuse("wrong_level", "%s is a %s label; this station is building %ss: scan a %s label or NEW", sscc, c.Level.Word(), level.Word(), level.Word())
	case c.State == containers.Open:
		return refuse("open_elsewhere", "%s %s is open at station %s", c.Level.Title(), sscc, c.Station)
	case c.State == containers.Closed:
		return refuse("already_closed", "%s %s is already closed; to rework it, scan REMOVE and its items, or a supervisor disaggregates it", c.Level.Title(), sscc)
	case c.State == containers.Cancelled:
		return refuse("cancelled", "%s %s was cancelled: use a new label", c.Level.Title(), sscc)
	}
	// Disaggregated (emptied by rework): it is filled again and will be
	// aggregated again under its next generation.
	o, err := w.activeOrder()
	if err != nil {
		return err
	}
	if err := containers.Reopen(w.tx, sscc, w.s.cfg.Name, o.ID, w.now); err != nil {
		return err
	}
	return w.opened(sscc, level)
}

func (w *work) opened(sscc string, level containers.Level) error {
	if err := w.openContainer(sscc); err != nil {
		return err
	}
	w.row.container, w.row.removeNext, w.dirty = sscc, false, true
	w.v.Code = "opened"
	if level == containers.Pallet {
		w.v.Message = "Pallet " + sscc + " opened: scan cases"
	} else {
		w.v.Message = "Case " + sscc + " opened: scan packs"
	}
	return nil
}

// addCase puts a closed case on the open pallet.
func (w *work) addCase(sscc string, c *containers.Container) error {
	switch {
	case c == nil:
		return refuse("unknown_container", "Case %s is not known on this line: pack it at a case station first", sscc)
	case c.Level == containers.Pallet:
		return refuse("wrong_level", "%s is a pallet: pallets do not go on pallets", sscc)
	case c.State == containers.Open:
		return refuse("not_closed", "Case %s is still open at station %s: close it first", sscc, c.Station)
	case c.State != containers.Closed:
		return refuse("not_closed", "Case %s is %s: it cannot go on a pallet", sscc, c.State)
	}
	p := w.open
	in, err := containers.HolderOfCase(w.tx, sscc)
	switch {
	case err != nil:
		return err
	case in == p.SSCC:
		return refuse("duplicate", "Case %s is already on this pallet: scanned twice", sscc)
	case in != "":
		return w.inOther("Case "+sscc, in)
	case p.Order != "" && c.Order != p.Order:
		return refuse("wrong_order", "Case %s belongs to order %s, this pallet to order %s", sscc, c.Order, p.Order)
	}
	if err := w.roomFor(); err != nil {
		return err
	}
	if err := containers.AddCase(w.tx, p.SSCC, sscc); err != nil {
		return err
	}
	w.count++
	w.v.Code, w.v.Message = "added", "Case "+sscc+" added"
	return nil
}

// closeContainer closes the open container and queues its aggregation.
func (w *work) closeContainer() error {
	if w.row.container == "" {
		return refuse("no_container", "No %s is open: nothing to close", w.level().Word())
	}
	c := w.open
	n, err := w.s.reg.containers.Close(w.tx, c, w.now)
	if errors.Is(err, containers.ErrEmpty) {
		return refuse("empty", "%s %s is empty: scan items into it, or CANCEL", c.Level.Title(), c.SSCC)
	}
	if err != nil {
		return err
	}
	w.notify = true
	w.row.container, w.row.removeNext, w.dirty = "", false, true
	w.open, w.count = nil, 0
	w.v.Code, w.v.Message = "closed", fmt.Sprintf("%s %s closed with %d %s", c.Level.Title(), c.SSCC, n, map[bool]string{true: "packs", false: "cases"}[c.Level == containers.Case])
	w.v.Count = n
	return nil
}

// cancelContainer empties and cancels the open container: it never
// reached the cloud.
func (w *work) cancelContainer() error {
	if w.row.container == "" {
		return refuse("no_container", "No %s is open: nothing to cancel", w.level().Word())
	}
	sscc := w.row.container
	if err := containers.Cancel(w.tx, w.actor(), sscc, w.now); err != nil {
		return err
	}
	w.row.container, w.row.removeNext, w.dirty = "", false, true
	w.open, w.count = nil, 0
	w.v.Code, w.v.Message = "cancelled", w.level().Title()+" "+sscc+" cancelled: take its items out"
	return nil
}

// undo takes the last item out of the open container.
func (w *work) undo() error {
	if w.row.container == "" {
		return refuse("no_container", "Nothing to undo: no %s is open", w.level().Word())
	}
	what, err := containers.Undo(w.tx, w.actor(), w.row.container)
	if errors.Is(err, containers.ErrEmpty) {
		return refuse("empty", "Nothing to undo: %s %s is empty", w.level().Word(), w.row.container)
	}
	if err != nil {
		return err
	}
	w.count--
	w.v.Code, w.v.Message = "undone", "Took out "+what+": remove it from the "+w.level().Word()
	return nil
}

// remove takes one item out of whatever container holds it; a closed
// container's removal is reported to the cloud (disaggregation).
func (w *work) remove(it containers.Item) error {
	w.row.removeNext, w.dirty = false, true
	what := "Pack " + it.Serial
	if it.Case != "" {
		what = "Case " + it.Case
	}
	in, err := w.s.reg.containers.Take(w.tx, w.actor(), it, "remove at station")
	if err != nil {
		return err
	}
	if in == "" {
		return refuse("not_in_container", "%s is not in any container: nothing to take out", what)
	}
	if in == w.row.container {
		w.count--
	}
	w.notify = true
	w.v.Code, w.v.Message = "removed", what+" taken out of "+in
	return nil
}

// newContainer allocates the next SSCC, opens it and queues its label.
func (w *work) newContainer() error {
	if w.row.mode != ModeCase && w.row.mode != ModePallet {
		return refuse("wrong_mode", "NEW works when packing cases or pallets")
	}
	if w.row.container != "" {
		return refuse("container_open", "%s %s is still open: close or cancel it first", w.level().Title(), w.row.container)
	}
	if !w.s.reg.containers.CanAllocate() {
		return refuse("no_sscc", "This line has no SSCC company prefix configured: scan a preprinted label")
	}
	o, err := w.activeOrder()
	if err != nil {
		return err
	}
	cs := w.s.reg.containers
	sscc, left, err := cs.Allocate(w.tx)
	var ex *containers.ExhaustedError
	if errors.As(err, &ex) {
		return refuse("no_sscc_left", "No SSCC left in this line's range: tell the supervisor (serial references %s are used up; scan a preprinted label meanwhile)",
			ex.Used())
	}
	if err != nil {
		return err
	}
	if err := containers.Create(w.tx, sscc, w.level(), w.s.cfg.Name, o.ID, containers.Allocated, w.now); err != nil {
		return err
	}
	if err := w.opened(sscc, w.level()); err != nil {
		return err
	}
	if err := w.printLabel(sscc); err != nil {
		return err
	}
	switch {
	case !cs.Low(left):
	case left == 0:
		w.v.Message += "; that was the last SSCC of this line's range: tell the supervisor"
	case left == 1:
		w.v.Message += "; only 1 SSCC left in this line's range: tell the supervisor"
	default:
		w.v.Message += fmt.Sprintf("; only %d SSCCs left in this line's range: tell the supervisor", left)
	}
	return nil
}

// printLabel queues a container label in the ledger, in the scan's
// transaction: once the verdict is given, the label will print.
func (w *work) printLabel(sscc string) error {
	if w.s.cfg.Printer == "" {
		w.v.Message += "; this station has no printer: label it by hand"
		return nil
	}
	if err := w.s.reg.containers.QueueLabel(w.tx, w.actor(), sscc, w.s.cfg.Printer); err != nil {
		return err
	}
	w.wake = w.s.cfg.Printer
	w.v.Message += "; label printing"
	return nil
}

// reprint prints the label of the open container, or of the last one
// closed here.
func (w *work) reprint() error {
	sscc := w.row.container
	if sscc == "" {
		err := w.tx.QueryRow(`SELECT sscc FROM containers WHERE station = ? AND state = 'closed' ORDER BY closed_at DESC LIMIT 1`, w.s.cfg.Name).Scan(&sscc)
		if err != nil {
			if isNoRows(err) {
				return refuse("no_container", "No container to reprint: none is open or was closed here")
			}
			return err
		}
	}
	if w.s.cfg.Printer == "" {
		return refuse("no_printer", "This station has no printer")
	}
	w.v.Code, w.v.Message = "reprint", "Label of "+sscc+" again"
	return w.printLabel(sscc)
}

// decommission takes a scanned pack out of circulation.
func (w *work) decommission(m *gs1.Message) error {
	gtin, ok1 := m.Get("01")
	serial, ok2 := m.Get("21")
	if !ok1 || !ok2 {
		return refuse("not_pack", "Not a pack label: it has no GTIN (01) and serial (21)")
	}
	s, err := ledger.SerialOf(w.tx, gtin, serial)
	var nf *ledger.SerialNotFoundError
	switch {
	case errors.As(err, &nf):
		return refuse("unknown_serial", "Serial %s of %s is not known on this line", serial, gtin)
	case err != nil:
		return err
	case s.State == ledger.SerialDecommissioned:
		return refuse("is_decommissioned", "Pack %s was already decommissioned (%s)", serial, strings.ReplaceAll(s.Reason, "_", " "))
	case !s.State.Usable():
		return refuse("not_printed", "Pack %s was never confirmed printed (%s): a supervisor must resolve it", serial, s.State)
	}
	if in, err := containers.HolderOfPack(w.tx, gtin, serial); err != nil {
		return err
	} else if in != "" {
		return refuse("in_container", "Pack %s is in %s: take it out first (REMOVE at its station)", serial, in)
	}
	if _, err := w.s.reg.ledger.Decommission(w.tx, w.actor(), gtin, serial, w.row.reason, "", w.s.cfg.SendToMarket); err != nil {
		return err
	}
	w.notify = true
	w.v.Code, w.v.Message = "decommissioned", "Pack "+serial+" decommissioned: "+strings.ReplaceAll(w.row.reason, "_", " ")
	return nil
}

// activeOrder is the packaging order the station works for.
func (w *work) activeOrder() (*orders.Packaging, error) {
	id := w.row.order
	if id == "" {
		ids, err := orders.ActivePackaging(w.tx, 2)
		if err != nil {
			return nil, err
		}
		switch len(ids) {
		case 0:
			return nil, refuse("no_order", "No packaging order is open on this line: a supervisor must create or choose one")
		case 2:
			return nil, refuse("no_order", "Several packaging orders are open: a supervisor must choose this station's order")
		}
		id = ids[0]
	}
	o, err := w.order(id)
	if err != nil {
		return nil, err
	}
	if o == nil {
		return nil, refuse("no_order", "The station's packaging order %s is not known on this line", id)
	}
	return o, nil
}

// order is a packaging order ("" and unknown: nil), read once: an order
// never changes once stored.
func (w *work) order(id string) (*orders.Packaging, error) {
	if id == "" {
		return nil, nil
	}
	if o, ok := w.s.reg.order(id); ok {
		return &o, nil
	}
	for i := range w.orders {
		if w.orders[i].ID == id {
			return &w.orders[i], nil
		}
	}
	o, err := orders.PackagingOf(w.tx, id)
	if o != nil {
		// Kept once the scan commits: the order may have come in with it.
		w.orders = append(w.orders, *o)
	}
	return o, err
}
