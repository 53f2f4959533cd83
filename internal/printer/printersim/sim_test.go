package printersim_test

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/printer"
	"github.com/edgeagent/edgeagent/internal/printer/printersim"
	"github.com/edgeagent/edgeagent/internal/testutil"
)

func start(t *testing.T, cfg printersim.Config) *printersim.Sim {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	cfg.Listener = ln
	s, err := printersim.Start(cfg, zerolog.Nop())
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

func dial(t *testing.T, s *printersim.Sim) *printer.Conn {
	t.Helper()
	tr, err := printer.Open(context.Background(), s.URL(), printer.Options{})
	require.NoError(t, err)
	c := printer.NewConn(tr, 300*time.Millisecond)
	t.Cleanup(func() { c.Close() })
	return c
}

func TestAnswersLikeAZebra(t *testing.T) {
	s := start(t, printersim.Config{DPMM: 12})
	c := dial(t, s)
	ctx := context.Background()
	id, err := c.HostID(ctx)
	require.NoError(t, err)
	assert.Equal(t, printer.HostID{Model: "ZT411-300dpi", Version: "V92.21.39Z", DPMM: 12, Memory: "8192KB"}, id)
	require.NoError(t, c.CheckZPL(ctx))
	n, ok, err := c.Odometer(ctx)
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Zero(t, n)
	v, err := c.GetVar(ctx, "no.such.var")
	require.NoError(t, err)
	assert.Equal(t, "?", v)

	require.NoError(t, c.Send(ctx, []byte("^XA^FO10,10^A0N,30^FDone^FS^XZ\r\n^XA^FO10,10^A0N,30^FDtwo^FS^XZ")))
	require.NoError(t, s.WaitPrinted(ctx, 2))
	assert.Equal(t, "^XA^FO10,10^A0N,30^FDone^FS^XZ", string(s.Printed()[0].ZPL))
	hs, err := c.HostStatus(ctx)
	require.NoError(t, err)
	assert.True(t, hs.Idle())
	n, _, _ = c.Odometer(ctx)
	assert.Equal(t, int64(2), n)

	// Media out: ~HS goes silent, ~HQES tells why.
	s.SetFault(printersim.MediaOut, true)
	_, err = c.HostStatus(ctx)
	require.ErrorIs(t, err, printer.ErrNoAnswer)
	ext, err := c.ExtendedStatus(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"media out"}, ext.Faults())
	require.NoError(t, c.Send(ctx, []byte("^XA^FDthree^FS^XZ")))
	time.Sleep(50 * time.Millisecond)
	assert.Len(t, s.Printed(), 2, "nothing prints while media is out")
	s.SetFault(printersim.MediaOut, false)
	require.NoError(t, s.WaitPrinted(ctx, 3))

	s.SetFault(printersim.Pause, true)
	hs, err = c.HostStatus(ctx)
	require.NoError(t, err)
	assert.True(t, hs.Paused, "a paused printer still answers ~HS")
}

func TestStoresLabelsAndPreviews(t *testing.T) {
	dir := t.TempDir()
	s := start(t, printersim.Config{OutDir: dir, PNG: true})
	c := dial(t, s)
	require.NoError(t, c.Send(context.Background(), []byte("^XA^PW300^LL200^FO40,40^BCN,80,N,N,N^FDSN123^FS^XZ")))
	require.NoError(t, s.WaitPrinted(context.Background(), 1))
	require.Eventually(t, func() bool { _, err := os.Stat(filepath.Join(dir, "label-000001.png")); return err == nil }, 2*time.Second, 10*time.Millisecond)
	zplData, err := os.ReadFile(filepath.Join(dir, "label-000001.zpl"))
	require.NoError(t, err)
	assert.Contains(t, string(zplData), "SN123")
	info, err := os.Stat(filepath.Join(dir, "label-000001.zpl"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	img := testutil.ReadPNG(t, filepath.Join(dir, "label-000001.png"))
	d, err := testutil.Decode(img, testutil.Code128)
	require.NoError(t, err)
	assert.Equal(t, "SN123", d.Text)
}

func TestSpeedAndBuffer(t *testing.T) {
	s := start(t, printersim.Config{Speed: 50, Buffer: 2})
	c := dial(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	begin := time.Now()
	for i := 0; i < 5; i++ {
		require.NoError(t, c.Send(ctx, []byte("^XA^FDx^FS^XZ")))
	}
	require.NoError(t, s.WaitPrinted(ctx, 5))
	assert.GreaterOrEqual(t, time.Since(begin), 90*time.Millisecond, "5 labels at 50 per second")
}

func TestParseFaults(t *testing.T) {
	f, err := printersim.ParseFaults("media-out@7/2s, head-open@12/500ms,drop@15,refuse/1s,pause@3")
	require.NoError(t, err)
	assert.Equal(t, []printersim.Fault{
		{Kind: printersim.MediaOut, After: 7, For: 2 * time.Second},
		{Kind: printersim.HeadOpen, After: 12, For: 500 * time.Millisecond},
		{Kind: printersim.Drop, After: 15},
		{Kind: printersim.Refuse, For: time.Second},
		{Kind: printersim.Pause, After: 3},
	}, f)
	for spec, want := range map[string]string{
		"paper-jam@1":   "kind must be",
		"media-out@x":   `"x" must be a label count`,
		"media-out@1/x": `duration "x"`,
		"refuse":        "refuse needs a duration",
	} {
		_, err := printersim.ParseFaults(spec)
		assert.ErrorContains(t, err, want, spec)
	}
	_, err = printersim.Start(printersim.Config{Listen: "127.0.0.1:0", Speed: -1}, zerolog.Nop())
	require.Error(t, err)
	require.False(t, errors.Is(err, context.Canceled))
}

func TestMenuLanguageAndRestart(t *testing.T) {
	s := start(t, printersim.Config{})
	c := dial(t, s)
	ctx := context.Background()
	require.NoError(t, c.CheckZPL(ctx))

	s.SetLanguage("line_print")
	require.ErrorIs(t, c.CheckZPL(ctx), printer.ErrNotZPL)

	// A restart ends the connection; the next one is served.
	s.Disconnect()
	_, err := c.HostID(ctx)
	require.Error(t, err, "the old connection is gone")
	s.SetLanguage("zpl")
	c2 := dial(t, s)
	require.NoError(t, c2.CheckZPL(ctx))
	assert.Equal(t, 2, s.Connections())
}
