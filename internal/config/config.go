// Package config reads the agent's YAML configuration file: strict decoding
// (an unknown key is an error), ${ENV} expansion so that secrets can live in
// the environment, defaults for everything that has a sensible one, and a
// Validate method whose errors name the field and the rule it breaks.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/edgeagent/edgeagent/internal/gs1"
)

// Secret is a string that never prints: fmt, logs, YAML and JSON show "***".
// Use Reveal where the real value is needed (an HTTP header, a comparison).
type Secret string

func (s Secret) String() string { return mask(s) }

// GoString keeps %#v from printing the value.
func (s Secret) GoString() string { return mask(s) }

// Reveal returns the secret's value.
func (s Secret) Reveal() string { return string(s) }

// MarshalText masks the secret in every text encoding (JSON, YAML, logs).
func (s Secret) MarshalText() ([]byte, error) { return []byte(mask(s)), nil }

func mask(s Secret) string {
	if s == "" {
		return ""
	}
	return "***"
}

// Config is the whole configuration file.
type Config struct {
	// Line identifies this packaging line.
	Line Line `yaml:"line"`
	// DataDir holds the database and other state; created 0700 if missing.
	DataDir string `yaml:"data_dir"`
	Log     Log    `yaml:"log"`
	HTTP    HTTP   `yaml:"http"`
	Store   Store  `yaml:"store"`
	// V2 is the local Manufacturer V2 API for ERP and MES systems.
	V2 V2 `yaml:"v2"`
	// Cloud is the Manufacturer V2 API in the cloud; without a base URL the
	// line works alone and its facts wait in the outbox.
	Cloud Cloud `yaml:"cloud"`
	// Sync tunes delivery of the outbox to the cloud.
	Sync Sync `yaml:"sync"`
	// EPCIS names the line's places in its EPCIS 2.0 journal, and the
	// repository the journal is captured by.
	EPCIS EPCIS `yaml:"epcis"`
	// ShutdownTimeout bounds a clean stop after SIGINT/SIGTERM.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
}

// Line names the line this agent serves.
type Line struct {
	// Name appears in the dashboard and in logs. Required.
	Name string `yaml:"name"`
	// TemplatesDir holds label templates (*.zpl) that add to or replace the
	// built-in ones. Optional.
	TemplatesDir string `yaml:"templates_dir"`
	// Printers are the line's printers by destination tag (the tag label
	// orders name).
	Printers []Printer `yaml:"printers"`
	// Products are the products and batches known on the line.
	Products []Product `yaml:"products"`
	// Serials sets up the serial number generator.
	Serials Serials `yaml:"serials"`
	// ExtraLabels is the channel default for orders that name none.
	ExtraLabels ExtraLabels `yaml:"extra_labels"`
	// SSCC is where stations take the SSCCs of new cases and pallets from.
	SSCC SSCC `yaml:"sscc"`
	// Stations are the scanner-driven stations of the line.
	Stations []Station `yaml:"stations"`
}

// SSCC is a GS1 company prefix and extension digit.
type SSCC struct {
	// CompanyPrefix is the GS1 company prefix, 4-12 digits. Without it,
	// stations take preprinted SSCC labels only.
	CompanyPrefix string `yaml:"company_prefix"`
	// Extension is the extension digit, 0-9.
	Extension int `yaml:"extension"`
	// Ranges are the serial references this line allocates, in ascending
	// order; lines that share the company prefix and extension digit are
	// given disjoint ranges. Empty: every reference from 1.
	Ranges []Range `yaml:"ranges"`
	// LowWater: with fewer SSCCs left in the ranges, stations and the
	// dashboard say so. Default a tenth of the ranges.
	LowWater *int64 `yaml:"low_water"`
}

// Range is a span of serial references, both ends included.
type Range struct {
	From int64 `yaml:"from"`
	To   int64 `yaml:"to"`
}

