package api

import (
	"context"

	"github.com/edgeagent/edgeagent/internal/containers"
	"github.com/edgeagent/edgeagent/internal/ledger"
	"github.com/edgeagent/edgeagent/internal/orders"
	"github.com/edgeagent/edgeagent/internal/shipments"
	"github.com/edgeagent/edgeagent/internal/stations"
)

// Line is the domain the server serves: the line's name and its parts.
type Line struct {
	Name       string
	Ledger     *ledger.Ledger
	Orders     *orders.Orders
	Containers *containers.Containers
	Stations   *stations.Registry
	Shipments  *shipments.Shipments
}

// Counts are the line's totals, for the overview and the metrics.
type Counts struct {
	Labels     map[string]int            // by state
	Serials    map[string]map[string]int // GTIN → state → count
	Containers map[string]map[string]int // level → state → count
	LabelOrder map[string]int            // by status
}

// counts reads the totals.
func (l *Line) counts(ctx context.Context) (Counts, error) {
	c := Counts{Labels: map[string]int{}, Serials: map[string]map[string]int{}, Containers: map[string]map[string]int{}, LabelOrder: map[string]int{}}
	labels, err := l.Ledger.LabelCounts(ctx)
	if err != nil {
		return c, err
	}
	for k, n := range labels {
		c.Labels[string(k)] = n
	}
	serials, err := l.Ledger.SerialCounts(ctx)
	if err != nil {
		return c, err
	}
	for g, m := range serials {
		c.Serials[g] = map[string]int{}
		for k, n := range m {
			c.Serials[g][string(k)] = n
		}
	}
	cs, err := l.Containers.Counts(ctx)
	if err != nil {
		return c, err
	}
	for lv, m := range cs {
		c.Containers[string(lv)] = map[string]int{}
		for k, n := range m {
			c.Containers[string(lv)][string(k)] = n
		}
	}
	os, err := l.Orders.StatusCounts(ctx)
	if err != nil {
		return c, err
	}
	for k, n := range os {
		c.LabelOrder[string(k)] = n
	}
	return c, nil
}
