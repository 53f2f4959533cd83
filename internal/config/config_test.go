package config

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
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
	require.EqualError(t, err, "line.nmae: is not a known setting; did you mean name? (line 3)")
}

// Every decoding fault is reported, each naming the setting by its path in
// the file and the rule in words, never a Go type.
func TestDecodeFaultsNameTheSettingAndTheRule(t *testing.T) {
	_, err := Parse([]byte(`log:
  formt: json
shutdown_timeout: soon
line:
  name: a
  serials:
    length: many
  printers:
    - tag: p1
      url: tcp://h:9100
      speed: 3
http:
  listen: [1, 2]
`), env(nil))
	var f *Faults
	require.ErrorAs(t, err, &f)
	assert.Equal(t, []string{
		"log.formt: is not a known setting; did you mean format? (line 2)",
		`shutdown_timeout: must be a duration (for example 500ms, 30s or 5m), not "soon" (line 3)`,
		`line.serials.length: must be a whole number, not "many" (line 7)`,
		"line.printers[0].speed: is not a known setting (line 11)",
		"http.listen: must be text, not a list (line 13)",
	}, f.List)
	for _, l := range f.List {
		assert.NotRegexp(t, `config\.|time\.Duration|!!`, l, "no Go type or YAML tag in the message")
	}
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
		`log.format: must be one of auto, json, console, journald; got "xml"`,
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

func TestStationsAreChecked(t *testing.T) {
	cfg, err := Parse([]byte(`
line:
  name: l
  printers: [{tag: p, url: "tcp://127.0.0.1:9100"}]
  sscc: {company_prefix: "95x", extension: 12}
  products: [{gtin: "09506000134352", case_capacity: -1}]
  stations:
    - {name: a, mode: sorting}
    - {name: a, mode: decommission, reason: shred}
    - {name: "b c", printer: q, scanners: ["/dev/ttyACM0"], layout: jp, gs: "ab"}
    - {name: s, mode: ship}
http: {listen: "127.0.0.1:8080", token: 0123456789abcdef}
`), env(nil))
	require.NoError(t, err)
	err = cfg.Validate()
	for _, want := range []string{
		`line.sscc.company_prefix: must be 4-12 digits; got "95x"`,
		"line.sscc.extension: must be a digit 0-9; got 12",
		"line.products[0]: case_capacity and pallet_capacity must not be negative",
		`line.stations[0].mode: must be case, pallet, decommission or ship; got "sorting"`,
		`line.stations[1].name: "a" is given twice`,
		`line.stations[1].reason: must be destroy, sample, free_sample, check_out, lock or export; got "shred"`,
		`line.stations[2].name: must not contain / ? # % or spaces; got "b c"`,
		`line.stations[2].printer: "q" is not the tag of a line.printers entry`,
		`line.stations[2].scanners[0]: must be serial://, tcp://, tcp-listen://, hidpos://, evdev:// or stdin; got "/dev/ttyACM0"`,
		`line.stations[2].layout: must be us, de, fr or uk; got "jp"`,
		`line.stations[2].gs: must be one printable ASCII character; got "ab"`,
		"line.stations[3].integration_id: is required for a ship station",
		"line.stations[3].mode: ship needs cloud.shipping.base_url",
	} {
		require.ErrorContains(t, err, want)
	}
}

// FuzzParse: any file gives a configuration or an error naming the
// problem, never a panic, and its inline secrets can be listed; a
// configuration that validates can be written out and read back.
func FuzzParse(f *testing.F) {
	f.Add(Template)
	f.Add([]byte("line: {name: a, stations: [{name: s, mode: ship}]}\nhttp: {listen: \"127.0.0.1:1\", token: 0123456789abcdef}\n"))
	f.Add([]byte("store: {max_pages: -1}\nlog: {level: loud}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = inlineSecrets(data) // the mode check reads every file as written
		cfg, err := Parse(data, env(map[string]string{"EDGEAGENT_TOKEN": "0123456789abcdef"}))
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an error without a message")
			}
			return
		}
		if err := cfg.Validate(); err != nil && err.Error() == "" {
			t.Fatal("a validation error without a message")
		}
	})
}

