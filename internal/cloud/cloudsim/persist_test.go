package cloudsim

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/cloud"
)

func TestSaveAndLoadKeepState(t *testing.T) {
	s := New(Config{Seed: DefaultSeed()})
	st, _ := s.commission(nil, nil, []byte(`{"product_code":"09506000134352","product_code_schema":"GTIN","batch":"AB12","serials":["A1","A2"]}`))
	require.Equal(t, 200, st)
	st, _ = s.aggregate(nil, nil, []byte(`{"parent":"095060001343521236","child_trade_items":[{"product_code":"09506000134352","product_code_schema":"GTIN","serial_number":"A1"}]}`))
	require.Equal(t, 200, st)
	path := filepath.Join(t.TempDir(), "cloud.json")
	require.NoError(t, s.Save(path))

	s2 := New(Config{Seed: DefaultSeed()})
	require.NoError(t, s2.Load(path))
	status, parent := s2.SerialStatus("09506000134352", "A1")
	require.Equal(t, "Commissioned", status)
	require.Equal(t, "095060001343521236", parent)
	require.Equal(t, map[string][]string{"095060001343521236": {"09506000134352/A1"}}, s2.Containers())
	st, body := s2.commission(nil, nil, []byte(`{"product_code":"09506000134352","product_code_schema":"GTIN","batch":"AB12","serials":["A2"]}`))
	require.Equal(t, 409, st, "a serial commissioned before the restart stays commissioned")
	require.Equal(t, "Serial A2 is already Commissioned", body.(serialsRefused).Message)
	require.Equal(t, []cloud.SerialStatus{{SerialNumber: "A2", Status: "Commissioned"}}, body.(serialsRefused).Data)
	require.NoError(t, New(Config{}).Load(filepath.Join(t.TempDir(), "missing.json")), "no state yet is an empty state")
}
