// Package logging builds the agent's zerolog logger: JSON lines by default
// (what journald and log shippers want), human-readable console output when
// writing to a terminal, and the level from the configuration. Components get
// child loggers carrying a "component" field; the logger is passed to them,
// never kept in a global.
package logging

import (
	"bytes"
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

// New returns a logger writing to w. format is "json", "console",
// "journald" (text lines with a <priority> prefix that journald reads, no
// timestamps: the journal has them) or "auto" (console when w is a
// terminal, json otherwise); level is debug, info, warn or error.
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
	case "journald":
		out = journald{w: w}
	case "json":
	default:
		return zerolog.Nop(), fmt.Errorf("log format %q: must be auto, json, console or journald", format)
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

// journald writes each event as one text line prefixed with its syslog
// priority (sd-daemon(3)), so the journal records the level.
type journald struct{ w io.Writer }

var priorities = map[zerolog.Level]int{zerolog.TraceLevel: 7, zerolog.DebugLevel: 7, zerolog.InfoLevel: 6, zerolog.WarnLevel: 4,
	zerolog.ErrorLevel: 3, zerolog.FatalLevel: 2, zerolog.PanicLevel: 0, zerolog.NoLevel: 6}

func (j journald) Write(p []byte) (int, error) { return j.WriteLevel(zerolog.NoLevel, p) }

func (j journald) WriteLevel(l zerolog.Level, p []byte) (int, error) {
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "<%d>", priorities[l])
	cw := zerolog.ConsoleWriter{Out: &buf, NoColor: true, PartsExclude: []string{zerolog.TimestampFieldName}}
	if _, err := cw.Write(p); err != nil {
		return 0, err
	}
	if _, err := j.w.Write(buf.Bytes()); err != nil {
		return 0, err
	}
	return len(p), nil
}