// The cloud and shipping services are sent the line's secrets: https, or
// plain http to this machine only, told by the host itself and not by how
// the URL begins.
func TestServiceURLPlainHTTPOnlyToThisMachine(t *testing.T) {
	for raw, ok := range map[string]bool{
		"https://api.movilitas.cloud":        true,
		"https://api.movilitas.cloud:8443/":  true,
		"http://localhost:8081":              true,
		"http://LOCALHOST:8081/v1":           true,
		"http://127.0.0.1:8081":              true,
		"http://127.0.0.2":                   true, // all of 127.0.0.0/8 is this machine
		"http://[::1]:8080":                  true,
		"http://localhost.evil.example":      false, // begins like localhost, is another host
		"http://localhost@evil.example":      false, // the host is evil.example
		"http://127.0.0.1@evil.example":      false,
		"http://127.0.0.1.nip.io":            false, // a public name that resolves to 127.0.0.1
		"http://127.0.0.1:8081@evil.example": false,
		"https://user:pass@api.example":      false, // credentials go in the secret fields
		"http://10.0.7.1:8081":               false,
		"http://[::2]:8080":                  false,
		"http://evil.example/localhost":      false,
		"https://":                           false,
		"https:api.example":                  false,
		"ftp://localhost":                    false,
		"localhost:8081":                     false,
	} {
		for _, field := range []string{"cloud.base_url", "cloud.shipping.base_url"} {
			cfg := Default()
			cfg.HTTP.Token, cfg.Store.Path = "0123456789abcdef", "/var/lib/edgeagent/edgeagent.db"
			cfg.Cloud.BaseURL, cfg.Cloud.ChannelKey, cfg.Cloud.Token = "https://api.example", "ch", "tok"
			cfg.Cloud.Shipping.PublicKey, cfg.Cloud.Shipping.SecretKey = "pub", "sec"
			if field == "cloud.base_url" {
				cfg.Cloud.BaseURL = raw
			} else {
				cfg.Cloud.Shipping.BaseURL = raw
			}
			err := cfg.Validate()
			if ok {
				assert.NoError(t, err, "%s %s", field, raw)
				continue
			}
			if assert.ErrorContains(t, err, field+": must ", raw) {
				assert.NotContains(t, err.Error(), "pass@", "a password in the URL never prints")
			}
		}
	}
	cfg := Default()
	cfg.HTTP.Token, cfg.Store.Path = "0123456789abcdef", "/var/lib/edgeagent/edgeagent.db"
	cfg.Cloud.BaseURL, cfg.Cloud.ChannelKey, cfg.Cloud.Token = "http://localhost@evil.example", "ch", "tok"
	require.EqualError(t, cfg.Validate(), `cloud.base_url: must not hold a user or password before the host (user@host); got "http://localhost@evil.example"`)
	cfg.Cloud.BaseURL = "http://localhost.evil.example"
	require.EqualError(t, cfg.Validate(), `cloud.base_url: must be https:// (plain http only to this machine: localhost, 127.0.0.1 or [::1]); got "http://localhost.evil.example"`)
}

// writeConfig writes a configuration file with exactly the given mode.
func writeConfig(t *testing.T, path, text string, mode os.FileMode) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, []byte(text), 0o600))
	require.NoError(t, os.Chmod(path, mode))
}

// A file others can read may not hold a secret written out in it; one
// whose secrets come from the environment may.
func TestLoadRefusesWideFileWithInlineSecret(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "edgeagent.yaml")
	inline := "http:\n  token: 0123456789abcdef\n"
	writeConfig(t, p, inline, 0o644)
	_, err := Load(p)
	require.EqualError(t, err, fmt.Sprintf("%s is mode 0644 and holds a secret inline (http.token): run chmod 600 %s, or take the secret from the environment with ${NAME}", p, p))

	for mode, ok := range map[os.FileMode]bool{0o600: true, 0o400: true, 0o640: false, 0o604: false, 0o700: false, 0o666: false} {
		require.NoError(t, os.Chmod(p, mode))
		_, err := Load(p)
		if ok {
			require.NoError(t, err, "%04o", mode)
		} else {
			require.ErrorContains(t, err, fmt.Sprintf("is mode %04o and holds a secret inline", mode))
		}
	}

	t.Setenv("TEST_EDGEAGENT_TOKEN", "0123456789abcdef")
	writeConfig(t, p, "http:\n  token: \"${TEST_EDGEAGENT_TOKEN}\"\n", 0o644)
	cfg, err := Load(p)
	require.NoError(t, err, "a file without inline secrets may stay 0644")
	require.Equal(t, "0123456789abcdef", cfg.HTTP.Token.Reveal())

	writeConfig(t, p, "http:\n  token: \"${TEST_EDGEAGENT_TOKEN}\"\ncloud:\n  base_url: https://api.example\n  channel_key: ch-1\n  api_key: \"${TEST_EDGEAGENT_TOKEN}\"\n  api_secret: s3cret\n", 0o644)
	_, err = Load(p)
	require.ErrorContains(t, err, "holds secrets inline (cloud.channel_key, cloud.api_secret): run chmod 600 ")
}