// Station is a station: its scanners, printer and mode.
type Station struct {
	Name string `yaml:"name"`
	// Mode it starts in: case, pallet, decommission or ship. Default case.
	Mode string `yaml:"mode"`
	// Scanners are scanner URLs (serial://, tcp://, tcp-listen://,
	// hidpos://, evdev://, stdin). The station page takes scans too.
	Scanners []string `yaml:"scanners"`
	// Layout is the keyboard layout of evdev wedge scanners: us, de, fr, uk.
	Layout string `yaml:"layout"`
	// GS is the character the station page's wedge scanner types for GS.
	GS string `yaml:"gs"`
	// Printer is the destination tag of the station's printer (container
	// and shipping labels).
	Printer string `yaml:"printer"`
	// Reason of a decommission station: destroy, sample, free_sample,
	// check_out, lock or export.
	Reason string `yaml:"reason"`
	// SendToMarket goes with the station's decommissions.
	SendToMarket bool `yaml:"send_to_market"`
	// Order binds the station to a packaging order; empty: the line's only
	// open order.
	Order string `yaml:"order"`
	// CaseCapacity and PalletCapacity override the product's.
	CaseCapacity   int `yaml:"case_capacity"`
	PalletCapacity int `yaml:"pallet_capacity"`
	// IntegrationID is the shipping integration of a ship station.
	IntegrationID int `yaml:"integration_id"`
	// SignOn: a decommission, CLOSE, CANCEL, REMOVE or UNDO from a scanner
	// or a paired screen needs an operator signed on at the station (badge
	// or PIN). Default true.
	SignOn *bool `yaml:"sign_on"`
}

// Printer is one printer.
type Printer struct {
	Tag string `yaml:"tag"`
	URL string `yaml:"url"`
}

// Product is a GTIN with its market and batches.
type Product struct {
	GTIN    string  `yaml:"gtin"`
	Market  string  `yaml:"market"`
	Batches []Batch `yaml:"batches"`
	// CaseCapacity is packs per case, PalletCapacity cases per pallet
	// (0: no limit).
	CaseCapacity   int `yaml:"case_capacity"`
	PalletCapacity int `yaml:"pallet_capacity"`
}

// Batch is a batch and its expiry date (YYMMDD).
type Batch struct {
	Batch  string `yaml:"batch"`
	Expiry string `yaml:"expiry"`
}

// Serials configures serial numbers.
type Serials struct {
	// Generate makes serials on the line when the pool runs short; false
	// means serials are imported (edgeagent serials import).
	Generate bool `yaml:"generate"`
	// Length of generated serials, 1-20. Default 12.
	Length int `yaml:"length"`
	// Alphabet of generated serials (GS1 CSET 82). Default without 0/O/1/I/L.
	Alphabet string `yaml:"alphabet"`
	// LowPool warns when fewer serials than this are available (or left in
	// the line's range, with a prefix).
	LowPool int `yaml:"low_pool"`
	// Prefix begins every generated serial: lines that generate serials
	// for the same products are given different prefixes, none the
	// beginning of another.
	Prefix string `yaml:"prefix"`
}

// ExtraLabels is an amount of extra labels or a percentage.
type ExtraLabels struct {
	Amount int    `yaml:"amount"`
	Type   string `yaml:"type"`
}

// V2 configures the local Manufacturer V2 API.
type V2 struct {
	// Tokens of API clients, by name (the name goes to the audit log). The
	// http.token is accepted too, as "local".
	Tokens []NamedToken `yaml:"tokens"`
	// ChannelKeys accepted in x-channel-key.
	ChannelKeys []Secret `yaml:"channel_keys"`
}

// NamedToken is a client's token.
type NamedToken struct {
	Name  string `yaml:"name"`
	Token Secret `yaml:"token"`
}

// Cloud configures the cloud connection.
type Cloud struct {
	BaseURL    string `yaml:"base_url"`
	ChannelKey Secret `yaml:"channel_key"`
	// A static token, or an API key and secret for dynamic tokens.
	Token     Secret `yaml:"token"`
	APIKey    Secret `yaml:"api_key"`
	APISecret Secret `yaml:"api_secret"`
	// Bearer sends the token as Authorization: Bearer.
	Bearer  bool          `yaml:"bearer"`
	CAFile  string        `yaml:"ca_file"`
	Timeout time.Duration `yaml:"timeout"`
	// Shipping is the shipping-label service of ship stations.
	Shipping Shipping `yaml:"shipping"`
}

