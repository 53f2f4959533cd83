// Package demo runs the whole line on one machine: the agent, an emulated
// cloud (cloudsim), three emulated printers (printersim) and a simulated line
// whose operators scan printed packs into cases and cases onto pallets,
// take a sample out, and ship a few orders. It takes the cloud offline for
// a minute and faults a printer once, so the dashboard shows the agent
// riding through both. State is kept in a directory: a second run
// continues where the first stopped.
package demo

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/edgeagent/edgeagent/internal/agent"
	"github.com/edgeagent/edgeagent/internal/cloud/cloudsim"
	"github.com/edgeagent/edgeagent/internal/config"
	"github.com/edgeagent/edgeagent/internal/epcissim"
	"github.com/edgeagent/edgeagent/internal/gs1"
	"github.com/edgeagent/edgeagent/internal/orders"
	"github.com/edgeagent/edgeagent/internal/printer/printersim"
	"github.com/edgeagent/edgeagent/internal/stations"
	"github.com/edgeagent/edgeagent/internal/users"
	v2 "github.com/edgeagent/edgeagent/internal/v2"
	"github.com/edgeagent/edgeagent/internal/zpl"
)

// Config sets up a demo run.
type Config struct {
	Dir     string // state: database, token, emulator state
	Listen  string // the dashboard and API (default 127.0.0.1:8080)
	Version string
	Log     zerolog.Logger
	Out     io.Writer // where the URL and token are printed
	// Pace scales the simulated operators' and printers' speed (1 = a
	// person's pace; tests use more).
	Pace float64
	// Outage is how long the cloud goes offline in the first cycle
	// (default 1m; negative: never).
	Outage time.Duration
}

const (
	gtin    = "09506000134352"
	batch   = "AB12"
	expiry  = "261231"
	perCase = 12
	cases   = 4
)

// The V2 API's own example request (a label order for product
// 02026041310005, batch MCS36042, on printer zebra-cloud-device-1 with
// template data-matrix-example) works against the demo as it is written:
// the demo has that product, printer and template, here and in its cloud.
const (
	exampleGTIN     = "02026041310005"
	exampleBatch    = "MCS36042"
	exampleExpiry   = "271231"
	examplePrinter  = "zebra-cloud-device-1"
	exampleTemplate = "data-matrix-example"
)

//go:embed templates/*.zpl
var templateFiles embed.FS

// writeTemplates puts the demo's own templates in DIR/templates, for the
// agent and for the command line, and loads them over the built-in ones.
func writeTemplates(dir string) (string, *zpl.Set, error) {
	tdir := filepath.Join(dir, "templates")
	if err := os.MkdirAll(tdir, 0o700); err != nil {
		return "", nil, err
	}
	files, err := templateFiles.ReadDir("templates")
	if err != nil {
		return "", nil, err
	}
	for _, f := range files {
		b, err := templateFiles.ReadFile("templates/" + f.Name())
		if err != nil {
			return "", nil, err
		}
		if err := os.WriteFile(filepath.Join(tdir, f.Name()), b, 0o600); err != nil {
			return "", nil, err
		}
	}
	set, err := zpl.Load(os.DirFS(tdir))
	return tdir, set, err
}

// cloudSeed is the emulator's master data: its default, and the V2 API's
// example product, printer and template.
func cloudSeed() cloudsim.Seed {
	seed := cloudsim.DefaultSeed()
	seed.Products = append(seed.Products, cloudsim.Product{GTIN: exampleGTIN, Market: "EU", Batches: []string{exampleBatch}, SerialPool: 10000, Replenish: true})
	seed.Destinations = append(seed.Destinations, examplePrinter)
	seed.Templates = append(seed.Templates, exampleTemplate)
	return seed
}

