// Package config reads the agent's YAML configuration file: strict decoding
// (an unknown key is an error), ${ENV} expansion so that secrets can live in
// the environment, defaults for everything that has a sensible one, and a
// Validate method whose errors name the field and the rule it breaks.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Secret is a string that never prints: fmt, logs, YAML and JSON show "***".
// Use Reveal where the real value is needed (an HTTP header, a comparison).
type Secret string

func (s Secret) String() string { return mask(s) }

// GoString keeps %#v from printing the value.
func (s Secret) GoString() string { return mask(s) }

// Reveal returns the secret's value.
func (s Secret) Reveal() string { return string(s) }

// MarshalText masks the secret in every text encoding (JSON, YAML, logs).
func (s Secret) MarshalText() ([]byte, error) { return []byte(mask(s)), nil }

func mask(s Secret) string {
	if s == "" {
		return ""
	}
	return "***"
}

// Config is the whole configuration file.
type Config struct {
	// Line identifies this packaging line.
	Line Line `yaml:"line"`
	// DataDir holds the database and other state; created 0700 if missing.
	DataDir string `yaml:"data_dir"`
	Log     Log    `yaml:"log"`
	HTTP    HTTP   `yaml:"http"`
	Store   Store  `yaml:"store"`
	// ShutdownTimeout bounds a clean stop after SIGINT/SIGTERM.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
}

// Line names the line this agent serves.
type Line struct {
	// Name appears in the dashboard and in logs. Required.
	Name string `yaml:"name"`
	// TemplatesDir holds label templates (*.zpl) that add to or replace the
	// built-in ones. Optional.
	TemplatesDir string `yaml:"templates_dir"`
}

// Log configures logging.
type Log struct {
	// Level is one of debug, info, warn, error. Default info.
	Level string `yaml:"level"`
	// Format is json, console, or auto (console on a terminal, JSON otherwise). Default auto.
	Format string `yaml:"format"`
}

// HTTP configures the local API, dashboard and health endpoints.
type HTTP struct {
	// Listen is the host:port to serve on. Default 127.0.0.1:8080.
	Listen string `yaml:"listen"`
	// Token authorises API calls and dashboard actions. Required, at least 16 characters.
	Token Secret `yaml:"token"`
}

// Store configures the SQLite database.
type Store struct {
	// Path of the database file. Default DataDir/edgeagent.db.
	Path string `yaml:"path"`
	// GroupCommitMaxBatch is how many writes may share one transaction. Default 128; 1 disables group commit.
	GroupCommitMaxBatch int `yaml:"group_commit_max_batch"`
	// GroupCommitMaxDelay is how long the writer waits to fill a batch. Default 0: it takes what is queued and commits.
	GroupCommitMaxDelay time.Duration `yaml:"group_commit_max_delay"`
}

// Default returns the configuration used where the file is silent.
func Default() Config {
	return Config{
		Line:            Line{Name: "line-1"},
		DataDir:         "/var/lib/edgeagent",
		Log:             Log{Level: "info", Format: "auto"},
		HTTP:            HTTP{Listen: "127.0.0.1:8080"},
		Store:           Store{GroupCommitMaxBatch: 128},
		ShutdownTimeout: 15 * time.Second,
	}
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// Parse decodes YAML over the defaults. ${NAME} is replaced with the
// environment variable NAME; an unset variable is an error. lookup is
// usually os.LookupEnv.
func Parse(data []byte, lookup func(string) (string, bool)) (Config, error) {
	var missing []string
	lines := strings.Split(string(data), "\n")
	for i, line := range lines {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue // comments may mention ${NAME} without it being set
		}
		lines[i] = envRef.ReplaceAllStringFunc(line, func(ref string) string {
			name := envRef.FindStringSubmatch(ref)[1]
			v, ok := lookup(name)
			if !ok {
				missing = append(missing, name)
			}
			return v
		})
	}
	expanded := strings.Join(lines, "\n")
	if len(missing) > 0 {
		return Config{}, fmt.Errorf("environment variable %s is not set (referenced as ${%s})", strings.Join(missing, ", "), missing[0])
	}
	cfg := Default()
	dec := yaml.NewDecoder(bytes.NewReader([]byte(expanded)))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		return Config{}, fmt.Errorf("config: %s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if cfg.Store.Path == "" && cfg.DataDir != "" {
		cfg.Store.Path = filepath.Join(cfg.DataDir, "edgeagent.db")
	}
	return cfg, nil
}

// Load reads, expands and decodes a configuration file, then validates it.
func Load(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	cfg, err := Parse(data, os.LookupEnv)
	if err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}

// Validate checks every field; the error lists each fault as "field: rule".
func (c Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{field}, args...)...))
	}
	if strings.TrimSpace(c.Line.Name) == "" {
		bad("line.name", "is required")
	} else if len(c.Line.Name) > 64 {
		bad("line.name", "must be at most 64 characters, got %d", len(c.Line.Name))
	}
	if c.DataDir == "" {
		bad("data_dir", "is required")
	}
	if c.Line.TemplatesDir != "" && strings.ContainsRune(c.Line.TemplatesDir, 0) {
		bad("line.templates_dir", "must be a directory path")
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "must be one of debug, info, warn, error; got %q", c.Log.Level)
	}
	switch c.Log.Format {
	case "auto", "json", "console":
	default:
		bad("log.format", "must be one of auto, json, console; got %q", c.Log.Format)
	}
	if host, port, err := net.SplitHostPort(c.HTTP.Listen); err != nil {
		bad("http.listen", "must be host:port (for example 127.0.0.1:8080); got %q", c.HTTP.Listen)
	} else if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		bad("http.listen", "port must be 0 to 65535; got %q", port)
	} else if host != "" && host != "localhost" && net.ParseIP(host) == nil {
		bad("http.listen", "host must be an IP address or localhost; got %q", host)
	}
	if len(c.HTTP.Token.Reveal()) < 16 {
		bad("http.token", "is required and must be at least 16 characters (use ${ENV_VAR} to keep it out of the file)")
	}
	if c.Store.Path == "" {
		bad("store.path", "is required")
	}
	if c.Store.GroupCommitMaxBatch < 1 || c.Store.GroupCommitMaxBatch > 10000 {
		bad("store.group_commit_max_batch", "must be 1 to 10000; got %d", c.Store.GroupCommitMaxBatch)
	}
	if c.Store.GroupCommitMaxDelay < 0 || c.Store.GroupCommitMaxDelay > time.Second {
		bad("store.group_commit_max_delay", "must be 0 to 1s; got %s", c.Store.GroupCommitMaxDelay)
	}
	if c.ShutdownTimeout < time.Second || c.ShutdownTimeout > 10*time.Minute {
		bad("shutdown_timeout", "must be 1s to 10m; got %s", c.ShutdownTimeout)
	}
	return errors.Join(errs...)
}