// Shipping configures the shipping-label service (Sendcloud-style API).
type Shipping struct {
	// BaseURL, e.g. https://panel.sendcloud.sc/api/v3; empty: no shipping.
	BaseURL   string `yaml:"base_url"`
	PublicKey Secret `yaml:"public_key"`
	SecretKey Secret `yaml:"secret_key"`
	// PartnerID is an optional partner UUID.
	PartnerID string `yaml:"partner_id"`
}

// EPCIS configures the EPCIS 2.0 event journal. The journal is always
// kept; with a capture URL its events also go to that repository.
type EPCIS struct {
	// Site is the GLN of the site, the bizLocation of the line's events.
	Site string `yaml:"site"`
	// ReadPoint is the extension (GS1 AI 254) of the site's GLN that
	// names this line, e.g. LINE1: readPoint is that SGLN. Empty: the
	// site itself.
	ReadPoint string `yaml:"read_point"`
	// Identifiers is digital_link (GS1 Digital Link URIs, the default) or
	// urn (EPC URNs, which need CompanyPrefixLength).
	Identifiers         string `yaml:"identifiers"`
	CompanyPrefixLength int    `yaml:"company_prefix_length"`
	// CaptureURL is the EPCIS 2.0 REST interface of the repository (its
	// capture endpoint is CaptureURL/capture); empty: no capture.
	CaptureURL string `yaml:"capture_url"`
	// Token is sent as Authorization: Bearer; or Username and Password
	// as basic authentication.
	Token    Secret        `yaml:"token"`
	Username string        `yaml:"username"`
	Password Secret        `yaml:"password"`
	CAFile   string        `yaml:"ca_file"`
	Timeout  time.Duration `yaml:"timeout"`
}

// Sync tunes the outbox dispatcher.
type Sync struct {
	Workers   int           `yaml:"workers"`
	MaxBatch  int           `yaml:"max_batch"`
	Retention time.Duration `yaml:"retention"`
}

// Log configures logging.
type Log struct {
	// Level is one of debug, info, warn, error. Default info.
	Level string `yaml:"level"`
	// Format is json, console, or auto (console on a terminal, JSON otherwise). Default auto.
	Format string `yaml:"format"`
}

// HTTP configures the local API, dashboard and health endpoints.
type HTTP struct {
	// Listen is the host:port to serve on. Default 127.0.0.1:8080.
	Listen string `yaml:"listen"`
	// Token is the line PC's own credential: the command line beside the
	// agent uses it (as admin). Required, at least 16 characters.
	Token Secret `yaml:"token"`
	// MetricsToken lets a Prometheus on another machine scrape /metrics
	// (Authorization: Bearer); without it only this machine may.
	MetricsToken Secret `yaml:"metrics_token"`
	// SessionIdle ends a dashboard login unused for this long (default 30m);
	// SessionLifetime ends any login after this long (default 12h).
	SessionIdle     time.Duration `yaml:"session_idle"`
	SessionLifetime time.Duration `yaml:"session_lifetime"`
	// StationIdle signs an operator off a station after this long without
	// a scan (default 15m).
	StationIdle time.Duration `yaml:"station_idle"`
}

// Store configures the SQLite database.
type Store struct {
	// Path of the database file. Default DataDir/edgeagent.db.
	Path string `yaml:"path"`
	// GroupCommitMaxBatch is how many writes may share one transaction. Default 128; 1 disables group commit.
	GroupCommitMaxBatch int `yaml:"group_commit_max_batch"`
	// GroupCommitMaxDelay is how long the writer waits to fill a batch. Default 0: it takes what is queued and commits.
	GroupCommitMaxDelay time.Duration `yaml:"group_commit_max_delay"`
	// MaxPages caps the database at this many pages of 4 KiB (0: no cap):
	// past it, new work is refused as on a full disk while stored work
	// stays. It keeps room on a disk the agent shares.
	MaxPages int `yaml:"max_pages"`
}

