package api

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/edgeagent/edgeagent/internal/audit"
	"github.com/edgeagent/edgeagent/internal/orders"
	"github.com/edgeagent/edgeagent/internal/queue"
	"github.com/edgeagent/edgeagent/internal/stations"
	v2 "github.com/edgeagent/edgeagent/internal/v2"
)

//go:embed web/*.html web/static/*
var webFS embed.FS

// pages are the dashboard's pages: each is the layout plus its content.
var pages = func() map[string]*template.Template {
	funcs := template.FuncMap{"ago": ago, "plural": plural}
	base := template.Must(template.New("layout").Funcs(funcs).ParseFS(webFS, "web/layout.html"))
	out := map[string]*template.Template{}
	for _, name := range []string{"login", "overview", "orders", "printers", "stations", "queue", "templates", "audit", "station", "users", "reconciliation"} {
		out[name] = template.Must(template.Must(base.Clone()).ParseFS(webFS, "web/"+name+".html"))
	}
	return out
}()

// ago says how long ago t was, briefly.
func ago(t time.Time) string {
	d := time.Since(t)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

type navItem struct{ Page, Name, Href string }

var nav = []navItem{{"overview", "Overview", "/"}, {"orders", "Orders", "/orders"}, {"printers", "Printers", "/printers"},
	{"stations", "Stations", "/stations"}, {"queue", "Queue", "/queue"}, {"templates", "Templates", "/templates"}, {"audit", "Audit", "/audit"},
	{"users", "People", "/users"}}

// view is what the layout renders.
type view struct {
	Page, Title, Line, Path, User, CSRF string
	Role                                string // the person's role
	Screen                              string // a paired station screen: its station
	Nav                                 []navItem
	Data                                any
}

// page renders a whole page.
func (s *Server) page(w http.ResponseWriter, r *http.Request, name, title string, data any) {
	v := view{Page: name, Title: title, Line: s.lineName(), Path: r.URL.Path, Nav: nav, Data: data}
	if id, err := s.identify(r); err == nil && id.kind == kindUser {
		v.User, v.CSRF, v.Role = id.name, id.csrf, string(id.role)
	}
	if c, err := r.Cookie(deviceCookie); err == nil && s.cfg.People != nil {
		if d, err := s.cfg.People.Devices.Lookup(r.Context(), c.Value); err == nil {
			v.Screen = d.Station // this browser is a paired station screen
		}
	}
	var buf bytes.Buffer
	if err := pages[name].ExecuteTemplate(&buf, "layout", v); err != nil {
		s.log.Error().Err(err).Str("page", name).Msg("page not rendered")
		http.Error(w, "page not rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(buf.Bytes())
}

func (s *Server) lineName() string {
	if s.cfg.Line != nil {
		return s.cfg.Line.Name
	}
	return ""
}

// livePages are the pages whose main part is refreshed live, with the data
// each needs.
var livePages = map[string]func(s *Server, ctx context.Context) (any, error){
	"overview": (*Server).overview,
	"orders":   (*Server).orders,
	"printers": (*Server).printersPage,
	"stations": (*Server).stationsPage,
	"queue":    (*Server).queuePage,
	"audit":    (*Server).auditPage,
	"users":    (*Server).usersPage,
}

var titles = map[string]string{"overview": "Overview", "orders": "Orders", "printers": "Printers", "stations": "Stations",
	"queue": "Queue", "audit": "Audit log", "users": "People"}

func (s *Server) dashboardRoutes(mux mux) {
	static, _ := fs.Sub(webFS, "web/static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /login", s.login)
	mux.HandleFunc("POST /login", s.login)
	mux.HandleFunc("POST /logout", s.logout)
	for name, data := range livePages {
		path := "/" + name
		if name == "overview" {
			path = "/{$}"
		}
		mux.HandleFunc("GET "+path, func(w http.ResponseWriter, r *http.Request) {
			d, err := data(s, context.WithValue(r.Context(), queryKey{}, r.URL.Query()))
			if err != nil {
				s.log.Error().Err(err).Str("page", name).Msg("dashboard data")
				http.Error(w, "cannot read the line's state: "+err.Error(), http.StatusInternalServerError)
				return
			}
			s.page(w, r, name, titles[name], d)
		})
	}
	mux.HandleFunc("GET /ui/live", s.live)
	mux.HandleFunc("GET /templates", func(w http.ResponseWriter, r *http.Request) {
		s.page(w, r, "templates", "Templates", map[string]any{"Templates": s.templates()})
	})
	mux.HandleFunc("GET /templates/{file}", s.templatePNG)
	mux.HandleFunc("GET /labels/{file}", s.labelPNG)
	mux.HandleFunc("GET /orders/{id}/label.png", s.orderLabelPNG)
	mux.HandleFunc("GET /station/{name}", func(w http.ResponseWriter, r *http.Request) {
		st, ok := s.cfg.Line.Stations.Get(r.PathValue("name"))
		if !ok {
			http.Error(w, "no such station", http.StatusNotFound)
			return
		}
		state, err := st.State(r.Context(), 12)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		s.page(w, r, "station", st.Name(), state)
	})

	// One outbox item, for the dashboard to follow what became of a retry.
	mux.HandleFunc("GET /api/v1/queue/{id}", func(w http.ResponseWriter, r *http.Request) {
		id, err := s.queueID(r)
		if err != nil {
			s.agentError(w, r, err)
			return
		}
		rec, err := queue.Get(r.Context(), s.cfg.DB, id)
		if errors.Is(err, queue.ErrNotFound) {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": err.Error()})
			return
		} else if err != nil {
			s.log.Error().Err(err).Int64("item", id).Msg("read an outbox item")
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "the outbox cannot be read just now; try again"})
			return
		}
		writeJSON(w, http.StatusOK, rec)
	})

	// Actions of the dashboard that have no other home in /api/v1.
	mux.HandleFunc("POST /api/v1/queue/{id}/retry", s.agentAction(func(r *http.Request, actor string, req actionRequest) error {
		id, err := s.queueID(r)
		if err != nil {
			return err
		}
		if err := queue.Retry(r.Context(), s.cfg.DB, id, actor, req.Reason, s.retryHooks()...); err != nil {
			return err
		}
		if s.cfg.Dispatcher != nil {
			s.cfg.Dispatcher.Notify()
		}
		return nil
	}))
	mux.HandleFunc("POST /api/v1/queue/{id}/park", s.agentAction(func(r *http.Request, actor string, req actionRequest) error {
		id, err := s.queueID(r)
		if err != nil {
			return err
		}
		return queue.Park(r.Context(), s.cfg.DB, id, actor, req.Reason)
	}))
	mux.HandleFunc("POST /api/v1/printers/{tag}/test", s.agentAction(func(r *http.Request, actor string, req actionRequest) error {
		if s.cfg.TestPrint == nil {
			return v2.Refuse(http.StatusNotFound, "no printers here")
		}
		s.log.Info().Str("printer", r.PathValue("tag")).Str("actor", actor).Msg("test print")
		return s.cfg.TestPrint(r.Context(), r.PathValue("tag"))
	}))
	mux.HandleFunc("POST /api/v1/stations/{name}/command", s.agentAction(func(r *http.Request, actor string, req actionRequest) error {
		st, ok := s.cfg.Line.Stations.Get(r.PathValue("name"))
		if !ok {
			return v2.Refuse(http.StatusNotFound, fmt.Sprintf("no station %q", r.PathValue("name")))
		}
		switch req.Command {
		case stations.CmdClose, stations.CmdCancel:
		default:
			return v2.Refuse(http.StatusBadRequest, fmt.Sprintf("command %q: the dashboard closes (CMD:CLOSE) or cancels (CMD:CANCEL) containers", req.Command))
		}
		v, err := st.Handle(r.Context(), stations.Scan{Source: "dashboard", Raw: []byte(req.Command), Plain: req.Command, Actor: actor})
		if err == nil && !v.OK {
			err = v2.Refuse(http.StatusConflict, v.Message)
		}
		return err
	}))
}

// queueID reads the outbox item number of the path: one that is not a
// number is the client's mistake (400), one this line has no outbox for is
// not found.
func (s *Server) queueID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, &accessError{status: http.StatusBadRequest, msg: fmt.Sprintf("item %q: must be an outbox item number", r.PathValue("id"))}
	}
	if s.cfg.DB == nil {
		return 0, &accessError{status: http.StatusNotFound, msg: fmt.Sprintf("item %d: this agent has no outbox", id)}
	}
	return id, nil
}

