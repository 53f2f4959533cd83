// Package logging builds the agent's zerolog logger: JSON lines by default
// (what journald and log shippers want), human-readable console output when
// writing to a terminal, and the level from the configuration. Components get
// child loggers carrying a "component" field; the logger is passed to them,
// never kept in a global.
package logging

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/rs/zerolog"
)

// Field names used across the agent's log lines.
const (
	FieldComponent = "component"
)

// New returns a logger writing to w. format is "json", "console" or "auto"
// (console when w is a terminal); level is debug, info, warn or error.
func New(w io.Writer, format, level string) (zerolog.Logger, error) {
	lvl, err := zerolog.ParseLevel(level)
	if err != nil || level == "" {
		return zerolog.Nop(), fmt.Errorf("log level %q: must be debug, info, warn or error", level)
	}
	out := w
	switch format {
	case "console":
		out = zerolog.ConsoleWriter{Out: w, TimeFormat: time.DateTime}
	case "auto", "":
		if isTerminal(w) {
			out = zerolog.ConsoleWriter{Out: w, TimeFormat: time.DateTime}
		}
	case "json":
	default:
		return zerolog.Nop(), fmt.Errorf("log format %q: must be auto, json or console", format)
	}
	return zerolog.New(out).Level(lvl).With().Timestamp().Logger(), nil
}

// Component returns a child logger for one part of the agent.
func Component(log zerolog.Logger, name string) zerolog.Logger {
	return log.With().Str(FieldComponent, name).Logger()
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