// Default returns the configuration used where the file is silent.
func Default() Config {
	return Config{
		Line:            Line{Name: "line-1"},
		DataDir:         "/var/lib/edgeagent",
		Log:             Log{Level: "info", Format: "auto"},
		HTTP:            HTTP{Listen: "127.0.0.1:8080"},
		Store:           Store{GroupCommitMaxBatch: 128},
		Cloud:           Cloud{Timeout: 30 * time.Second},
		Sync:            Sync{Workers: 4, MaxBatch: 500, Retention: 30 * 24 * time.Hour},
		EPCIS:           EPCIS{Identifiers: "digital_link", Timeout: 30 * time.Second},
		ShutdownTimeout: 15 * time.Second,
	}
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// Parse decodes YAML over the defaults. ${NAME} is replaced with the
// environment variable NAME; an unset variable is an error. lookup is
// usually os.LookupEnv.
func Parse(data []byte, lookup func(string) (string, bool)) (Config, error) {
	var missing []string
	lines := strings.Split(string(data), "\n")
	for i, line := range lines {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue // comments may mention ${NAME} without it being set
		}
		lines[i] = envRef.ReplaceAllStringFunc(line, func(ref string) string {
			name := envRef.FindStringSubmatch(ref)[1]
			v, ok := lookup(name)
			if !ok {
				missing = append(missing, name)
			}
			return v
		})
	}
	expanded := strings.Join(lines, "\n")
	if len(missing) > 0 {
		return Config{}, fmt.Errorf("environment variable %s is not set (referenced as ${%s})", strings.Join(missing, ", "), missing[0])
	}
	cfg := Default()
	dec := yaml.NewDecoder(bytes.NewReader([]byte(expanded)))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		return Config{}, &Faults{List: decodeFaults([]byte(expanded), err)}
	}
	if cfg.Store.Path == "" && cfg.DataDir != "" {
		cfg.Store.Path = filepath.Join(cfg.DataDir, "edgeagent.db")
	}
	return cfg, nil
}

// Load reads, expands and decodes a configuration file, then validates it
// with Validate and then each of checks (the checks of the parts the
// configuration drives: printer and scanner URLs). Every fault found is
// reported, in a *Faults. A file that holds a secret inline must be private
// to its owner (see checkFileMode). The file may be a symbolic link
// (packages keep it in /etc); messages then name the file it leads to, the
// one to edit.
func Load(path string, checks ...func(Config) error) (Config, error) {
	name := path
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		if real, err := filepath.EvalSymlinks(path); err == nil {
			name = real
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	// The mode is the open file's, so that it is the mode of what is read.
	st, err := f.Stat()
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return Config{}, fmt.Errorf("config: %s: %w", name, err)
	}
	cfg, err := Parse(data, os.LookupEnv)
	var faults *Faults
	if errors.As(err, &faults) {
		faults.File = name
		return Config{}, faults
	} else if err != nil {
		return Config{}, &Faults{File: name, List: faultList(err)}
	}
	if err := checkFileMode(name, st, data); err != nil {
		return Config{}, err
	}
	var list []string
	if err := cfg.Validate(); err != nil {
		list = faultList(err)
	}
	for _, check := range checks {
		if err := check(cfg); err != nil {
			list = append(list, faultList(err)...)
		}
	}
	if len(list) > 0 {
		return Config{}, &Faults{File: name, List: list}
	}
	return cfg, nil
}

// Validate checks every field; the error lists each fault as "field: rule".
func (c Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{field}, args...)...))
	}
	if strings.TrimSpace(c.Line.Name) == "" {
		bad("line.name", "is required")
	} else if len(c.Line.Name) > 64 {
		bad("line.name", "must be at most 64 characters, got %d", len(c.Line.Name))
	}
	if c.DataDir == "" {
		bad("data_dir", "is required")
	}
	if c.Line.TemplatesDir != "" && strings.ContainsRune(c.Line.TemplatesDir, 0) {
		bad("line.templates_dir", "must be a directory path")
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "must be one of debug, info, warn, error; got %q", c.Log.Level)
	}
	switch c.Log.Format {
	case "auto", "json", "console", "journald":
	default:
		bad("log.format", "must be one of auto, json, console, journald; got %q", c.Log.Format)
	}
	if host, port, err := net.SplitHostPort(c.HTTP.Listen); err != nil {
		bad("http.listen", "must be host:port (for example 127.0.0.1:8080); got %q", c.HTTP.Listen)
	} else if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		bad("http.listen", "port must be 0 to 65535; got %q", port)
	} else if host != "" && host != "localhost" && net.ParseIP(host) == nil {
		bad("http.listen", "host must be an IP address or localhost; got %q", host)
	}
	if len(c.HTTP.Token.Reveal()) < 16 {
		bad("http.token", "is required and must be at least 16 characters (use ${ENV_VAR} to keep it out of the file)")
	}
	if c.Store.Path == "" {
		bad("store.path", "is required")
	}
	if c.Store.MaxPages < 0 || (c.Store.MaxPages > 0 && c.Store.MaxPages < 10) {
		bad("store.max_pages", "must be 0 (no cap) or at least 10; got %d", c.Store.MaxPages)
	}
	if c.Store.GroupCommitMaxBatch < 1 || c.Store.GroupCommitMaxBatch > 10000 {
		bad("store.group_commit_max_batch", "must be 1 to 10000; got %d", c.Store.GroupCommitMaxBatch)
	}
	if c.Store.GroupCommitMaxDelay < 0 || c.Store.GroupCommitMaxDelay > time.Second {
		bad("store.group_commit_max_delay", "must be 0 to 1s; got %s", c.Store.GroupCommitMaxDelay)
	}
	c.validateLine(bad)
	c.validateEPCIS(bad)
	c.validateCloud(bad)
	if c.ShutdownTimeout < time.Second || c.ShutdownTimeout > 10*time.Minute {
		bad("shutdown_timeout", "must be 1s to 10m; got %s", c.ShutdownTimeout)
	}
	return errors.Join(errs...)
}

