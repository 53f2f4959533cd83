package logging

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestJSONByDefaultOffTerminal(t *testing.T) {
	var buf bytes.Buffer
	log, err := New(&buf, "auto", "info")
	require.NoError(t, err)
	store := Component(log, "store")
	store.Info().Str("path", "x.db").Msg("opened")
	log.Debug().Msg("hidden at info")
	var line map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &line))
	require.Equal(t, "store", line["component"])
	require.Equal(t, "opened", line["message"])
	require.NotContains(t, buf.String(), "hidden")
}

func TestConsoleAndErrors(t *testing.T) {
	var buf bytes.Buffer
	log, err := New(&buf, "console", "debug")
	require.NoError(t, err)
	log.Debug().Msg("hello")
	require.Contains(t, buf.String(), "hello")
	require.NotContains(t, buf.String(), "{")
	_, err = New(&buf, "xml", "info")
	require.ErrorContains(t, err, "log format")
	_, err = New(&buf, "json", "loud")
	require.ErrorContains(t, err, "log level")
}

func TestJournaldFormat(t *testing.T) {
	var buf bytes.Buffer
	log, err := New(&buf, "journald", "debug")
	require.NoError(t, err)
	log.Info().Str("printer", "p1").Msg("printer ready")
	log.Warn().Msg("media out")
	log.Error().Msg("cannot print")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	require.Len(t, lines, 3)
	assert.Equal(t, "<6>INF printer ready printer=p1", lines[0])
	assert.Equal(t, "<4>WRN media out", lines[1])
	assert.Equal(t, "<3>ERR cannot print", lines[2])
}