// A configuration reached through a symbolic link is read; its messages
// name the file the link leads to, the one to change.
func TestLoadThroughSymlinkNamesTheRealFile(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "etc", "line-7.yaml")
	require.NoError(t, os.MkdirAll(filepath.Dir(real), 0o700))
	link := filepath.Join(dir, "edgeagent.yaml")
	require.NoError(t, os.Symlink(real, link))
	writeConfig(t, real, "http:\n  token: 0123456789abcdef\n", 0o644)
	_, err := Load(link)
	require.EqualError(t, err, fmt.Sprintf("%s is mode 0644 and holds a secret inline (http.token): run chmod 600 %s, or take the secret from the environment with ${NAME}", real, real))

	require.NoError(t, os.Chmod(real, 0o600))
	cfg, err := Load(link)
	require.NoError(t, err)
	require.Equal(t, "0123456789abcdef", cfg.HTTP.Token.Reveal())

	writeConfig(t, real, "http:\n  token: short\n", 0o600)
	_, err = Load(link)
	require.ErrorContains(t, err, real+": http.token: is required")
}

// Every secret field counts, wherever and however the file writes it.
func TestInlineSecretsFindsEverySecretField(t *testing.T) {
	got := inlineSecrets([]byte(`
# token: commented-out-value
http: {listen: "127.0.0.1:8080", token: "${EDGEAGENT_TOKEN}"}
v2:
  tokens:
    - {name: erp, token: "${ERP_TOKEN}"}
    - name: mes
      token: mes-token-0123456789
  channel_keys: ["${CH}", plain-channel, ""]
cloud:
  base_url: https://api.example
  channel_key: &ch "prefix-${CH}"
  token: ~
  api_key:
  api_secret: "  ${A}  "
  shipping:
    public_key: *ch
    secret_key: 12345
    partner_id: 8e3ee1f7-9c55-4d5e-9d0f-3c1e0c6b2a10
line:
  name: token
  stations: [{name: key, printer: secret}]
`))
	require.Equal(t, []string{"v2.tokens[1].token", "v2.channel_keys[1]", "cloud.channel_key", "cloud.shipping.public_key", "cloud.shipping.secret_key"}, got)

	// Keys merged from an anchor are found too.
	got = inlineSecrets([]byte("base: &b\n  token: merged-secret\nhttp:\n  <<: *b\n  listen: 127.0.0.1:1\n"))
	require.Equal(t, []string{"http.token"}, got)
	require.Empty(t, inlineSecrets(Template), "the template takes its token from the environment")
	require.Empty(t, inlineSecrets([]byte("http: [unclosed")))
}

func TestEPCISSettingsAreChecked(t *testing.T) {
	cfg, err := Parse([]byte(`
line: {name: l}
http: {token: a-long-enough-token}
epcis:
  site: "9506000000009"
  read_point: "LINE 1"
  identifiers: urn
  capture_url: http://repo.example/epcis
  username: line1
  token: t
  timeout: 1ms
`), env(nil))
	require.NoError(t, err)
	err = cfg.Validate()
	require.Error(t, err)
	for _, want := range []string{
		`epcis.site: must be a GLN: 13 digits with a correct check digit; got "9506000000009"`,
		`epcis.read_point: must be 1 to 20 letters, digits or GS1 punctuation (a GLN extension, AI 254); got "LINE 1"`,
		"epcis.company_prefix_length: must be 6 to 12 with epcis.identifiers: urn",
		"epcis.capture_url: must be https:// (plain http only to this machine",
		"epcis.password: is required with epcis.username",
		"epcis.timeout: must be 1s to 5m; got 1ms",
	} {
		require.ErrorContains(t, err, want)
	}
	cfg, err = Parse([]byte(`
line: {name: l}
http: {token: a-long-enough-token}
epcis: {site: "9506000000008", read_point: LINE1, capture_url: "https://repo.example/epcis", token: t}
`), env(nil))
	require.NoError(t, err)
	require.NoError(t, cfg.Validate())
}