// Alert is something the overview asks a person to look at, and the page
// where it is done.
type Alert struct{ Level, Text, Link, Where string }

// plural is "1 label" or "2 labels".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// stationView is a station on the overview.
type stationView struct {
	stations.StationState
	Last        *stations.Verdict
	OK, Refused uint64
}

// Overview is the data of the overview page.
type Overview struct {
	Alerts   []Alert
	Printers []PrinterStatus
	Orders   []orders.LabelOrderView
	Stations []stationView
	Sync     queue.Stats
	Cloud    string // connected, unreachable since …, or not configured
	// Services are the outbox's other services (an EPCIS repository, the
	// shipping service), each connected or unreachable since ….
	Services []ServiceState
	Counts   Counts
}

// ServiceState is how a service the outbox delivers to answers.
type ServiceState struct {
	Name, State, LastFailure string
}

func (s *Server) overview(ctx context.Context) (any, error) {
	o := Overview{Printers: s.printers()}
	var err error
	if o.Orders, err = s.cfg.Line.Orders.LabelOrders(ctx, 8); err != nil {
		return nil, err
	}
	if o.Counts, err = s.cfg.Line.counts(ctx); err != nil {
		return nil, err
	}
	if o.Stations, err = s.stationViews(ctx, 1); err != nil {
		return nil, err
	}
	if s.cfg.Dispatcher != nil {
		if o.Sync, err = s.cfg.Dispatcher.Stats(ctx); err != nil {
			return nil, err
		}
	}
	for _, p := range o.Printers {
		switch p.State {
		case "paused":
			o.Alerts = append(o.Alerts, Alert{Level: "bad", Text: fmt.Sprintf("Printer %s is paused: %s", p.Tag, strings.Join(p.Faults, ", ")), Link: "/printers", Where: "Printers"})
		case "offline", "error":
			msg := fmt.Sprintf("Printer %s is %s", p.Tag, p.State)
			if p.LastErr != "" {
				msg += ": " + p.LastErr
			}
			o.Alerts = append(o.Alerts, Alert{Level: "bad", Text: msg, Link: "/printers", Where: "Printers"})
		}
	}
	if n := o.Counts.Labels["unknown"]; n > 0 {
		o.Alerts = append(o.Alerts, Alert{Level: "bad", Text: plural(n, "label has", "labels have") + " an unknown outcome: resolve them on the", Link: "/orders", Where: "Orders page"})
	}
	if n := o.Counts.LabelOrder["suspended"]; n > 0 {
		o.Alerts = append(o.Alerts, Alert{Level: "warn", Text: plural(n, "label order is", "label orders are") + " suspended (not enough serials): import serials, then resume on the", Link: "/orders", Where: "Orders page"})
	}
	if o.Sync.Parked > 0 {
		o.Alerts = append(o.Alerts, Alert{Level: "warn", Text: plural(o.Sync.Parked, "fact was", "facts were") + " refused by the cloud: see the", Link: "/queue", Where: "Queue page"})
	}
	ranges, err := s.rangeAlerts(ctx)
	if err != nil {
		return nil, err
	}
	o.Alerts = append(o.Alerts, ranges...)
	o.Cloud = "not configured"
	switch {
	case !s.cfg.CloudConfigured:
	case !o.Sync.FailingSince.IsZero():
		o.Cloud = "unreachable since " + o.Sync.FailingSince.UTC().Format("15:04:05") + " UTC"
		if time.Since(o.Sync.FailingSince) > 30*time.Second {
			o.Alerts = append(o.Alerts, Alert{Level: "warn", Text: fmt.Sprintf("The cloud is unreachable since %s (%s): the line keeps working, %s wait; see the",
				ago(o.Sync.FailingSince), o.Sync.LastFailure, plural(o.Sync.Pending, "fact", "facts")), Link: "/queue", Where: "Queue page"})
		}
	default:
		o.Cloud = "connected"
	}
	for _, key := range sortedKeys(s.cfg.Services) {
		name := s.cfg.Services[key]
		st := ServiceState{Name: name, State: "connected"}
		if r, ok := o.Sync.Services[key]; ok {
			st.State, st.LastFailure = "unreachable since "+r.FailingSince.UTC().Format("15:04:05")+" UTC", r.LastFailure
			if time.Since(r.FailingSince) > 30*time.Second {
				o.Alerts = append(o.Alerts, Alert{Level: "warn", Text: fmt.Sprintf("%s unreachable since %s (%s): the line keeps working, what goes there waits; see the",
					name, ago(r.FailingSince), r.LastFailure), Link: "/queue", Where: "Queue page"})
			}
		}
		o.Services = append(o.Services, st)
	}
	if s.cfg.CloudConfigured && o.Sync.FailingSince.IsZero() && !o.Sync.OldestPending.IsZero() && time.Since(o.Sync.OldestPending) > 5*time.Minute {
		o.Alerts = append(o.Alerts, Alert{Level: "warn", Text: fmt.Sprintf("The cloud has not taken %s for %s: the line keeps working, they wait", plural(o.Sync.Pending, "fact", "facts"), ago(o.Sync.OldestPending)), Link: "/queue", Where: "Queue page"})
	}
	return o, nil
}

