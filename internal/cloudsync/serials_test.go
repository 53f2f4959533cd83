package cloudsync

import (
	"encoding/json"
	"testing"

	"github.com/edgeagent/edgeagent/internal/facts"
	"github.com/edgeagent/edgeagent/internal/queue"
)

// sameAsJSON checks that serialFacts finds in each payload what
// json.Unmarshal finds, and refuses what it refuses.
func sameAsJSON(t *testing.T, payloads ...[]byte) {
	t.Helper()
	items := make([]queue.Pending, len(payloads))
	for i, p := range payloads {
		items[i] = queue.Pending{ID: int64(i + 1), Kind: facts.KindCommission, Payload: p}
	}
	got, errs := serialFacts(items)
	for i, p := range payloads {
		var want facts.SerialFact
		err := json.Unmarshal(p, &want)
		if (err == nil) != (errs[i] == nil) {
			t.Fatalf("payload %d %q: error %v, json.Unmarshal's %v", i, p, errs[i], err)
		}
		if err == nil && got[i] != want {
			t.Fatalf("payload %d %q: %+v, json.Unmarshal finds %+v", i, p, got[i], want)
		}
	}
}

func payloadOf(t testing.TB, f facts.SerialFact) []byte {
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A batch's payloads are decoded as json.Unmarshal decodes them, whatever
// they hold: the ones written as the line writes them, and the ones that
// only look alike.
func TestSerialFactsAsJSON(t *testing.T) {
	base := facts.SerialFact{ProductCode: gtin, Batch: "AB12", ExpiryDate: "261231", Serial: "SN0001"}
	dec := facts.SerialFact{ProductCode: gtin, Serial: "SN0001", Reason: "Damaged", SendToMarket: true, MarketID: "DE"}
	with := func(f facts.SerialFact, serial string) []byte { f.Serial = serial; return payloadOf(t, f) }
	raw := func(s string) []byte { return []byte(s) }
	prefix := `{"product_code":"09506000134352","batch":"AB12","expiry_date":"261231","serial":"`
	for name, batch := range map[string][][]byte{
		"as the line writes them": {with(base, "SN0001"), with(base, "SN0002"), with(base, "!%&'()*+,-./:;<=>?_z"), with(base, "1")},
		"fields after the serial": {with(dec, "A1"), with(dec, "B2"), with(dec, "C3")},
		"another batch":           {with(base, "SN1"), payloadOf(t, facts.SerialFact{ProductCode: gtin, Batch: "XY12", ExpiryDate: "261231", Serial: "SN2"})},
		"an escape in the serial": {with(base, "SN1"), raw(prefix + `S\u004e2"}`), raw(prefix + `S\"N3"}`), raw(prefix + `S\\N4"}`)},
		"not ASCII":               {with(base, "SN1"), raw(prefix + "SNé\"}"), raw(prefix + "SN\x01\"}"), raw(prefix + "SN\xff\"}")},
		"a field hidden in it":    {with(base, "SN1"), raw(prefix + `SN2","reason":"Stolen"}`), raw(prefix + `SN3","serial":"OTHER"}`)},
		"broken or extended":      {with(base, "SN1"), raw(prefix + `SN2"`), raw(prefix + `SN3"} `), raw(prefix + `SN4"}}`), raw(prefix + `"}`), raw(prefix)},
		"spaces first":            {raw(`{"product_code": "09506000134352", "serial": "SN1"}`), with(base, "SN2")},
		"a first that is refused": {raw(`{"serial":`), with(base, "SN2"), with(base, "SN3")},
		"a first with an escape":  {with(base, "S<1"), with(base, "SN2")},
	} {
		t.Run(name, func(t *testing.T) { sameAsJSON(t, batch...) })
	}
}

// FuzzSerialFacts decodes a batch of a payload as encoding/json writes it,
// one with bytes in place of its serial and one of any bytes, against
// json.Unmarshal.
func FuzzSerialFacts(f *testing.F) {
	f.Add("AB12", "SN1", []byte("SN2"), []byte(`{"serial":"SN3"}`))
	f.Add("", "S\"1", []byte(`SN2","batch":"X`), []byte(`{}`))
	f.Add("AB12", "SN1", []byte(`\u0053N2`), []byte(`{"product_code":"09506000134352","batch":"AB12","expiry_date":"261231","serial":"SN4"}`))
	f.Fuzz(func(t *testing.T, batch, serial string, mid, other []byte) {
		first := payloadOf(t, facts.SerialFact{ProductCode: gtin, Batch: batch, ExpiryDate: "261231", Serial: serial})
		empty := payloadOf(t, facts.SerialFact{ProductCode: gtin, Batch: batch, ExpiryDate: "261231"}) // ends in "serial":""}
		second := append(append(append([]byte(nil), empty[:len(empty)-2]...), mid...), `"}`...)
		sameAsJSON(t, first, second, other)
	})
}