// Run runs the demo until ctx ends.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:8080"
	}
	if cfg.Pace <= 0 {
		cfg.Pace = 1
	}
	if cfg.Outage == 0 {
		cfg.Outage = time.Minute
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return err
	}
	if err := os.Chmod(cfg.Dir, 0o700); err != nil { // it holds a token
		return err
	}
	token, err := readToken(filepath.Join(cfg.Dir, "token"))
	if err != nil {
		return err
	}
	password, err := readToken(filepath.Join(cfg.Dir, "password"))
	if err != nil {
		return err
	}
	erpToken, err := readToken(filepath.Join(cfg.Dir, "erp-token"))
	if err != nil {
		return err
	}
	cloudState := filepath.Join(cfg.Dir, "cloud.json")
	sim, err := cloudsim.Start(cloudsim.Config{Listen: "127.0.0.1:0", Seed: cloudSeed(), Log: zerolog.Nop(), MaxRecorded: 1000})
	if err != nil {
		return fmt.Errorf("cloud emulator: %w", err)
	}
	defer sim.Close()
	if err := sim.Load(cloudState); err != nil {
		return err
	}
	defer func() {
		if err := sim.Save(cloudState); err != nil {
			cfg.Log.Warn().Err(err).Msg("emulator state not saved")
		}
	}()
	// The EPCIS repository the journal is captured by, on its own port:
	// its events are read at /events, as from any EPCIS 2.0 repository.
	repoLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("EPCIS emulator: %w", err)
	}
	repo := &http.Server{Handler: epcissim.New(epcissim.Options{JobDelay: 50 * time.Millisecond}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = repo.Serve(repoLn) }()
	defer repo.Close()
	repoURL := "http://" + repoLn.Addr().String()
	packPrinter, err := printersim.Start(printersim.Config{Listen: "127.0.0.1:0", Speed: 4 * cfg.Pace,
		Faults: []printersim.Fault{{Kind: printersim.MediaOut, After: 30, For: time.Duration(float64(10*time.Second) / cfg.Pace)},
			{Kind: printersim.Drop, After: 75}}}, zerolog.Nop())
	if err != nil {
		return err
	}
	defer packPrinter.Close()
	casePrinter, err := printersim.Start(printersim.Config{Listen: "127.0.0.1:0", Speed: 2 * cfg.Pace}, zerolog.Nop())
	if err != nil {
		return err
	}
	defer casePrinter.Close()
	examplePrinterSim, err := printersim.Start(printersim.Config{Listen: "127.0.0.1:0", Speed: 4 * cfg.Pace}, zerolog.Nop())
	if err != nil {
		return err
	}
	defer examplePrinterSim.Close()
	templatesDir, templates, err := writeTemplates(cfg.Dir)
	if err != nil {
		return err
	}

	base := sim.URL()
	// The demo line is configured as any line is, and becomes an agent the
	// same way; only the timings of the emulated world are shorter.
	line := config.Default()
	line.Line = config.Line{Name: "demo-line",
		Printers: []config.Printer{{Tag: "line-1-printer", URL: packPrinter.URL()}, {Tag: "case-printer", URL: casePrinter.URL()},
			{Tag: examplePrinter, URL: examplePrinterSim.URL()}},
		Products: []config.Product{{GTIN: gtin, Market: "EU", CaseCapacity: perCase, PalletCapacity: cases,
			Batches: []config.Batch{{Batch: batch, Expiry: expiry}, {Batch: "B2024-11", Expiry: "270531"}}},
			{GTIN: exampleGTIN, Market: "EU", Batches: []config.Batch{{Batch: exampleBatch, Expiry: exampleExpiry}}}},
		TemplatesDir: templatesDir,
		Serials:      config.Serials{Generate: true, Length: 12, LowPool: 100},
		ExtraLabels:  config.ExtraLabels{Amount: 4, Type: "amount"},
		SSCC:         config.SSCC{CompanyPrefix: "9506000", Extension: 0},
		Stations: []config.Station{
			{Name: "case-1", Mode: stations.ModeCase, Printer: "case-printer", GS: "|"},
			{Name: "pallet-1", Mode: stations.ModePallet, Printer: "case-printer", GS: "|"},
			{Name: "samples", Mode: stations.ModeDecommission, Reason: "sample", GS: "|"},
			{Name: "ship-1", Mode: stations.ModeShip, Printer: "case-printer", IntegrationID: 70, GS: "|"},
		}}
	line.DataDir = cfg.Dir
	line.Store.Path = filepath.Join(cfg.Dir, "edgeagent.db")
	line.HTTP = config.HTTP{Listen: cfg.Listen, Token: config.Secret(token)}
	line.V2 = config.V2{Tokens: []config.NamedToken{{Name: "erp", Token: config.Secret(erpToken)}}, ChannelKeys: []config.Secret{"demo-line-channel"}}
	line.Cloud = config.Cloud{BaseURL: base, ChannelKey: "demo-channel", Token: "demo-static-token", Timeout: 5 * time.Second,
		Shipping: config.Shipping{BaseURL: sim.ShippingURL(), PublicKey: "ship-public", SecretKey: "ship-secret"}}
	line.EPCIS = config.EPCIS{Site: "9506000000008", ReadPoint: "LINE1", Identifiers: "digital_link", CaptureURL: repoURL, Timeout: 5 * time.Second}
	ac := agent.FromConfig(line, templates, cfg.Version)
	ac.Shipping.NotFoundWait = 500 * time.Millisecond
	ac.Queue.BaseBackoff, ac.Queue.MaxBackoff, ac.Queue.Poll = time.Second, 10*time.Second, 500*time.Millisecond
	ac.PullEvery, ac.ShipPoll, ac.StopTimeout = time.Minute, time.Second, 5*time.Second
	a, err := agent.Start(ctx, ac, cfg.Log)
	if err != nil {
		return err
	}
	defer a.Stop(context.Background())
	if err := a.People.Users.Add(ctx, "demo", "demo", users.Admin, password); err != nil && !errors.Is(err, users.ErrExists) {
		return err
	}
	if err := writeConfig(filepath.Join(cfg.Dir, "edgeagent.yaml"), cfg.Dir, templatesDir, a.API.Addr(), token); err != nil {
		return err
	}
	fmt.Fprintf(cfg.Out, "\n  edgeagent demo: dashboard http://%s  (log in as demo with the password %s, also in %s)\n"+
		"  station screens: http://%s/station/case-1  …/pallet-1  …/samples  …/ship-1\n"+
		"  local V2 API: x-access-token %s (in %s), x-channel-key demo-line-channel\n"+
		"  EPCIS 2.0 events: the line's own journal at http://%s/epcis/events, the emulated repository at %s/events\n"+
		"  the command line against the demo: edgeagent queue status --config %s\n  Ctrl-C stops; running it again continues.\n\n",
		a.API.Addr(), password, filepath.Join(cfg.Dir, "password"), a.API.Addr(), erpToken, filepath.Join(cfg.Dir, "erp-token"),
		a.API.Addr(), repoURL, filepath.Join(cfg.Dir, "edgeagent.yaml"))

	l := &sim2{a: a, cfg: cfg, cloud: sim}
	err = l.run(ctx)
	l.wg.Wait()
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}