func (s *Server) stationViews(ctx context.Context, recent int) ([]stationView, error) {
	names := s.cfg.Line.Stations.Names()
	sort.Strings(names)
	var out []stationView
	for _, n := range names {
		st, _ := s.cfg.Line.Stations.Get(n)
		state, err := st.State(ctx, recent)
		if err != nil {
			return nil, err
		}
		v := stationView{StationState: state}
		if len(state.Recent) > 0 {
			v.Last = &state.Recent[0]
		}
		v.OK, v.Refused = st.Verdicts()
		out = append(out, v)
	}
	return out, nil
}

func (s *Server) printers() []PrinterStatus {
	if s.cfg.Printers == nil {
		return nil
	}
	ps := s.cfg.Printers()
	sort.Slice(ps, func(i, j int) bool { return ps[i].Tag < ps[j].Tag })
	return ps
}

func (s *Server) orders(ctx context.Context) (any, error) {
	lo, err := s.cfg.Line.Orders.LabelOrders(ctx, 50)
	if err != nil {
		return nil, err
	}
	po, err := s.cfg.Line.Orders.PackagingOrders(ctx, 50)
	if err != nil {
		return nil, err
	}
	unknown, err := s.cfg.Line.Ledger.UnknownLabels(ctx)
	if err != nil {
		return nil, err
	}
	held := map[string]string{}
	for _, p := range s.printers() {
		if p.State == "paused" || p.State == "error" || p.State == "offline" {
			held[p.Tag] = "printer " + p.Tag + " is " + p.State
			if len(p.Faults) > 0 {
				held[p.Tag] += ": " + strings.Join(p.Faults, ", ")
			}
		}
	}
	rows := make([]orderRow, len(lo))
	for i, o := range lo {
		rows[i].LabelOrderView = o
		if o.Status == orders.Printing || o.Status == orders.Released {
			rows[i].Held = held[o.Destination]
		}
	}
	return map[string]any{"Orders": rows, "Packaging": po, "Unknown": unknown}, nil
}

