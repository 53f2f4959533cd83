// Package cloudsync delivers outbox items to the cloud: it turns each kind
// of item into the Manufacturer V2 call that reports it, batching serials,
// sends the EPCIS journal's events to an EPCIS 2.0 repository, and turns
// the answers into the queue's retry policy.
//
// Answers are told apart by their types (package cloud types the
// service's messages), never by their words. An answer about one serial or
// one child of a container decides for that one only: the rest of the
// request is sent again at once, without what is settled, until the cloud
// takes it or refuses it as a whole.
package cloudsync

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgeagent/edgeagent/internal/cloud"
	"github.com/edgeagent/edgeagent/internal/facts"
	"github.com/edgeagent/edgeagent/internal/queue"
)

// Sender implements queue.Sender with the Manufacturer V2 client and,
// for shipping labels, the shipping client.
type Sender struct {
	Client *cloud.Client
	// Shipping and Ship handle ship_label items; without them those items
	// wait.
	Shipping *cloud.Shipping
	Ship     ShipRecorder
	// ShipPoll is the pause between looks at a shipment whose label is not
	// ready (default 2s).
	ShipPoll time.Duration
	// EPCIS sends epcis_event items to an EPCIS repository; without it
	// those items wait.
	EPCIS *cloud.Capture
	// EPCISPoll is the pause between looks at a capture job still running
	// (default 500ms); EPCISWait bounds how long one job is waited for
	// before its events go again later (default 2m).
	EPCISPoll time.Duration
	EPCISWait time.Duration

	settled settled
	// epcisMax is the most events a document may hold, learned from the
	// repository refusing larger ones as too large without saying its
	// limit; 0 until then.
	epcisMax atomic.Int64
}

// settled remembers, per aggregation item still open, the children the
// cloud said are already where the item puts them, so that the attempt
// after a failure starts from what is left rather than from the whole
// list: a pallet of sixty cases whose first request was applied but
// unanswered would otherwise need sixty answers in a row without a fault.
// It is a hint held in memory; after a restart the cloud's answers name
// the children again.
type settled struct {
	mu sync.Mutex
	m  map[int64]map[string]bool // item → children settled
}

// maxSettled bounds the items remembered; past it the memory starts over.
const maxSettled = 10000

func (s *settled) get(id int64) map[string]bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.m[id])
}

func (s *settled) add(id int64, child string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil || len(s.m) >= maxSettled {
		s.m = map[int64]map[string]bool{}
	}
	if s.m[id] == nil {
		s.m[id] = map[string]bool{}
	}
	s.m[id][child] = true
}

func (s *settled) forget(id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, id)
}

// ShipRecorder keeps what became of each shipping order, durably, before
// the outbox item is marked delivered.
type ShipRecorder interface {
	// ShipmentOf is the shipment made for the order before ("" if none).
	ShipmentOf(ctx context.Context, id int64) (string, error)
	ShipRequested(ctx context.Context, id int64, shipment string) error
	// ShipLabelled stores the label and hands it to the station's printer.
	ShipLabelled(ctx context.Context, id int64, zpl []byte) error
	ShipFailed(ctx context.Context, id int64, detail string) error
}

// Send delivers one batch.
func (s *Sender) Send(ctx context.Context, kind string, items []queue.Pending) []queue.Outcome {
	out := make([]queue.Outcome, len(items))
	switch kind {
	case facts.KindCommission, facts.KindDecommission:
		return s.serials(ctx, kind, items)
	case facts.KindAggregate, facts.KindDisaggregate:
		for i, p := range items {
			var a cloud.Aggregation
			if err := json.Unmarshal(p.Payload, &a); err != nil {
				out[i].Failure = permanent("payload: " + err.Error())
				continue
			}
			out[i] = s.aggregation(ctx, kind, p.ID, a)
		}
		return out
	case facts.KindPackagingOrder:
		for i, p := range items {
			var o cloud.PackagingOrder
			if err := json.Unmarshal(p.Payload, &o); err != nil {
				out[i].Failure = permanent("payload: " + err.Error())
				continue
			}
			out[i] = order(withResend(ctx, func() error { _, err := s.Client.CreatePackagingOrder(ctx, o); return err }))
		}
		return out
	case facts.KindShipLabel:
		return s.ship(ctx, items)
	case facts.KindEPCIS:
		return s.epcisEvents(ctx, items)
	case facts.KindLabelOrder:
		for i, p := range items {
			var o cloud.LabelOrder
			if err := json.Unmarshal(p.Payload, &o); err != nil {
				out[i].Failure = permanent("payload: " + err.Error())
				continue
			}
			out[i] = order(withResend(ctx, func() error { _, err := s.Client.CreateLabelOrder(ctx, o); return err }))
		}
		return out
	}
	return fill(out, permanent("unknown kind "+kind))
}