func (c Config) validateLine(bad func(string, string, ...any)) {
	tags := map[string]bool{}
	for i, p := range c.Line.Printers {
		f := fmt.Sprintf("line.printers[%d]", i)
		switch {
		case p.Tag == "":
			bad(f+".tag", "is required")
		case tags[p.Tag]:
			bad(f+".tag", "%q is given twice", p.Tag)
		}
		tags[p.Tag] = true
		if !strings.Contains(p.URL, "://") {
			bad(f+".url", "must be tcp://host:9100, usb://0a5f:PID?serial=SN, serial:///dev/ttyUSB0 or file:///dir; got %q", p.URL)
		}
	}
	for i, p := range c.Line.Products {
		f := fmt.Sprintf("line.products[%d]", i)
		if !validGTIN(p.GTIN) {
			bad(f+".gtin", "must be a GTIN-14 with a valid check digit; got %q", p.GTIN)
		}
		switch p.Market {
		case "", "EU", "US", "CHN", "IDN":
		default:
			bad(f+".market", "must be EU, US, CHN or IDN; got %q", p.Market)
		}
		for j, b := range p.Batches {
			bf := fmt.Sprintf("%s.batches[%d]", f, j)
			if b.Batch == "" || len(b.Batch) > 20 {
				bad(bf+".batch", "must be 1-20 characters; got %q", b.Batch)
			}
			if b.Expiry != "" && !validYYMMDD(b.Expiry) {
				bad(bf+".expiry", "must be a date YYMMDD (day 00: last of the month); got %q", b.Expiry)
			}
		}
	}
	// line.serials and line.sscc.ranges are checked by the ledger's and the
	// containers' own rules (the run command's checks).
	switch c.Line.ExtraLabels.Type {
	case "", "amount", "percentage":
	default:
		bad("line.extra_labels.type", "must be amount or percentage; got %q", c.Line.ExtraLabels.Type)
	}
	if c.Line.ExtraLabels.Amount < 0 {
		bad("line.extra_labels.amount", "must not be negative")
	}
	if p := c.Line.SSCC.CompanyPrefix; p != "" && (len(p) < 4 || len(p) > 12 || strings.Trim(p, "0123456789") != "") {
		bad("line.sscc.company_prefix", "must be 4-12 digits; got %q", p)
	}
	if e := c.Line.SSCC.Extension; e < 0 || e > 9 {
		bad("line.sscc.extension", "must be a digit 0-9; got %d", e)
	}
	for i, p := range c.Line.Products {
		if p.CaseCapacity < 0 || p.PalletCapacity < 0 {
			bad(fmt.Sprintf("line.products[%d]", i), "case_capacity and pallet_capacity must not be negative")
		}
	}
	names := map[string]bool{}
	for i, st := range c.Line.Stations {
		f := fmt.Sprintf("line.stations[%d]", i)
		switch {
		case st.Name == "":
			bad(f+".name", "is required")
		case names[st.Name]:
			bad(f+".name", "%q is given twice", st.Name)
		case strings.ContainsAny(st.Name, "/?#% "):
			bad(f+".name", "must not contain / ? # %% or spaces; got %q", st.Name)
		}
		names[st.Name] = true
		reason := func() {
			switch st.Reason {
			case "destroy", "sample", "free_sample", "check_out", "lock", "export":
			default:
				bad(f+".reason", "must be destroy, sample, free_sample, check_out, lock or export; got %q", st.Reason)
			}
		}
		switch st.Mode {
		case "", "case", "pallet":
		case "decommission":
			reason()
		case "ship":
			if st.IntegrationID <= 0 {
				bad(f+".integration_id", "is required for a ship station")
			}
			if c.Cloud.Shipping.BaseURL == "" {
				bad(f+".mode", "ship needs cloud.shipping.base_url")
			}
		default:
			bad(f+".mode", "must be case, pallet, decommission or ship; got %q", st.Mode)
		}
		if st.Reason != "" && st.Mode != "decommission" {
			reason()
		}
		if st.Printer != "" && !tags[st.Printer] {
			bad(f+".printer", "%q is not the tag of a line.printers entry", st.Printer)
		}
		for j, u := range st.Scanners {
			if u != "stdin" && !strings.Contains(u, "://") {
				bad(fmt.Sprintf("%s.scanners[%d]", f, j), "must be serial://, tcp://, tcp-listen://, hidpos://, evdev:// or stdin; got %q", u)
			}
		}
		switch st.Layout {
		case "", "us", "de", "fr", "uk":
		default:
			bad(f+".layout", "must be us, de, fr or uk; got %q", st.Layout)
		}
		if len(st.GS) > 1 || (st.GS != "" && (st.GS[0] < 0x21 || st.GS[0] > 0x7e)) {
			bad(f+".gs", "must be one printable ASCII character; got %q", st.GS)
		}
		if st.CaseCapacity < 0 || st.PalletCapacity < 0 {
			bad(f, "case_capacity and pallet_capacity must not be negative")
		}
	}
	for i, t := range c.V2.Tokens {
		if t.Name == "" {
			bad(fmt.Sprintf("v2.tokens[%d].name", i), "is required")
		}
		if len(t.Token.Reveal()) < 16 {
			bad(fmt.Sprintf("v2.tokens[%d].token", i), "must be at least 16 characters")
		}
	}
	for i, k := range c.V2.ChannelKeys {
		if k.Reveal() == "" {
			bad(fmt.Sprintf("v2.channel_keys[%d]", i), "must not be empty")
		}
	}
}

