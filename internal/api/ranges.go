package api

import (
	"context"
	"fmt"
	"strings"
)

// rangeMetrics writes what is left of the line's SSCC range and of its
// range of generated serials, with the low-water marks, so that a site's
// Prometheus can warn before a line runs out.
func (s *Server) rangeMetrics(ctx context.Context, p *promWriter) {
	l := s.cfg.Line
	if sup, ok, err := l.Containers.Supply(ctx); err == nil && ok {
		p.family("edgeagent_sscc_left", "gauge", "SSCC serial references not yet handed out in this line's ranges.")
		p.sample("edgeagent_sscc_left", float64(sup.Left))
		p.family("edgeagent_sscc_range_size", "gauge", "SSCC serial references in this line's ranges.")
		p.sample("edgeagent_sscc_range_size", float64(sup.Size))
		p.family("edgeagent_sscc_low_water", "gauge", "With fewer SSCCs left than this, the line warns (line.sscc.low_water).")
		p.sample("edgeagent_sscc_low_water", float64(sup.LowWater))
	}
	if sup, ok, err := l.Ledger.Supply(ctx); err == nil && ok {
		p.family("edgeagent_serials_left", "gauge", "Serials this line can still generate with its prefix, by product.")
		for _, g := range sortedKeys(sup.Left) {
			p.sample("edgeagent_serials_left", float64(sup.Left[g]), "gtin", g)
		}
		p.family("edgeagent_serials_low_water", "gauge", "With fewer serials left than this for a product, the line warns (line.serials.low_pool).")
		p.sample("edgeagent_serials_low_water", float64(sup.LowWater))
	}
}

// rangeAlerts are the overview's warnings about the line's ranges: few
// left, or none.
func (s *Server) rangeAlerts(ctx context.Context) ([]Alert, error) {
	var out []Alert
	l := s.cfg.Line
	sup, ok, err := l.Containers.Supply(ctx)
	if err != nil {
		return nil, err
	}
	switch {
	case !ok || !sup.Low:
	case sup.Left == 0:
		out = append(out, Alert{Level: "bad", Text: "No SSCC left in this line's range (line.sscc.ranges): stations refuse NEW containers until the line is given a new range; preprinted SSCC labels can still be scanned"})
	default:
		out = append(out, Alert{Level: "warn", Text: fmt.Sprintf("Only %s left in this line's range (line.sscc.ranges, low-water mark %d): give the line a new range before they run out",
			plural(int(sup.Left), "SSCC is", "SSCCs are"), sup.LowWater)})
	}
	ser, ok, err := l.Ledger.Supply(ctx)
	if err != nil {
		return nil, err
	}
	if !ok {
		return out, nil
	}
	var none, few []string
	for _, g := range ser.Low {
		if ser.Left[g] == 0 {
			none = append(none, g)
		} else {
			few = append(few, fmt.Sprintf("%s (%d)", g, ser.Left[g]))
		}
	}
	if len(none) > 0 {
		out = append(out, Alert{Level: "bad", Text: fmt.Sprintf("No serials left in this line's range (prefix %q) for %s: its label orders wait; lengthen line.serials.length",
			ser.Prefix, strings.Join(none, ", "))})
	}
	if len(few) > 0 {
		out = append(out, Alert{Level: "warn", Text: fmt.Sprintf("Few serials left in this line's range (prefix %q, low-water mark %d) for %s: lengthen line.serials.length before they run out",
			ser.Prefix, ser.LowWater, strings.Join(few, ", "))})
	}
	return out, nil
}