// orderRow is a label order on the orders page: what holds it back beside
// its stored status (an order printing on a paused printer waits).
type orderRow struct {
	orders.LabelOrderView
	Held string
}

func (s *Server) printersPage(ctx context.Context) (any, error) {
	labels, err := s.cfg.Line.Ledger.RecentLabels(ctx, 20)
	if err != nil {
		return nil, err
	}
	return map[string]any{"Printers": s.printers(), "Labels": labels}, nil
}

func (s *Server) stationsPage(ctx context.Context) (any, error) {
	v, err := s.stationViews(ctx, 10)
	return map[string]any{"Stations": v}, err
}

func (s *Server) queuePage(ctx context.Context) (any, error) {
	out := map[string]any{"Stats": queue.Stats{}}
	if s.cfg.DB == nil {
		return out, nil
	}
	st, err := queue.ReadStats(ctx, s.cfg.DB)
	if err != nil {
		return nil, err
	}
	parked, err := queue.List(ctx, s.cfg.DB, queue.StateParked, 100, false)
	if err != nil {
		return nil, err
	}
	pending, err := queue.ListOldest(ctx, s.cfg.DB, queue.StatePending, 50)
	if err != nil {
		return nil, err
	}
	out["Stats"], out["Parked"], out["Pending"] = st, parked, pending
	return out, nil
}