// writeConfig writes a configuration of the running demo for the command
// line (queue, labels, containers, users, backup, audit): they reach the
// demo's agent through its API, or its database when it is stopped.
func writeConfig(path, dir, templates, listen, token string) error {
	text := fmt.Sprintf(`# The running demo, for the command line: edgeagent queue status --config %s
line:
  name: demo-line
  templates_dir: %s
data_dir: %s
http:
  listen: %q
  token: %q
`, path, templates, dir, listen, token)
	return os.WriteFile(path, []byte(text), 0o600)
}

// readToken reads one of the demo's secrets, making it the first time.
func readToken(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil && len(strings.TrimSpace(string(b))) >= 16 {
		return strings.TrimSpace(string(b)), nil
	}
	raw := make([]byte, 18)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	tok := base64.RawURLEncoding.EncodeToString(raw)
	return tok, os.WriteFile(path, []byte(tok+"\n"), 0o600)
}

// sim2 is the simulated line: its operators scan as people would.
type sim2 struct {
	a     *agent.Agent
	cfg   Config
	cloud *cloudsim.Sim
	outed bool
	wg    sync.WaitGroup // the outage
}

func (s *sim2) pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(time.Duration(float64(d) / s.cfg.Pace))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (s *sim2) scan(ctx context.Context, station string, sc stations.Scan) (stations.Verdict, error) {
	st, _ := s.a.Line.Stations.Get(station)
	sc.Source = "demo"
	sc.Actor = "user:line-sim" // the simulated operator
	v, err := st.Handle(ctx, sc)
	if err == nil {
		err = s.pause(ctx, 400*time.Millisecond)
	}
	return v, err
}

