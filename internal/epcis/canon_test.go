package epcis

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCanonicalNumber(t *testing.T) {
	for in, want := range map[string]string{
		"1":                    "1",
		"1.0":                  "1",
		"200.5":                "200.5",
		"0.50":                 "0.5",
		"-0":                   "0",
		"+7":                   "7",
		".5":                   "0.5",
		"5.":                   "5",
		"1e3":                  "1000",
		"1E-7":                 "1e-07",
		"1_000":                "1000",
		"0042":                 "42", // a lot number that reads as a number is one, to the hash
		"1e22":                 "10000000000000000000000",
		"0.0001":               "0.0001",
		"0.00001":              "1e-05",
		"12345678901234567890": "12345678901234567168", // through a float64, as Python does
		"nan":                  "nan",
		"inf":                  "inf",
		"1e400":                "1e400",
		"abc":                  "abc",
		"1_":                   "1_",
		"_1":                   "_1",
		"1__0":                 "1__0",
		"e5":                   "e5",
		"1e":                   "1e",
		".":                    ".",
		"2020-01-01":           "2020-01-01",
		"0x10":                 "0x10",
		"":                     "",
	} {
		require.Equal(t, want, canonicalNumber(in), in)
	}
}

func TestPyRepr(t *testing.T) {
	for f, want := range map[float64]string{
		0.1: "0.1", 2.5: "2.5", 1e-5: "1e-05", 1.5e-7: "1.5e-07", 1e16: "1e+16", 1e15: "1000000000000000.0",
		123.456: "123.456", 0.0001: "0.0001", -2.25: "-2.25", 1e300: "1e+300", 0: "0.0",
	} {
		require.Equal(t, want, pyRepr(f), "%g", f)
	}
	require.Equal(t, "-0.0", pyRepr(math.Copysign(0, -1)))
	require.Equal(t, "200", pyNumber("200"))
	require.Equal(t, "200.0", pyNumber("200.0"))
	require.Equal(t, "0", pyNumber("-0"))
}

func TestCanonicalTime(t *testing.T) {
	for in, want := range map[string]string{
		"2005-04-03T20:33:31.116000-06:00": "2005-04-04T02:33:31.116Z",
		"2019-10-21T14:45:00Z":             "2019-10-21T14:45:00.000Z",
		"2023-02-02T11:04:03.1415Z":        "2023-02-02T11:04:03.142Z",
		"2023-02-02T11:04:03.1414Z":        "2023-02-02T11:04:03.141Z",
		"2023-02-02T11:04:03.1425Z":        "2023-02-02T11:04:03.143Z", // the 4th decimal 5 rounds up
		"2023-12-31T23:59:59.9995Z":        "2024-01-01T00:00:00.000Z",
		"2023-01-18T11:04:03.1234567Z":     "2023-01-18T11:04:03.123Z",
		"2020-03-04T11:00:30+01:00":        "2020-03-04T10:00:30.000Z",
		"2020-03-04T11:00:30.5+0530":       "2020-03-04T05:30:30.500Z",
		"2020-03-04 11:00:30":              "2020-03-04T11:00:30.000Z",
		"2020-03-04T11:00Z":                "2020-03-04T11:00:00.000Z",
		"not a time":                       "not a time",
		"2020-02-30T11:00:00Z":             "2020-02-30T11:00:00Z",
		"2020-13-01T11:00:00Z":             "2020-13-01T11:00:00Z",
	} {
		require.Equal(t, want, canonicalTime(in), in)
	}
}

