package agent

import (
	"github.com/edgeagent/edgeagent/internal/cloud"
	"github.com/edgeagent/edgeagent/internal/config"
	"github.com/edgeagent/edgeagent/internal/containers"
	"github.com/edgeagent/edgeagent/internal/epcis"
	"github.com/edgeagent/edgeagent/internal/journal"
	"github.com/edgeagent/edgeagent/internal/ledger"
	"github.com/edgeagent/edgeagent/internal/orders"
	"github.com/edgeagent/edgeagent/internal/queue"
	"github.com/edgeagent/edgeagent/internal/stations"
	"github.com/edgeagent/edgeagent/internal/store"
	"github.com/edgeagent/edgeagent/internal/users"
	"github.com/edgeagent/edgeagent/internal/zpl"
)

// FromConfig maps the configuration file to the agent's parts: the one
// way a configuration becomes an agent, for the service, the demo and the
// CLI's local commands. templates may be nil (the built-in ones).
func FromConfig(cfg config.Config, templates *zpl.Set, version string) Config {
	if templates == nil {
		templates = zpl.Builtin()
	}
	ac := Config{
		DB: store.Config{Path: cfg.Store.Path, MaxBatch: cfg.Store.GroupCommitMaxBatch, MaxDelay: cfg.Store.GroupCommitMaxDelay,
			MaxPageCount: cfg.Store.MaxPages},
		LineName:     cfg.Line.Name,
		Templates:    templates,
		Serials:      SerialConfig(cfg.Line.Serials),
		Extra:        orders.Extra{Amount: cfg.Line.ExtraLabels.Amount, Type: cfg.Line.ExtraLabels.Type},
		Listen:       cfg.HTTP.Listen,
		Tokens:       map[string]string{},
		ServiceToken: cfg.HTTP.Token.Reveal(),
		MetricsToken: cfg.HTTP.MetricsToken.Reveal(),
		People:       users.Config{Idle: cfg.HTTP.SessionIdle, Absolute: cfg.HTTP.SessionLifetime, StationIdle: cfg.HTTP.StationIdle},
		Queue:        queue.Config{Workers: cfg.Sync.Workers, DefaultBatch: cfg.Sync.MaxBatch, Retention: cfg.Sync.Retention},
		Version:      version,
		// A clean stop lets each printer confirm its label in flight and
		// record it; both waits are bounded by this, within the stop's own
		// deadline.
		StopTimeout: cfg.ShutdownTimeout / 3,
	}
	for _, p := range cfg.Line.Printers {
		ac.Printers = append(ac.Printers, PrinterConfig{Tag: p.Tag, URL: p.URL})
	}
	for _, p := range cfg.Line.Products {
		b := map[string]string{}
		for _, x := range p.Batches {
			b[x.Batch] = x.Expiry
		}
		ac.Products = append(ac.Products, Product{GTIN: p.GTIN, Market: p.Market, Batches: b})
		if p.CaseCapacity > 0 || p.PalletCapacity > 0 {
			if ac.Capacities == nil {
				ac.Capacities = map[string]stations.Capacity{}
			}
			ac.Capacities[p.GTIN] = stations.Capacity{Case: p.CaseCapacity, Pallet: p.PalletCapacity}
		}
	}
	ac.SSCC = SSCCConfig(cfg.Line.SSCC)
	ac.Journal = &journal.Config{Site: cfg.EPCIS.Site, ReadPointExtension: cfg.EPCIS.ReadPoint,
		IDs: epcis.IDs{CompanyPrefixLength: cfg.EPCIS.CompanyPrefixLength}}
	if cfg.EPCIS.Identifiers == "urn" {
		ac.Journal.IDs.Syntax = epcis.URN
	}
	if e := cfg.EPCIS; e.CaptureURL != "" {
		ac.EPCIS = &cloud.CaptureConfig{URL: e.CaptureURL, Token: e.Token.Reveal(), Username: e.Username, Password: e.Password.Reveal(),
			Timeout: e.Timeout, CAFile: e.CAFile}
	}
	for _, st := range cfg.Line.Stations {
		sc := StationConfig{StationConfig: stations.StationConfig{Name: st.Name, Mode: st.Mode, Printer: st.Printer, Reason: st.Reason,
			SendToMarket: st.SendToMarket, Order: st.Order, CaseCapacity: st.CaseCapacity, PalletCapacity: st.PalletCapacity,
			IntegrationID: st.IntegrationID, SignOn: st.SignOn == nil || *st.SignOn}, Scanners: st.Scanners, Layout: st.Layout}
		if st.GS != "" {
			sc.GS = st.GS[0]
		}
		ac.Stations = append(ac.Stations, sc)
	}
	for _, t := range cfg.V2.Tokens {
		ac.Tokens[t.Name] = t.Token.Reveal()
	}
	for _, k := range cfg.V2.ChannelKeys {
		ac.ChannelKeys = append(ac.ChannelKeys, k.Reveal())
	}
	if cfg.Cloud.BaseURL != "" {
		ac.Cloud = &cloud.Config{BaseURL: cfg.Cloud.BaseURL, ChannelKey: cfg.Cloud.ChannelKey.Reveal(), Token: cfg.Cloud.Token.Reveal(),
			APIKey: cfg.Cloud.APIKey.Reveal(), APISecret: cfg.Cloud.APISecret.Reveal(), BearerToken: cfg.Cloud.Bearer,
			CAFile: cfg.Cloud.CAFile, Timeout: cfg.Cloud.Timeout}
		if sh := cfg.Cloud.Shipping; sh.BaseURL != "" {
			ac.Shipping = &cloud.ShippingConfig{BaseURL: sh.BaseURL, PublicKey: sh.PublicKey.Reveal(), SecretKey: sh.SecretKey.Reveal(),
				PartnerID: sh.PartnerID, Timeout: cfg.Cloud.Timeout, CAFile: cfg.Cloud.CAFile}
		}
	}
	return ac
}

// SSCCConfig maps the line's SSCC settings to the containers': the ranges
// and the low-water mark, a tenth of the ranges unless one is set.
func SSCCConfig(c config.SSCC) containers.SSCCConfig {
	sc := containers.SSCCConfig{CompanyPrefix: c.CompanyPrefix, Extension: c.Extension}
	for _, r := range c.Ranges {
		sc.Ranges = append(sc.Ranges, containers.Range{From: r.From, To: r.To})
	}
	sc.LowWater = containers.DefaultLowWater(sc.Ranges)
	if c.LowWater != nil {
		sc.LowWater = *c.LowWater
	}
	return sc
}

// SerialConfig maps the line's serial settings to the ledger's.
func SerialConfig(c config.Serials) ledger.SerialConfig {
	return ledger.SerialConfig{Generate: c.Generate, Length: c.Length, Alphabet: c.Alphabet, LowPool: c.LowPool, Prefix: c.Prefix}
}