func plain(text string) stations.Scan { return stations.Scan{Raw: []byte(text), Plain: text} }

func gs1Scan(bracketed string) stations.Scan {
	m, err := gs1.Parse([]byte(bracketed))
	if err != nil {
		return stations.Scan{Raw: []byte(bracketed), Err: err}
	}
	return stations.Scan{Raw: []byte("]d2" + m.ElementString()), GS1: m}
}

func pack(serial, b string) stations.Scan {
	return gs1Scan(fmt.Sprintf("(01)%s(17)%s(10)%s(21)%s", gtin, expiry, b, serial))
}

func (s *sim2) run(ctx context.Context) error {
	orders, err := s.a.Line.Orders.LabelOrders(ctx, 1000)
	if err != nil {
		return err
	}
	cycle := 1 // after the demo's own orders: the ERP's do not count
	for _, o := range orders {
		if strings.HasPrefix(o.OrderID, "LO-DEMO-") {
			cycle++
		}
	}
	for ; ; cycle++ {
		if err := s.cycle(ctx, cycle); err != nil {
			return err
		}
		if err := s.pause(ctx, 5*time.Second); err != nil {
			return err
		}
	}
}

// cycle is one packaging order from label order to pallet.
func (s *sim2) cycle(ctx context.Context, n int) error {
	l := s.a.Line
	po := fmt.Sprintf("PO-DEMO-%03d", n)
	lo := fmt.Sprintf("LO-DEMO-%03d", n)
	s.cfg.Log.Info().Str("packaging_order", po).Msg("demo: next order")
	if _, err := l.Orders.PackagingOrderDetails(ctx, po); err != nil {
		q := perCase * cases
		if _, err := l.Orders.CreatePackagingOrder(ctx, "demo-erp", v2.PackagingOrder{OrderID: po, ProductCode: gtin, ProductCodeSchema: "GTIN",
			Batch: batch, ExpiryDate: expiry, Quantity: &q, Market: "EU"}); err != nil {
			return err
		}
	}
	for _, name := range []string{"case-1", "pallet-1"} {
		st, _ := l.Stations.Get(name)
		if state, err := st.State(ctx, 0); err == nil && state.Container != "" {
			_, _ = st.Handle(ctx, stations.Scan{Source: "demo", Raw: []byte(stations.CmdCancel), Plain: stations.CmdCancel, Actor: "user:line-sim"})
		}
		if err := st.SetOrder(ctx, "demo-supervisor", po); err != nil {
			return err
		}
	}
	q := perCase * cases
	err := l.Orders.CreateLabelOrder(ctx, "demo-erp", v2.LabelOrder{OrderID: lo, ProductCode: gtin, ProductCodeSchema: "GTIN", Batch: batch,
		Quantity: &q, DestinationTag: "line-1-printer", TemplateTag: "pack", Execute: true})
	if err != nil && !errors.Is(err, orders.ErrLabelOrderExists) {
		return err
	}
	if !s.outed && s.cfg.Outage > 0 {
		s.outed = true
		s.cloud.SetDown(true)
		s.cfg.Log.Warn().Str("for", s.cfg.Outage.String()).Msg("demo: the cloud goes offline")
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			t := time.NewTimer(s.cfg.Outage)
			defer t.Stop()
			select {
			case <-ctx.Done():
			case <-t.C:
				s.cfg.Log.Warn().Msg("demo: the cloud is back")
			}
			s.cloud.SetDown(false)
		}()
	}
	// The operators pack what has come out of the printer, case by case;
	// after a restart they go on with the cases already closed.
	var packed, closedCases []string
	all, err := l.Containers.List(ctx, "")
	if err != nil {
		return err
	}
	for _, c := range all {
		for _, p := range c.Packs {
			packed = append(packed, strings.TrimPrefix(p, gtin+"/"))
		}
		if c.Order == po && c.Level == stations.ModeCase && c.State == "closed" && c.Parent == "" {
			closedCases = append(closedCases, c.SSCC)
		}
	}
	palletDone := false
	for _, c := range all {
		palletDone = palletDone || (c.Order == po && c.Level == stations.ModePallet && c.State == "closed")
	}
	if palletDone {
		return nil
	}
	for len(closedCases) < cases {
		serials, err := l.Ledger.PrintedSerials(ctx, lo)
		if err != nil {
			return err
		}
		free := freeSerials(serials, packed)
		if len(free) < perCase {
			status, _, _ := l.Orders.Status(ctx, lo)
			if (status == orders.Completed || status == orders.Closed) && len(free) < perCase {
				break // labels lost to the fault: the rest was resolved by a person (or the order closed)
			}
			if err := s.pause(ctx, 2*time.Second); err != nil {
				return err
			}
			continue
		}
		v, err := s.scan(ctx, "case-1", plain(stations.CmdNew))
		if err != nil {
			return err
		}
		sscc := v.Container
		for i, sn := range free[:perCase] {
			if _, err := s.scan(ctx, "case-1", pack(sn, batch)); err != nil {
				return err
			}
			if i == 3 && len(closedCases) == 1 {
				// A pack scanned twice, and one of another batch: red.
				if _, err := s.scan(ctx, "case-1", pack(sn, batch)); err != nil {
					return err
				}
				if _, err := s.scan(ctx, "case-1", pack(sn, "B2024-11")); err != nil {
					return err
				}
			}
		}
		packed = append(packed, free[:perCase]...)
		if _, err := s.scan(ctx, "case-1", gs1Scan("(00)"+sscc)); err != nil {
			return err
		}
		closedCases = append(closedCases, sscc)
	}
	if len(closedCases) > 0 {
		if _, err := s.scan(ctx, "pallet-1", plain(stations.CmdNew)); err != nil {
			return err
		}
		for _, c := range closedCases {
			if _, err := s.scan(ctx, "pallet-1", gs1Scan("(00)"+c)); err != nil {
				return err
			}
		}
		if _, err := s.scan(ctx, "pallet-1", plain(stations.CmdClose)); err != nil {
			return err
		}
	}
	// Quality takes one of the extra labels' packs as a sample.
	serials, _ := l.Ledger.PrintedSerials(ctx, lo)
	if free := freeSerials(serials, packed); len(free) > 0 {
		if _, err := s.scan(ctx, "samples", pack(free[0], batch)); err != nil {
			return err
		}
	}
	if n == 1 {
		for _, o := range []string{"ORD-2024-00174", "ORD-2024-00166", "ORD-2024-00190", stations.CmdClose} {
			if _, err := s.scan(ctx, "ship-1", plain(o)); err != nil {
				return err
			}
		}
	}
	return nil
}

func freeSerials(all, used []string) []string {
	u := map[string]bool{}
	for _, s := range used {
		u[s] = true
	}
	var out []string
	for _, s := range all {
		if !u[s] {
			out = append(out, s)
		}
	}
	return out
}