func (c Config) validateCloud(bad func(string, string, ...any)) {
	if c.Cloud.BaseURL == "" {
		return
	}
	if msg := serviceURL(c.Cloud.BaseURL); msg != "" {
		bad("cloud.base_url", "%s", msg)
	}
	if c.Cloud.ChannelKey.Reveal() == "" {
		bad("cloud.channel_key", "is required with cloud.base_url")
	}
	if c.Cloud.Token.Reveal() == "" && (c.Cloud.APIKey.Reveal() == "" || c.Cloud.APISecret.Reveal() == "") {
		bad("cloud.token", "give a static token, or cloud.api_key and cloud.api_secret")
	}
	if c.Cloud.Timeout < time.Second || c.Cloud.Timeout > 5*time.Minute {
		bad("cloud.timeout", "must be 1s to 5m; got %s", c.Cloud.Timeout)
	}
	if u := c.Cloud.Shipping.BaseURL; u != "" {
		if msg := serviceURL(u); msg != "" {
			bad("cloud.shipping.base_url", "%s", msg)
		}
		if c.Cloud.Shipping.PublicKey.Reveal() == "" || c.Cloud.Shipping.SecretKey.Reveal() == "" {
			bad("cloud.shipping.public_key", "public_key and secret_key are required with cloud.shipping.base_url")
		}
	}
	if c.Sync.Workers < 1 || c.Sync.Workers > 64 {
		bad("sync.workers", "must be 1 to 64; got %d", c.Sync.Workers)
	}
	if c.Sync.MaxBatch < 1 || c.Sync.MaxBatch > 10000 {
		bad("sync.max_batch", "must be 1 to 10000; got %d", c.Sync.MaxBatch)
	}
	if c.Sync.Retention < time.Hour {
		bad("sync.retention", "must be at least 1h; got %s", c.Sync.Retention)
	}
}