// withResend makes a call, and makes it once more at once when the request
// went out and no answer came (a dropped connection, not a timeout): the
// cloud may have applied it, and the second answer ("already done",
// "already exists", "already aggregated in" the same container) says so.
// A timeout is left to the queue's backoff, not to add load to a slow
// service; the next attempt settles it the same way.
func withResend(ctx context.Context, call func() error) error {
	err := call()
	var ce *cloud.Error
	if errors.As(err, &ce) && ce.Ambiguous && !ce.Timeout && ctx.Err() == nil {
		err = call()
	}
	return err
}

// serials commissions or decommissions a batch of serials in one request.
// An answer naming serials settles each of them: in the state the call
// wanted, it is delivered; refused for itself (not found, still in a
// container, decommissioned before its commission), it is parked. The
// rest goes again at once, so a batch costs one request more than the
// answers it takes to name what was done; the cloud lists every serial a
// commission refused in one answer.
func (s *Sender) serials(ctx context.Context, kind string, items []queue.Pending) []queue.Outcome {
	out := make([]queue.Outcome, len(items))
	sf, errs := serialFacts(items)
	index := make(map[string]int, len(items)) // serial → item; the natural key makes serials unique in a batch
	var rest []int
	for i := range items {
		if errs[i] != nil {
			out[i].Failure = permanent("payload: " + errs[i].Error())
			continue
		}
		index[sf[i].Serial] = i
		rest = append(rest, i)
	}
	want := cloud.StateCommissioned
	if kind == facts.KindDecommission {
		want = cloud.StateDecommissioned
	}
	for len(rest) > 0 {
		if ctx.Err() != nil {
			fillIdx(out, rest, &queue.Failure{Class: queue.Again, Message: ctx.Err().Error()})
			break
		}
		serials := make([]string, len(rest))
		for k, i := range rest {
			serials[k] = sf[i].Serial
		}
		err := withResend(ctx, func() error { return s.serialCall(ctx, kind, sf[rest[0]], serials) })
		if err == nil {
			fillIdx(out, rest, nil)
			break
		}
		settled := settleSerials(err, kind, want, index, out)
		if settled == 0 {
			// About the request as a whole (a token, the product, the
			// batch, the service down): every item alike.
			fillIdx(out, rest, classify(err))
			break
		}
		next := rest[:0]
		for _, i := range rest {
			if !out[i].Delivered && out[i].Failure == nil {
				next = append(next, i)
			}
		}
		rest = next
	}
	return out
}

// serialFacts decodes the payloads of a batch of serial items, as
// json.Unmarshal does, with an error for each payload it refuses. The
// items of a batch share their batch key, and their payloads are written
// by encoding/json: each is the first one with another serial. A payload
// that is the first one's byte for byte but for the serial's value, that
// value plain printable ASCII (nothing a JSON string escapes), has the
// first one's fields with that serial, as parsing it would find; it is
// taken as such, and the drain of a long outbox does not parse a million
// objects. Any other payload is parsed.
func serialFacts(items []queue.Pending) ([]facts.SerialFact, []error) {
	sf := make([]facts.SerialFact, len(items))
	errs := make([]error, len(items))
	var shape *serialShape // of the first payload parsed; nil if it has none
	shaped := false
	for i, p := range items {
		if shape != nil {
			if s, ok := shape.serial(p.Payload); ok {
				sf[i] = shape.fact
				sf[i].Serial = s
				continue
			}
		}
		if errs[i] = json.Unmarshal(p.Payload, &sf[i]); errs[i] == nil && !shaped {
			shape, shaped = newSerialShape(p.Payload, sf[i]), true
		}
	}
	return sf, errs
}

// serialShape is a serial item's payload around its serial's value.
type serialShape struct {
	prefix, suffix []byte
	fact           facts.SerialFact
}

