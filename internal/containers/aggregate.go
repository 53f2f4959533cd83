package containers

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/edgeagent/edgeagent/internal/audit"
	"github.com/edgeagent/edgeagent/internal/ledger"
	v2 "github.com/edgeagent/edgeagent/internal/v2"
)

// InContainerError is an item that is in a container already.
type InContainerError struct{ Item, Container string }

func (e *InContainerError) Error() string {
	return fmt.Sprintf("%s is already in container %s: take it out first", e.Item, e.Container)
}

// NotInError is an item a disaggregation names that is not in the parent.
type NotInError struct{ Item, Parent string }

func (e *NotInError) Error() string {
	return fmt.Sprintf("%s is not in container %s", e.Item, e.Parent)
}

// LabelMismatchError is a pack whose batch or expiry, as given, is not
// what its serial was printed with.
type LabelMismatchError struct {
	Serial, Field, Given, Printed string
}

func (e *LabelMismatchError) Error() string {
	return fmt.Sprintf("serial %s was printed with %s %s, not %s", e.Serial, e.Field, e.Printed, e.Given)
}

// Aggregate puts packs or closed cases into a parent container and closes
// it, as a station would, for the V2 API (POST aggregate/container): the
// same rules — every pack known, printed, not decommissioned, in no other
// container, with the batch and expiry it was printed with; every case
// closed and on no other pallet — and the same aggregation queued for the
// cloud. The parent may be new (an external SSCC), or one emptied by
// rework; one refusal refuses the whole request.
func (c *Containers) Aggregate(ctx context.Context, actor string, a v2.Aggregation) error {
	if err := a.Validate(); err != nil {
		return err
	}
	err := c.db.Write(ctx, func(tx *sql.Tx) error {
		now := time.Now().UnixMilli()
		c.changes.Add(1)
		if err := openParent(tx, a, now); err != nil {
			return err
		}
		if err := addPacks(tx, a); err != nil {
			return err
		}
		if err := addCases(tx, a); err != nil {
			return err
		}
		k, err := Load(tx, a.Parent)
		if err != nil {
			return err
		}
		if _, err := c.Close(tx, k, now); err != nil {
			return err
		}
		return audit.Write(tx, actor, "container.aggregate", a.Parent, "", string(Closed),
			fmt.Sprintf("%d packs, %d cases", len(a.ChildTradeItems), len(a.ChildContainers)))
	})
	if err == nil {
		c.ledger.Notify()
	}
	return err
}

// openParent opens the aggregation's parent: new, or emptied by rework.
func openParent(tx *sql.Tx, a v2.Aggregation, now int64) error {
	level := Case
	if len(a.ChildContainers) > 0 {
		level = Pallet
	}
	k, err := Load(tx, a.Parent)
	switch {
	case err != nil:
		return err
	case k == nil:
		return Create(tx, a.Parent, level, "api", "", Scanned, now)
	case k.Level != level:
		return &StateError{SSCC: a.Parent, State: k.State, Act: fmt.Sprintf("aggregated: it is a %s and holds %ss only", k.Level.Word(), map[Level]string{Case: "pack", Pallet: "case"}[k.Level])}
	case k.State == Disaggregated:
		return Reopen(tx, a.Parent, "api", k.Order, now)
	case k.State == Open:
		return &StateError{SSCC: a.Parent, State: k.State, Act: "aggregated: it is open at station " + k.Station}
	}
	return &StateError{SSCC: a.Parent, State: k.State, Act: "aggregated: it is already " + string(k.State)}
}

// addPacks puts the aggregation's packs into its parent, each checked as
// a case station checks it.
func addPacks(tx *sql.Tx, a v2.Aggregation) error {
	for _, it := range a.ChildTradeItems {
		s, err := ledger.SerialOf(tx, it.ProductCode, it.SerialNumber)
		if err != nil {
			return err
		}
		if !s.State.Usable() {
			return &ledger.SerialStateError{GTIN: s.GTIN, Serial: s.Serial, State: s.State, Act: "aggregated"}
		}
		if it.Batch != "" && it.Batch != s.Batch {
			return &LabelMismatchError{Serial: s.Serial, Field: "batch", Given: it.Batch, Printed: s.Batch}
		}
		if it.ExpiryDate != "" && it.ExpiryDate != s.Expiry {
			return &LabelMismatchError{Serial: s.Serial, Field: "expiry", Given: it.ExpiryDate, Printed: s.Expiry}
		}
		if in, err := HolderOfPack(tx, it.ProductCode, it.SerialNumber); err != nil {
			return err
		} else if in != "" {
			return &InContainerError{Item: "serial " + it.SerialNumber, Container: in}
		}
		if err := AddPack(tx, a.Parent, it.ProductCode, it.SerialNumber, s.Batch, s.Expiry); err != nil {
			return err
		}
	}
	return nil
}

// addCases puts the aggregation's closed cases onto its parent pallet.
func addCases(tx *sql.Tx, a v2.Aggregation) error {
	for _, sscc := range a.ChildContainers {
		ch, err := Load(tx, sscc)
		switch {
		case err != nil:
			return err
		case ch == nil:
			return fmt.Errorf("case %s: %w", sscc, ErrNotFound)
		case ch.Level != Case:
			return &StateError{SSCC: sscc, State: ch.State, Act: "put on a pallet: it is a pallet"}
		case ch.State != Closed:
			return &StateError{SSCC: sscc, State: ch.State, Act: "put on a pallet: only closed cases are"}
		}
		if in, err := HolderOfCase(tx, sscc); err != nil {
			return err
		} else if in != "" {
			return &InContainerError{Item: "case " + sscc, Container: in}
		}
		if err := AddCase(tx, a.Parent, sscc); err != nil {
			return err
		}
	}
	return nil
}

// DisaggregateItems takes the named packs or cases out of a closed parent, for
// the V2 API (DELETE aggregate/container); the cloud is told. Every child
// must be in the parent; one refusal refuses the whole request.
func (c *Containers) DisaggregateItems(ctx context.Context, actor string, a v2.Aggregation) error {
	if err := a.Validate(); err != nil {
		return err
	}
	err := c.db.Write(ctx, func(tx *sql.Tx) error {
		k, err := Load(tx, a.Parent)
		switch {
		case err != nil:
			return err
		case k == nil:
			return fmt.Errorf("container %s: %w", a.Parent, ErrNotFound)
		case k.State != Closed:
			return &StateError{SSCC: a.Parent, State: k.State, Act: "disaggregated: only closed containers are"}
		}
		var items []Item
		for _, it := range a.ChildTradeItems {
			items = append(items, Item{GTIN: it.ProductCode, Serial: it.SerialNumber})
		}
		for _, s := range a.ChildContainers {
			items = append(items, Item{Case: s})
		}
		for _, it := range items {
			in, err := c.Take(tx, actor, it, "disaggregated over the API")
			if err != nil {
				return err
			}
			if in != a.Parent {
				return &NotInError{Item: it.String(), Parent: a.Parent}
			}
		}
		return nil
	})
	if err == nil {
		c.ledger.Notify()
	}
	return err
}