func (c Config) validateEPCIS(bad func(string, string, ...any)) {
	e := c.EPCIS
	if e.Site != "" && !isGLN(e.Site) {
		bad("epcis.site", "must be a GLN: 13 digits with a correct check digit; got %q", e.Site)
	}
	if e.ReadPoint != "" {
		if e.Site == "" {
			bad("epcis.read_point", "needs epcis.site: it names a part of the site's GLN")
		}
		if gs1.ValidateElement("254", e.ReadPoint) != nil {
			bad("epcis.read_point", "must be 1 to 20 letters, digits or GS1 punctuation (a GLN extension, AI 254); got %q", e.ReadPoint)
		}
	}
	switch e.Identifiers {
	case "digital_link":
	case "urn":
		if e.CompanyPrefixLength < 6 || e.CompanyPrefixLength > 12 {
			bad("epcis.company_prefix_length", "must be 6 to 12 with epcis.identifiers: urn (EPC URNs split the GS1 company prefix out); got %d", e.CompanyPrefixLength)
		}
	default:
		bad("epcis.identifiers", "must be digital_link or urn; got %q", e.Identifiers)
	}
	if e.CaptureURL == "" {
		return
	}
	if msg := serviceURL(e.CaptureURL); msg != "" {
		bad("epcis.capture_url", "%s", msg)
	}
	switch {
	case e.Password.Reveal() != "" && e.Username == "":
		bad("epcis.username", "is required with epcis.password")
	case e.Username != "" && e.Password.Reveal() == "":
		bad("epcis.password", "is required with epcis.username")
	case e.Username != "" && e.Token.Reveal() != "":
		bad("epcis.token", "give a token or a username and password, not both")
	}
	if e.Timeout < time.Second || e.Timeout > 5*time.Minute {
		bad("epcis.timeout", "must be 1s to 5m; got %s", e.Timeout)
	}
}

// isGLN reports whether s is 13 digits with a correct GS1 check digit.
func isGLN(s string) bool {
	return len(s) == 13 && strings.Trim(s, "0123456789") == "" && gs1.ValidCheckDigit(s)
}

// serviceURL checks the base URL of a cloud service, which is sent the
// line's secrets: it must be https://host, or plain http:// to this machine
// only. It returns what is wrong, or "" when nothing is.
//
// The URL is parsed and its host compared whole: http://localhost.evil.example
// or http://127.0.0.1.nip.io begin like this machine and are another. A user
// or password before the host (http://localhost@evil.example, where the host
// is evil.example) is refused in every URL: it hides the real host from a
// reader, and credentials belong in the secret fields, which never print.
func serviceURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" {
		return fmt.Sprintf("must be a URL such as https://host; got %q", raw)
	}
	if u.User != nil {
		return fmt.Sprintf("must not hold a user or password before the host (user@host); got %q", u.Redacted())
	}
	switch {
	case u.Host == "" || u.Hostname() == "":
		return fmt.Sprintf("must be a URL such as https://host; got %q", raw)
	case u.Scheme == "https":
		return ""
	case u.Scheme == "http" && thisMachine(u.Hostname()):
		return ""
	}
	return fmt.Sprintf("must be https:// (plain http only to this machine: localhost, 127.0.0.1 or [::1]); got %q", raw)
}

// thisMachine reports whether host names this machine: localhost, or a
// loopback address (127.0.0.0/8, ::1).
func thisMachine(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func validGTIN(s string) bool {
	if len(s) != 14 {
		return false
	}
	sum := 0
	for i := 0; i < 14; i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	for i := 12; i >= 0; i-- {
		d := int(s[i] - '0')
		if (12-i)%2 == 0 {
			d *= 3
		}
		sum += d
	}
	return (10-sum%10)%10 == int(s[13]-'0')
}

func validYYMMDD(s string) bool {
	if len(s) != 6 {
		return false
	}
	for i := 0; i < 6; i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	mm := int(s[2]-'0')*10 + int(s[3]-'0')
	dd := int(s[4]-'0')*10 + int(s[5]-'0')
	return mm >= 1 && mm <= 12 && dd <= 31
}
