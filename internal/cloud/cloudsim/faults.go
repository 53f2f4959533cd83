package cloudsim

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Faults make the emulator misbehave on purpose.
type Faults struct {
	ErrorRate  map[string]float64 // endpoint → share of requests answered 503
	Throttle   map[string]float64 // endpoint → share answered 429 with Retry-After
	Reset      map[string]float64 // endpoint → share applied, then the connection is reset (no answer)
	RetryAfter time.Duration      // Retry-After of throttled answers (default 1s)
	Latency    time.Duration      // added to every request
	SlowBody   time.Duration      // the answer body trickles out over this long
	TokenTTL   time.Duration      // dynamic tokens expire after this (default one day)
	// Seed makes the draws of which requests fail repeatable (0: random).
	Seed uint64
}

// Endpoint names used in fault specs: auth, label_orders, packaging_order,
// packaging_open, packaging_details, commission, decommission, aggregate,
// disaggregate, ship_create, ship_shipment, ship_label; "*" is every one.
var endpointNames = []string{"auth", "label_orders", "packaging_order", "packaging_open", "packaging_details", "commission",
	"decommission", "aggregate", "disaggregate", "ship_create", "ship_shipment", "ship_label", "*"}

// ParseFaults reads a fault spec: comma-separated items
//
//	error=ENDPOINT:RATE   throttle=ENDPOINT:RATE   reset=ENDPOINT:RATE
//	retry-after=2s  latency=50ms  slow-body=200ms  token-ttl=30s
func ParseFaults(spec string) (Faults, error) {
	f := Faults{ErrorRate: map[string]float64{}, Throttle: map[string]float64{}, Reset: map[string]float64{}}
	for _, item := range strings.Split(spec, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		k, v, ok := strings.Cut(item, "=")
		if !ok {
			return f, fmt.Errorf("fault %q: write name=value", item)
		}
		switch k {
		case "error", "throttle", "reset":
			ep, rate, ok := strings.Cut(v, ":")
			r, err := strconv.ParseFloat(rate, 64)
			if !ok || err != nil || r < 0 || r > 1 {
				return f, fmt.Errorf("fault %q: write %s=ENDPOINT:RATE with a rate from 0 to 1", item, k)
			}
			known := false
			for _, n := range endpointNames {
				known = known || n == ep
			}
			if !known {
				return f, fmt.Errorf("fault %q: endpoint %q must be one of %s", item, ep, strings.Join(endpointNames, ", "))
			}
			map[string]map[string]float64{"error": f.ErrorRate, "throttle": f.Throttle, "reset": f.Reset}[k][ep] = r
		case "retry-after", "latency", "slow-body", "token-ttl":
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 {
				return f, fmt.Errorf("fault %q: %q is not a duration", item, v)
			}
			switch k {
			case "retry-after":
				f.RetryAfter = d
			case "latency":
				f.Latency = d
			case "slow-body":
				f.SlowBody = d
			case "token-ttl":
				f.TokenTTL = d
			}
		default:
			return f, fmt.Errorf("fault %q: unknown fault %q (error, throttle, reset, retry-after, latency, slow-body, token-ttl)", item, k)
		}
	}
	return f, nil
}

func rateFor(m map[string]float64, ep string) float64 {
	if r, ok := m[ep]; ok {
		return r
	}
	return m["*"]
}