// newSerialShape returns the shape of payload, which decoded to f, or nil
// when payload is not what encoding/json writes for f.
func newSerialShape(payload []byte, f facts.SerialFact) *serialShape {
	// Two serials one letter apart: what encoding/json writes for them
	// differs in that byte only, the serial's value, and is the same
	// before and after it.
	a, b := f, f
	a.Serial, b.Serial = "a", "b"
	ma, errA := json.Marshal(a)
	mb, errB := json.Marshal(b)
	if errA != nil || errB != nil || len(ma) != len(mb) {
		return nil
	}
	at := 0
	for at < len(ma) && ma[at] == mb[at] {
		at++
	}
	if at == len(ma) || !bytes.Equal(ma[at+1:], mb[at+1:]) {
		return nil
	}
	sh := &serialShape{prefix: ma[:at], suffix: ma[at+1:], fact: f}
	if s, ok := sh.serial(payload); !ok || s != f.Serial {
		return nil // written otherwise (spaces, another order, escapes)
	}
	sh.fact.Serial = ""
	return sh
}

// serial returns the serial of a payload of the shape.
func (sh *serialShape) serial(payload []byte) (string, bool) {
	if len(payload) <= len(sh.prefix)+len(sh.suffix) || !bytes.HasPrefix(payload, sh.prefix) || !bytes.HasSuffix(payload, sh.suffix) {
		return "", false
	}
	v := payload[len(sh.prefix) : len(payload)-len(sh.suffix)]
	for _, c := range v {
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			return "", false
		}
	}
	return string(v), true
}

// serialCall sends one commission or decommission of serials; f holds the
// fields the batch shares (its batch key).
func (s *Sender) serialCall(ctx context.Context, kind string, f facts.SerialFact, serials []string) error {
	if kind == facts.KindCommission {
		_, err := s.Client.Commission(ctx, cloud.Commission{ProductCode: f.ProductCode, ProductCodeSchema: "GTIN",
			Batch: f.Batch, ExpiryDate: f.ExpiryDate, Serials: serials})
		return err
	}
	stm := f.SendToMarket
	_, err := s.Client.Decommission(ctx, cloud.Decommission{ProductCode: f.ProductCode, ProductCodeSchema: "GTIN",
		Reason: f.Reason, SendToMarket: &stm, MarketID: f.MarketID, Serials: serials})
	return err
}

// settleSerials records the outcome of each serial still open that the
// answer names, and returns how many it settled.
func settleSerials(err error, kind, want string, index map[string]int, out []queue.Outcome) int {
	n := 0
	settle := func(serial string, o queue.Outcome) {
		if i, ok := index[serial]; ok && !out[i].Delivered && out[i].Failure == nil {
			out[i] = o
			n++
		}
	}
	var done *cloud.AlreadyDoneError
	var in *cloud.InContainerError
	var named *cloud.NamedError
	switch {
	case errors.As(err, &done):
		for _, st := range done.Serials() {
			if st.Status == want {
				settle(st.SerialNumber, queue.Outcome{Delivered: true})
			} else {
				refusal := &cloud.AlreadyDoneError{Serial: st.SerialNumber, State: st.Status}
				settle(st.SerialNumber, queue.Outcome{Failure: permanent("cloud " + kind + ": " + refusal.Error())})
			}
		}
	case errors.As(err, &in):
		settle(in.Serial, queue.Outcome{Failure: permanent("cloud " + kind + ": " + in.Error())})
	case errors.As(err, &named) && named.What == "Serial" && named.Name != "":
		settle(named.Name, queue.Outcome{Failure: permanent("cloud " + kind + ": " + named.Error())})
	}
	return n
}

