package epcis

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/edgeagent/edgeagent/internal/gs1"
)

// Line is where the line's events happen, from the configuration.
type Line struct {
	// ReadPoint is the SGLN of the line (or station) where events are
	// captured, e.g. IDs.SGLN(siteGLN, "LINE1").
	ReadPoint string
	// BizLocation is the SGLN where the objects are afterwards: the site.
	// Events that leave the objects in transit carry none.
	BizLocation string
}

// Commission is the ObjectEvent ADD/commissioning of packs: they exist from
// now on, active, with their batch and expiry as ILMD (ilmd may be nil).
func (l Line) Commission(at time.Time, epcs []string, ilmd *ILMD) (*ObjectEvent, error) {
	if err := checkEPCs("commissioning", epcs); err != nil {
		return nil, err
	}
	if ilmd != nil {
		if ilmd.LotNumber != "" {
			if err := gs1.ValidateElement("10", ilmd.LotNumber); err != nil {
				return nil, fmt.Errorf("epcis: lot %q: %w", ilmd.LotNumber, err)
			}
		}
		if d := ilmd.ItemExpirationDate; d != "" {
			if _, err := time.Parse(time.DateOnly, d); err != nil {
				return nil, fmt.Errorf("epcis: expiry %q is not a date YYYY-MM-DD", d)
			}
		}
	}
	e := &ObjectEvent{EPCList: epcs, ILMD: ilmd}
	e.Action, e.BizStep, e.Disposition = ActionAdd, BizStepCommissioning, DispActive
	return e, l.finish(&e.Base, e, at)
}

// Pack is the AggregationEvent ADD/packing of children (packs, or cases on
// a pallet) into the parent container (its SSCC's EPC).
func (l Line) Pack(at time.Time, parent string, children []string) (*AggregationEvent, error) {
	if parent == "" {
		return nil, errors.New("epcis: packing needs the parent container")
	}
	if err := checkEPCs("packing", children); err != nil {
		return nil, err
	}
	e := &AggregationEvent{ParentID: parent, ChildEPCs: children}
	e.Action, e.BizStep, e.Disposition = ActionAdd, BizStepPacking, DispInProgress
	return e, l.finish(&e.Base, e, at)
}

// Unpack is the AggregationEvent DELETE/unpacking of children from the
// parent container; no children means all of them.
func (l Line) Unpack(at time.Time, parent string, children []string) (*AggregationEvent, error) {
	if parent == "" {
		return nil, errors.New("epcis: unpacking needs the parent container")
	}
	if len(children) > 0 {
		if err := checkEPCs("unpacking", children); err != nil {
			return nil, err
		}
	}
	e := &AggregationEvent{ParentID: parent, ChildEPCs: children}
	e.Action, e.BizStep = ActionDelete, BizStepUnpacking
	return e, l.finish(&e.Base, e, at)
}

// Decommission is the ObjectEvent of packs decommissioned for one of the
// line's reasons, with the business step and disposition of
// DecommissionReasons.
func (l Line) Decommission(at time.Time, reason string, epcs []string) (*ObjectEvent, error) {
	d, err := DecommissionFor(reason)
	if err != nil {
		return nil, err
	}
	if err := checkEPCs("decommissioning", epcs); err != nil {
		return nil, err
	}
	e := &ObjectEvent{EPCList: epcs}
	e.Action, e.BizStep, e.Disposition = d.Action, d.BizStep, d.Disposition
	return e, l.finish(&e.Base, e, at)
}

// Shipment is what a shipping event names besides the shipped EPCs.
type Shipment struct {
	BizTransactions []BizTransaction // e.g. the despatch advice or order
	Sources         []Source
	Destinations    []Destination
}

// Ship is the ObjectEvent OBSERVE/shipping of containers (and packs)
// leaving the site, in transit: it has no bizLocation.
func (l Line) Ship(at time.Time, epcs []string, s Shipment) (*ObjectEvent, error) {
	if err := checkEPCs("shipping", epcs); err != nil {
		return nil, err
	}
	for _, t := range s.BizTransactions {
		if t.BizTransaction == "" {
			return nil, errors.New("epcis: a business transaction without identifier")
		}
	}
	for _, x := range s.Sources {
		if x.Type == "" || x.Source == "" {
			return nil, errors.New("epcis: a source needs its type and identifier")
		}
	}
	for _, x := range s.Destinations {
		if x.Type == "" || x.Destination == "" {
			return nil, errors.New("epcis: a destination needs its type and identifier")
		}
	}
	e := &ObjectEvent{EPCList: epcs}
	e.Action, e.BizStep, e.Disposition = ActionObserve, BizStepShipping, DispInTransit
	e.BizTransactionList, e.SourceList, e.DestinationList = s.BizTransactions, s.Sources, s.Destinations
	return e, l.finish(&e.Base, e, at)
}

// finish sets time, places and eventID. The time is kept to the
// millisecond, with its own offset as eventTimeZoneOffset.
func (l Line) finish(b *Base, ev Event, at time.Time) error {
	if at.IsZero() {
		return errors.New("epcis: an event needs its time")
	}
	at = at.Truncate(time.Millisecond)
	b.EventTime = Time{at}
	b.EventTimeZoneOffset = at.Format("-07:00")
	if l.ReadPoint != "" {
		b.ReadPoint = &Location{ID: l.ReadPoint}
	}
	if l.BizLocation != "" && b.Disposition != DispInTransit {
		b.BizLocation = &Location{ID: l.BizLocation}
	}
	return SetEventID(ev, DefaultNamespaces)
}

func checkEPCs(what string, epcs []string) error {
	if len(epcs) == 0 {
		return fmt.Errorf("epcis: %s needs at least one EPC", what)
	}
	seen := make(map[string]bool, len(epcs))
	for _, e := range epcs {
		if !strings.Contains(e, ":") {
			return fmt.Errorf("epcis: %s: %q is not an EPC URI", what, e)
		}
		if seen[e] {
			return fmt.Errorf("epcis: %s: %s is listed twice", what, e)
		}
		seen[e] = true
	}
	return nil
}

// ExpiryDate turns a GS1 expiry date (AI 17, YYMMDD) into the xsd:date of
// cbvmda:itemExpirationDate. Day 00 is the last day of the month; the
// century is the one GS1's rule gives (General Specifications 7.12: within
// 49 years before and 50 after the year of at).
func ExpiryDate(yymmdd string, at time.Time) (string, error) {
	if len(yymmdd) != 6 || !allDigits(yymmdd) {
		return "", fmt.Errorf("epcis: expiry %q is not YYMMDD", yymmdd)
	}
	yy, _ := strconv.Atoi(yymmdd[:2])
	mm, _ := strconv.Atoi(yymmdd[2:4])
	dd, _ := strconv.Atoi(yymmdd[4:])
	if mm < 1 || mm > 12 {
		return "", fmt.Errorf("epcis: expiry %s has month %02d", yymmdd, mm)
	}
	now := at.Year()
	year := now/100*100 + yy
	switch diff := yy - now%100; {
	case diff >= 51:
		year -= 100
	case diff <= -50:
		year += 100
	}
	last := time.Date(year, time.Month(mm)+1, 0, 0, 0, 0, 0, time.UTC).Day()
	if dd == 0 {
		dd = last
	}
	if dd > last {
		return "", fmt.Errorf("epcis: expiry %s: %d-%02d has no day %d", yymmdd, year, mm, dd)
	}
	return fmt.Sprintf("%04d-%02d-%02d", year, mm, dd), nil
}