// usersPage lists the people and the paired station screens.
func (s *Server) usersPage(ctx context.Context) (any, error) {
	if s.cfg.People == nil {
		return map[string]any{}, nil
	}
	list, err := s.cfg.People.Users.List(ctx)
	if err != nil {
		return nil, err
	}
	devices, err := s.cfg.People.Devices.List(ctx)
	return map[string]any{"Users": list, "Devices": devices}, err
}

// queryKey carries a page's query (its filters) to its data.
type queryKey struct{}

// auditPage pages and filters the audit log: by person, action, object
// and time, newest first, 100 entries a page.
func (s *Server) auditPage(ctx context.Context) (any, error) {
	q, _ := ctx.Value(queryKey{}).(url.Values)
	f := audit.Filter{User: q.Get("user"), Action: q.Get("action"), Subject: q.Get("subject"), Limit: 100}
	if t, err := time.Parse("2006-01-02T15:04", q.Get("from")); err == nil {
		f.From = t
	}
	if t, err := time.Parse("2006-01-02T15:04", q.Get("to")); err == nil {
		f.To = t
	}
	if n, err := strconv.ParseInt(q.Get("before"), 10, 64); err == nil {
		f.Before = n
	}
	e, next, err := audit.Query(ctx, s.cfg.Line.Ledger.DB().Reader(), f)
	older := ""
	if next > 0 {
		v := url.Values{}
		for _, k := range []string{"user", "action", "subject", "from", "to"} {
			if x := q.Get(k); x != "" {
				v.Set(k, x)
			}
		}
		v.Set("before", strconv.FormatInt(next, 10))
		older = "/audit?" + v.Encode()
	}
	// A search or an older page stays as it was asked for: only the whole
	// log, newest first, follows what happens live.
	return map[string]any{"Entries": e, "Filter": map[string]string{"User": f.User, "Action": f.Action, "Subject": f.Subject,
		"From": q.Get("from"), "To": q.Get("to")}, "Older": older, "Live": len(q) == 0}, err
}

type templateView struct{ Tag, Description string }

func (s *Server) templates() []templateView {
	if s.cfg.Templates == nil {
		return nil
	}
	var out []templateView
	for _, tag := range s.cfg.Templates.Tags() {
		t, _ := s.cfg.Templates.Get(tag)
		out = append(out, templateView{tag, t.Description})
	}
	return out
}

// retryHooks are what a retry asks of the line's parts.
func (s *Server) retryHooks() []queue.RetryHook {
	if s.cfg.Line == nil || s.cfg.Line.Shipments == nil {
		return nil
	}
	return []queue.RetryHook{s.cfg.Line.Shipments.Rerequest}
}
