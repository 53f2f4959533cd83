package main

import (
	"context"
	"net"
	"net/http"
	"time"

	"github.com/edgeagent/edgeagent/internal/cloud/cloudsim"
	"github.com/edgeagent/edgeagent/internal/epcissim"
	"github.com/edgeagent/edgeagent/internal/logging"
)

func cmdEmulateCloud(e env) error {
	fs := flags(e, "emulate cloud", "--listen ADDR [--seed FILE] [--faults SPEC] [--epcis ADDR]",
		"Run an emulator of the Manufacturer V2 API (under /v1/manufacturer/v2/api, auth at /v1/api_auth) and of the\n"+
			"shipping-label API (under /api/v3) on one HTTP port, with the tenant from a seed file (JSON) or a demo tenant.\n"+
			"SPEC is comma-separated: error=ENDPOINT:RATE, throttle=ENDPOINT:RATE, reset=ENDPOINT:RATE, retry-after=D,\n"+
			"latency=D, slow-body=D, token-ttl=D. GET /_sim/state shows what it received.\n"+
			"With --epcis, an EPCIS 2.0 repository (POST /capture, GET /capture/{id}, GET /events) listens on ADDR too,\n"+
			"without auth: its epcis.capture_url is http://ADDR.")
	listen := fs.String("listen", "127.0.0.1:8081", "address to listen on")
	epcisListen := fs.String("epcis", "", "also run an EPCIS repository emulator on this address")
	seedFile := fs.String("seed", "", "seed file (JSON); default: the demo tenant")
	faults := fs.String("faults", "", "fault spec")
	if pos, err := parseInterspersed(fs, e.args); err != nil {
		return err
	} else if len(pos) > 0 {
		return usageError{"no arguments expected"}
	}
	f, err := cloudsim.ParseFaults(*faults)
	if err != nil {
		return usageError{"--faults: " + err.Error()}
	}
	seed := cloudsim.DefaultSeed()
	if *seedFile != "" {
		if seed, err = cloudsim.LoadSeed(*seedFile); err != nil {
			return exitError{1, err}
		}
	}
	log, err := logging.New(e.stderr, "auto", "info")
	if err != nil {
		return err
	}
	sim, err := cloudsim.Start(cloudsim.Config{Listen: *listen, Seed: seed, Faults: f, Log: logging.Component(log, "cloudsim")})
	if err != nil {
		return exitError{1, err}
	}
	log.Info().Str("url", sim.URL()).Str("shipping", sim.ShippingURL()).Msg("cloud emulator listening")
	if *epcisListen != "" {
		ln, err := net.Listen("tcp", *epcisListen)
		if err != nil {
			sim.Close()
			return exitError{1, err}
		}
		repo := &http.Server{Handler: epcissim.New(epcissim.Options{}), ReadHeaderTimeout: 10 * time.Second}
		go repo.Serve(ln)
		defer func() {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			repo.Shutdown(ctx)
		}()
		log.Info().Str("capture_url", "http://"+ln.Addr().String()).Msg("EPCIS repository emulator listening")
	}
	<-e.ctx.Done()
	st := sim.Snapshot()
	log.Info().Interface("requests", st.Requests).Msg("cloud emulator stopping")
	return sim.Close()
}