func TestCanonicalDL(t *testing.T) {
	for in, want := range map[string]string{
		// EPC URIs
		"urn:epc:id:sgtin:4012345.011111.9876":                   "https://id.gs1.org/01/04012345111118/21/9876",
		"urn:epc:id:sgtin:0614141.812345.6789%2F%26%25%22!%3F()": "https://id.gs1.org/01/80614141123458/21/6789%2F%26%25%22%21%3F%28%29",
		"urn:epc:id:sgtin:415056789012.0.987654":                 "https://id.gs1.org/01/04150567890128/21/987654",
		"urn:epc:id:sscc:4012345.3111111111":                     "https://id.gs1.org/00/340123451111111111",
		"urn:epc:id:sgln:4012345.00005.122":                      "https://id.gs1.org/414/4012345000054/254/122",
		"urn:epc:id:sgln:4012345.00005.0":                        "https://id.gs1.org/414/4012345000054",
		"urn:epc:id:grai:4012345.00022.334455":                   "https://id.gs1.org/8003/04012345000221334455",
		"urn:epc:id:giai:4012345.ABC345":                         "https://id.gs1.org/8004/4012345ABC345",
		"urn:epc:id:gsrn:4012345.0000006765":                     "https://id.gs1.org/8018/401234500000067657",
		"urn:epc:id:gsrnp:4012345.0000000007":                    "https://id.gs1.org/8017/401234500000000074",
		"urn:epc:id:gdti:4012345.00009.PO-4711":                  "https://id.gs1.org/253/4012345000092PO-4711",
		"urn:epc:id:gdti:987659999999..9":                        "https://id.gs1.org/253/98765999999929",
		"urn:epc:id:cpi:0614141.11111111111111-A%23%2F.1234":     "https://id.gs1.org/8010/061414111111111111111-A%23%2F/8011/1234",
		"urn:epc:id:ginc:0614141.xyz47%2F11":                     "https://id.gs1.org/401/0614141xyz47%2F11",
		"urn:epc:id:gsin:4012345.222333444":                      "https://id.gs1.org/402/40123452223334442",
		"urn:epc:id:itip:4012345.011111.01.02.987":               "https://id.gs1.org/8006/040123451111180102/21/987",
		"urn:epc:id:upui:1234567.098765.51qIgY)%3C%26Jp3*j7'SDB": "https://id.gs1.org/01/01234567987651/235/51qIgY%29%3C%26Jp3%2Aj7'SDB",
		"urn:epc:id:pgln:4000001.00000":                          "https://id.gs1.org/417/4000001000005",
		"urn:epc:id:pgln:999999999999.":                          "https://id.gs1.org/417/9999999999994",
		"urn:epc:id:sgcn:4012345.67890.04711":                    "https://id.gs1.org/255/401234567890104711",
		"urn:epc:class:lgtin:4012345.012345.Lot987":              "https://id.gs1.org/01/04012345123456/10/Lot987",
		"urn:epc:idpat:sgtin:4012345.098765.*":                   "https://id.gs1.org/01/04012345987652",
		"urn:epc:idpat:grai:4012345.00022.*":                     "https://id.gs1.org/8003/04012345000221",
		"urn:epc:idpat:itip:4012345.011111.01.02.*":              "https://id.gs1.org/8006/040123451111180102",
		// Digital Links
		"https://id.gs1.org/gtin/09780345418913":                      "https://id.gs1.org/01/09780345418913",
		"https://example.com/gtin/09780345418913/21/765tz?abc=211121": "https://id.gs1.org/01/09780345418913/21/765tz",
		"http://id.gs1.org/01/9780345418913":                          "https://id.gs1.org/01/09780345418913",
		"https://id.gs1.org/01/04012345123456/10/L1/21/S1":            "https://id.gs1.org/01/04012345123456/21/S1",
		"https://id.gs1.org/01/04012345123456/22/V1/21/S1":            "https://id.gs1.org/01/04012345123456/21/S1",
		"https://id.gs1.org/01/04012345123456/22/V1":                  "https://id.gs1.org/01/04012345123456",
		"https://brand.example/a/b/414/4012345000054/254/122?x=1":     "https://id.gs1.org/414/4012345000054/254/122",
	} {
		got, ok := canonicalDL(in)
		require.True(t, ok, in)
		require.Equal(t, want, got, in)
	}
	for _, in := range []string{
		"https://id.gs1.org/01/04012345123456/21/A%2F1", // a percent-escape: left as written
		"https://id.gs1.org/01/0401234512345X",
		"urn:epc:id:sgtin:4012345.01111.9876", // 12 digits
		"urn:epc:id:sgtin:40123.0111111.9876", // prefix too short
		"urn:epc:id:sgtin:4012345.011111.A B", // space
		"urn:epc:id:sscc:4012345.311111111",
		"http://transaction.acme.com/po/12345678",
		"https://ref.gs1.org/cbv/BizStep-receiving",
		"geo:50.947573340894124,6.922120147375441",
		"urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6",
		"https://localhost/01/04012345123456", // no dot at all is no candidate
	} {
		_, ok := canonicalDL(in)
		require.False(t, ok, in)
	}
}

func TestCanonicalValue(t *testing.T) {
	require.Equal(t, "https://ref.gs1.org/cbv/BizStep-shipping", canonicalValue("urn:epcglobal:cbv:bizstep:shipping"))
	require.Equal(t, "https://ref.gs1.org/cbv/Disp-in_transit", canonicalValue("urn:epcglobal:cbv:disp:in_transit"))
	require.Equal(t, "https://ref.gs1.org/cbv/BTT-po", canonicalValue("urn:epcglobal:cbv:btt:po"))
	require.Equal(t, "urn:epcglobal:cbv:bt:4012345000009:ASN1", canonicalValue("urn:epcglobal:cbv:bt:4012345000009:ASN1"))
	require.Equal(t, "x", pyStrip(" \t\x1cx\u00a0\n"))
}

