package epcis_test

import (
	"testing"

	"github.com/edgeagent/edgeagent/internal/epcis"
	"github.com/stretchr/testify/require"
)

func TestSGTIN(t *testing.T) {
	dl := epcis.IDs{}
	urn := epcis.IDs{Syntax: epcis.URN, CompanyPrefixLength: 7}
	for _, c := range []struct{ gtin, serial, dl, urn string }{
		{"04012345123456", "A1", "https://id.gs1.org/01/04012345123456/21/A1", "urn:epc:id:sgtin:4012345.012345.A1"},
		{"4012345123456", "A1", "https://id.gs1.org/01/04012345123456/21/A1", "urn:epc:id:sgtin:4012345.012345.A1"}, // GTIN-13
		{"14012345123453", "7", "https://id.gs1.org/01/14012345123453/21/7", "urn:epc:id:sgtin:4012345.112345.7"},   // indicator 1
		{"04012345123456", "AB/12", "https://id.gs1.org/01/04012345123456/21/AB%2F12", "urn:epc:id:sgtin:4012345.012345.AB%2F12"},
		{"04012345123456", `x"%&<>?`, "https://id.gs1.org/01/04012345123456/21/x%22%25%26%3C%3E%3F", "urn:epc:id:sgtin:4012345.012345.x%22%25%26%3C%3E%3F"},
		{"04012345123456", "a!'()*+,:;=", "https://id.gs1.org/01/04012345123456/21/a%21%27%28%29%2A%2B%2C%3A%3B%3D", "urn:epc:id:sgtin:4012345.012345.a!'()*+,:;="},
		{"04012345123456", "-._Zz09", "https://id.gs1.org/01/04012345123456/21/-._Zz09", "urn:epc:id:sgtin:4012345.012345.-._Zz09"},
	} {
		got, err := dl.SGTIN(c.gtin, c.serial)
		require.NoError(t, err, c.serial)
		require.Equal(t, c.dl, got)
		got, err = urn.SGTIN(c.gtin, c.serial)
		require.NoError(t, err, c.serial)
		require.Equal(t, c.urn, got)
	}
	// Other company prefix lengths move the dot.
	for n, want := range map[int]string{
		6:  "urn:epc:id:sgtin:401234.0512345.S",
		9:  "urn:epc:id:sgtin:401234512.0345.S",
		12: "urn:epc:id:sgtin:401234512345.0.S",
	} {
		got, err := epcis.IDs{Syntax: epcis.URN, CompanyPrefixLength: n}.SGTIN("04012345123456", "S")
		require.NoError(t, err)
		require.Equal(t, want, got)
	}
	for name, f := range map[string]func() error{
		"check digit":        func() error { _, err := dl.SGTIN("04012345123457", "A1"); return err },
		"GTIN length":        func() error { _, err := dl.SGTIN("0401234512345", "A1"); return err },
		"GTIN letters":       func() error { _, err := dl.SGTIN("0401234512345X", "A1"); return err },
		"empty serial":       func() error { _, err := dl.SGTIN("04012345123456", ""); return err },
		"long serial":        func() error { _, err := dl.SGTIN("04012345123456", "123456789012345678901"); return err },
		"serial space":       func() error { _, err := dl.SGTIN("04012345123456", "A 1"); return err },
		"URN without prefix": func() error { _, err := epcis.IDs{Syntax: epcis.URN}.SGTIN("04012345123456", "A1"); return err },
		"URN prefix 13": func() error {
			_, err := epcis.IDs{Syntax: epcis.URN, CompanyPrefixLength: 13}.SGTIN("04012345123456", "A1")
			return err
		},
	} {
		require.Error(t, f(), name)
	}
}

func TestSSCCAndSGLN(t *testing.T) {
	dl := epcis.IDs{}
	urn := epcis.IDs{Syntax: epcis.URN, CompanyPrefixLength: 7}
	got, err := dl.SSCC(testCase)
	require.NoError(t, err)
	require.Equal(t, "https://id.gs1.org/00/340123450000000017", got)
	got, err = urn.SSCC(testCase)
	require.NoError(t, err)
	require.Equal(t, "urn:epc:id:sscc:4012345.3000000001", got)
	for _, bad := range []string{"340123450000000018", "34012345000000001", "34012345000000001X"} {
		_, err := dl.SSCC(bad)
		require.Error(t, err, bad)
	}

	for _, c := range []struct{ ext, dl, urn string }{
		{"", "https://id.gs1.org/414/4012345000009", "urn:epc:id:sgln:4012345.00000.0"},
		{"0", "https://id.gs1.org/414/4012345000009", "urn:epc:id:sgln:4012345.00000.0"},
		{"LINE1", "https://id.gs1.org/414/4012345000009/254/LINE1", "urn:epc:id:sgln:4012345.00000.LINE1"},
		{"L/2", "https://id.gs1.org/414/4012345000009/254/L%2F2", "urn:epc:id:sgln:4012345.00000.L%2F2"},
	} {
		got, err := dl.SGLN(testGLN, c.ext)
		require.NoError(t, err)
		require.Equal(t, c.dl, got)
		got, err = urn.SGLN(testGLN, c.ext)
		require.NoError(t, err)
		require.Equal(t, c.urn, got)
	}
	for _, bad := range []string{"4012345000008", "401234500000", "40123450000090"} {
		_, err := dl.SGLN(bad, "")
		require.Error(t, err, bad)
	}
	_, err = dl.SGLN(testGLN, "LINE 1")
	require.Error(t, err)

	bt, err := epcis.BizTransactionID(testGLN, "SO/4711")
	require.NoError(t, err)
	require.Equal(t, "urn:epcglobal:cbv:bt:4012345000009:SO%2F4711", bt)
	_, err = epcis.BizTransactionID("4012345000008", "SO")
	require.Error(t, err)
	_, err = epcis.BizTransactionID(testGLN, "")
	require.Error(t, err)
}

// TestSyntaxesHashAlike: the same event with Digital Links or with EPC
// URNs has one event ID — the hash writes both as canonical Digital Links.
func TestSyntaxesHashAlike(t *testing.T) {
	dl, urn := allBuilders(t, epcis.DigitalLink), allBuilders(t, epcis.URN)
	require.Len(t, urn, len(dl))
	for i := range dl {
		require.Equal(t, dl[i].Common().EventID, urn[i].Common().EventID, "event %d (%s)", i, dl[i].Common().BizStep)
	}
	// Serial characters both syntaxes escape the same way hash alike too;
	// ' ; = are the exception (an EPC URN leaves them bare).
	for _, serial := range []string{"AB/12", "a!()*+,:", `x"%&<>?`} {
		evDL, err := lineFor(t, epcis.DigitalLink).Commission(at, []string{packIn(t, epcis.DigitalLink, serial)}, nil)
		require.NoError(t, err)
		evURN, err := lineFor(t, epcis.URN).Commission(at, []string{packIn(t, epcis.URN, serial)}, nil)
		require.NoError(t, err)
		require.Equal(t, evDL.EventID, evURN.EventID, serial)
	}
}
