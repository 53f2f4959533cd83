package api

import (
	"context"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/containers"
	"github.com/edgeagent/edgeagent/internal/ledger"
	"github.com/edgeagent/edgeagent/internal/orders"
	"github.com/edgeagent/edgeagent/internal/shipments"
	"github.com/edgeagent/edgeagent/internal/stations"
	"github.com/edgeagent/edgeagent/internal/store"
	"github.com/edgeagent/edgeagent/internal/users"
)

// testLine assembles the line's domain on db, as the agent does.
func testLine(t testing.TB, db *store.DB, serials ledger.SerialConfig, extra orders.Extra, printers ...string) *Line {
	led, err := ledger.New(db, ledger.Config{Serials: serials, Log: zerolog.Nop()})
	require.NoError(t, err)
	cs, err := containers.New(led, containers.SSCCConfig{CompanyPrefix: "9506000", Extension: 3})
	require.NoError(t, err)
	ships := shipments.New(led)
	return &Line{Name: "line-1", Ledger: led, Containers: cs, Shipments: ships,
		Orders:   orders.New(led, orders.Config{Line: "line-1", Printers: printers, Extra: extra}),
		Stations: stations.New(led, cs, ships, stations.Config{Printers: printers})}
}

// fakePrinter prints every label queued for it at once, until the test
// ends.
func fakePrinter(t testing.TB, l *Line, tag string) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		for {
			lb, err := l.Ledger.Next(ctx, tag)
			if err != nil {
				return
			}
			if l.Ledger.Printing(ctx, tag, lb.Ref) == nil {
				_ = l.Ledger.Printed(ctx, tag, lb.Ref)
			}
		}
	}()
}

// serviceToken is the line PC's own credential in the tests.
const serviceToken = "service-token-0123456789"

// passwords of the test's people.
const (
	operatorPW   = "operator password 1"
	supervisorPW = "supervisor password 1"
	adminPW      = "admin password 1"
)

// testPeople registers an operator (oli), a supervisor (ana) and an admin
// (adam).
func testPeople(t testing.TB, db *store.DB) *People {
	cfg := users.Config{}
	p := &People{Users: users.New(db, cfg, zerolog.Nop()), Sessions: users.NewSessions(db, cfg), Devices: users.NewDevices(db, cfg)}
	ctx := context.Background()
	require.NoError(t, p.Users.Add(ctx, "test", "adam", users.Admin, adminPW))
	require.NoError(t, p.Users.Add(ctx, "test", "ana", users.Supervisor, supervisorPW))
	require.NoError(t, p.Users.Add(ctx, "test", "oli", users.Operator, operatorPW))
	return p
}