// FuzzCanonical: no value, wherever it stands in an event, makes the
// canonical form fail or vary.
func FuzzCanonical(f *testing.F) {
	for _, s := range []string{
		"urn:epc:id:sgtin:4012345.011111.9876", "urn:epc:id:sgln:4012345.00005.0", "urn:epc:idpat:itip:4012345.011111.01.02.*",
		"https://example.com/gtin/09780345418913/21/765tz?abc=1", "https://id.gs1.org/01/04012345123456/22/V1/21/S1",
		"https://id.gs1.org/01/04012345123456/10/L1/21/S1", "urn:epc:id:cpi:0614141.11111111111111-A%23%2F.1234",
		"2023-02-02T11:04:03.1415Z", "2023-12-31T23:59:59.9995+14:00", "1e3", "0042", "1_000", "-0", "nan", "receiving", "po",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, ts := canonicalValue(s), canonicalTime(s)
		if v2, ts2 := canonicalValue(s), canonicalTime(s); v2 != v || ts2 != ts {
			t.Fatal("not deterministic")
		}
		ev, err := json.Marshal(map[string]any{
			"type": "ObjectEvent", "eventTime": s, "eventTimeZoneOffset": "+00:00", "action": "OBSERVE",
			"epcList": []any{s, "urn:epc:id:sgtin:4012345.011111.9876"}, "bizStep": s, "disposition": s,
			"readPoint": map[string]any{"id": s, "ex:" + s: s}, "ex:f": []any{s, map[string]any{"ex:g": s}},
			"bizTransactionList": []any{map[string]any{"type": s, "bizTransaction": s}},
			"ilmd":               map[string]any{"cbvmda:lotNumber": s},
		})
		if err != nil {
			return
		}
		a, err := PreHash(ev, Namespaces{"ex": "https://ns.example.com/", "cbvmda": cbvMasterDataPrefix})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := PreHash(ev, Namespaces{"ex": "https://ns.example.com/", "cbvmda": cbvMasterDataPrefix})
		if a != b {
			t.Fatal("not deterministic")
		}
	})
}

// The short way for the agent's own Digital Links gives what the long way
// gives, and says no to what it must not take.
func TestCanonicalAlreadyAgreesWithTheLongWay(t *testing.T) {
	for _, uri := range []string{
		"https://id.gs1.org/01/09506000134352",
		"https://id.gs1.org/01/09506000134352/21/ABC123",
		"https://id.gs1.org/01/09506000134352/21/",
		"https://id.gs1.org/01/09506000134352/21/A%2FB",
		"https://id.gs1.org/01/09506000134352/21/A?B",
		"https://id.gs1.org/01/09506000134352/21/123456789012345678901",
		"https://id.gs1.org/01/09506000134352/21/12345678901234567890",
		"https://id.gs1.org/01/09506000134352/10/LOT/21/S",
		"https://id.gs1.org/01/9506000134352/21/S",
		"https://id.gs1.org/01/09506000134352/22/X",
		"https://id.gs1.org/00/095060000000000015",
		"https://id.gs1.org/00/09506000000000001",
		"https://id.gs1.org/414/9506000000008",
		"https://id.gs1.org/414/9506000000008/254/LINE-1",
		"https://id.gs1.org/414/9506000000008/254/",
		"https://id.gs1.org/414/9506000000008/254/L I",
		"https://id.gs1.org/gtin/09506000134352/ser/S",
		"https://example.com/01/09506000134352/21/S",
		"https://id.gs1.org/01/09506000134352/21/'\"-.;<=>_",
	} {
		fast := canonicalAlready(uri)
		got, ok := digitalLinkToCanonical(uri)
		if fast {
			require.True(t, ok, uri)
			require.Equal(t, uri, got, uri)
		}
		// The long way, with the short way out of the picture.
		slow, slowOK := digitalLinkCanonical(uri)
		require.Equal(t, slowOK, ok, uri)
		require.Equal(t, slow, got, uri)
	}
}

// The short way for the package's own times gives what the long way gives.
func TestCanonicalTimeShortWay(t *testing.T) {
	for _, s := range []string{"2026-12-01T10:00:00.001+01:00", "2026-12-01T10:00:00.999Z", "2026-12-31T23:59:59.500-05:30",
		"2024-02-29T00:00:00.000+00:00", "2026-12-01T10:00:00.001+0100", "2023-02-29T00:00:00.000Z", "2026-12-01T24:00:00.000Z"} {
		require.Equal(t, canonicalTimeLong(s), canonicalTime(s), s)
	}
}