// aggregation puts children in a container, or takes them out, deciding
// per child: a child already where the call would put it is done and is
// left out of the request, which goes again with the rest; a child in
// another container is a real refusal, and the item is parked with the
// cloud's words. The item is delivered when the cloud has taken what was
// left.
func (s *Sender) aggregation(ctx context.Context, kind string, id int64, a cloud.Aggregation) queue.Outcome {
	trimmed := false // children left out as settled
	for child := range s.settled.get(id) {
		a, _ = without(a, child, true)
		a, _ = without(a, child, false)
		trimmed = true
	}
	for {
		if ctx.Err() != nil {
			return queue.Outcome{Failure: &queue.Failure{Class: queue.Again, Message: ctx.Err().Error()}}
		}
		if trimmed && len(a.ChildTradeItems)+len(a.ChildContainers) == 0 {
			s.settled.forget(id)
			return queue.Outcome{Delivered: true} // every child was where it belongs
		}
		err := withResend(ctx, func() error {
			var err error
			if kind == facts.KindAggregate {
				_, err = s.Client.Aggregate(ctx, a)
			} else {
				_, err = s.Client.Disaggregate(ctx, a)
			}
			return err
		})
		if err == nil {
			s.settled.forget(id)
			return queue.Outcome{Delivered: true}
		}
		var in *cloud.AlreadyAggregatedError
		var out *cloud.NotInContainerError
		var dropped bool
		var child string
		switch {
		case kind == facts.KindAggregate && errors.As(err, &in) && in.Parent != a.Parent:
			s.settled.forget(id)
			return queue.Outcome{Failure: permanent(fmt.Sprintf("cloud aggregate %s: %s", a.Parent, in.Error()))}
		case kind == facts.KindAggregate && errors.As(err, &in):
			a, dropped = without(a, in.Child, in.Container)
			child = in.Child
		case kind == facts.KindDisaggregate && errors.As(err, &out) && out.Parent == a.Parent:
			a, dropped = without(a, out.Child, out.Container)
			child = out.Child
		}
		if !dropped {
			f := classify(err)
			if f.Class == queue.Permanent {
				s.settled.forget(id)
			}
			return queue.Outcome{Failure: f}
		}
		s.settled.add(id, child)
		trimmed = true
	}
}

// without returns the aggregation less one child, and whether it held it.
func without(a cloud.Aggregation, child string, container bool) (cloud.Aggregation, bool) {
	dropped := false
	if container {
		var kept []string
		for _, c := range a.ChildContainers {
			if c == child && !dropped {
				dropped = true
				continue
			}
			kept = append(kept, c)
		}
		a.ChildContainers = kept
		return a, dropped
	}
	var kept []cloud.TradeItem
	for _, c := range a.ChildTradeItems {
		if c.SerialNumber == child && !dropped {
			dropped = true
			continue
		}
		kept = append(kept, c)
	}
	a.ChildTradeItems = kept
	return a, dropped
}

// order is the outcome of creating a label or packaging order: "already
// exists" means an earlier attempt of ours made it (the order id is the
// natural key of the item).
func order(err error) queue.Outcome {
	if err == nil || errors.Is(err, cloud.ErrExists) {
		return queue.Outcome{Delivered: true}
	}
	return queue.Outcome{Failure: classify(err)}
}

func fill(out []queue.Outcome, f *queue.Failure) []queue.Outcome {
	for i := range out {
		if f == nil {
			out[i].Delivered = true
		} else {
			out[i].Failure = f
		}
	}
	return out
}

// fillIdx gives the items at idx one outcome: delivered when f is nil.
func fillIdx(out []queue.Outcome, idx []int, f *queue.Failure) {
	for _, i := range idx {
		out[i] = queue.Outcome{Delivered: f == nil, Failure: f}
	}
}

func permanent(msg string) *queue.Failure {
	return &queue.Failure{Class: queue.Permanent, Message: msg}
}

// classify maps a failure of a whole request to the retry policy.
func classify(err error) *queue.Failure {
	var ce *cloud.Error
	var fe *cloud.FieldError
	switch {
	case errors.As(err, &fe):
		return permanent(fe.Error())
	case errors.Is(err, context.Canceled):
		return &queue.Failure{Class: queue.Again, Message: err.Error()}
	case errors.As(err, &ce) && (ce.Status == http.StatusUnauthorized || errors.Is(err, cloud.ErrChannel)):
		// The token or the channel key: the configuration, not the items.
		return &queue.Failure{Class: queue.Auth, Message: ce.Error()}
	case errors.As(err, &ce) && ce.Retryable:
		return &queue.Failure{Class: queue.Temporary, RetryAfter: ce.RetryAfter, Message: ce.Error()}
	case errors.As(err, &ce):
		return permanent(ce.Error())
	}
	return &queue.Failure{Class: queue.Temporary, Message: err.Error()}
}
