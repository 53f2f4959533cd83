package config

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestTemplateIsValid(t *testing.T) {
	cfg, err := Parse(Template, env(map[string]string{"EDGEAGENT_TOKEN": "0123456789abcdef"}))
	require.NoError(t, err)
	require.NoError(t, cfg.Validate())
	require.Equal(t, "line-1", cfg.Line.Name)
	require.Equal(t, "/var/lib/edgeagent/edgeagent.db", cfg.Store.Path)
	require.Equal(t, 15*time.Second, cfg.ShutdownTimeout)
	require.Equal(t, "0123456789abcdef", cfg.HTTP.Token.Reveal())
}

func TestUnknownKeyIsAnError(t *testing.T) {
	_, err := Parse([]byte("line:\n  name: a\n  nmae: b\n"), env(nil))
	require.ErrorContains(t, err, "field nmae not found")
}

func TestUnsetEnvironmentVariable(t *testing.T) {
	_, err := Parse([]byte("http:\n  token: ${NOPE_TOKEN}\n"), env(nil))
	require.EqualError(t, err, "environment variable NOPE_TOKEN is not set (referenced as ${NOPE_TOKEN})")
}

func TestValidateNamesFieldAndRule(t *testing.T) {
	cfg, err := Parse([]byte(`
line: {name: ""}
log: {level: loud, format: xml}
http: {listen: "8080", token: short}
store: {group_commit_max_batch: 0}
shutdown_timeout: 1ms
`), env(nil))
	require.NoError(t, err)
	err = cfg.Validate()
	require.Error(t, err)
	for _, want := range []string{
		"line.name: is required",
		`log.level: must be one of debug, info, warn, error; got "loud"`,
		`log.format: must be one of auto, json, console; got "xml"`,
		`http.listen: must be host:port (for example 127.0.0.1:8080); got "8080"`,
		"http.token: is required and must be at least 16 characters",
		"store.group_commit_max_batch: must be 1 to 10000; got 0",
		"shutdown_timeout: must be 1s to 10m; got 1ms",
	} {
		require.ErrorContains(t, err, want)
	}
}

func TestSecretNeverPrints(t *testing.T) {
	s := Secret("super-secret-token-value")
	for _, out := range []string{fmt.Sprint(s), fmt.Sprintf("%v %s %#v %+v", s, s, s, s)} {
		require.NotContains(t, out, "super-secret")
	}
	cfg := Default()
	cfg.HTTP.Token = s
	b, err := json.Marshal(cfg)
	require.NoError(t, err)
	require.NotContains(t, string(b), "super-secret")
	require.Contains(t, fmt.Sprintf("%+v", cfg), "***")
	require.NotContains(t, fmt.Sprintf("%+v", cfg), "super-secret")
}

func TestWriteTemplate(t *testing.T) {
	p := filepath.Join(t.TempDir(), "sub", "edgeagent.yaml")
	require.NoError(t, WriteTemplate(p))
	st, err := os.Stat(p)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	dir, err := os.Stat(filepath.Dir(p))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), dir.Mode().Perm())
	require.ErrorContains(t, WriteTemplate(p), "already exists")
}

func TestEmptyFileGivesDefaults(t *testing.T) {
	cfg, err := Parse(nil, env(nil))
	require.NoError(t, err)
	require.Equal(t, Default().HTTP.Listen, cfg.HTTP.Listen)
}
