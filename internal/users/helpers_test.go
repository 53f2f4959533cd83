package users

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/store"
)

var ctx = context.Background()

// cheap hashes keep the tests quick (under -race argon2 at 64 MiB takes
// seconds); TestDefaultCosts and the benchmarks use the real ones.
var cheap = HashParams{Time: 1, MemoryKiB: 64, Threads: 1}

// fakeClock is a clock the test moves.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// line is a database with the package's parts on it.
type line struct {
	db       *store.DB
	path     string
	cfg      Config
	clock    *fakeClock
	users    *Users
	sessions *Sessions
	devices  *Devices
}

func dbPath(t *testing.T) string { return filepath.Join(t.TempDir(), "data", "x.db") }

func openDB(t *testing.T, path string) *store.DB {
	t.Helper()
	db, err := store.Open(ctx, store.Config{Path: path}, zerolog.Nop())
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

func newLine(t *testing.T) *line {
	t.Helper()
	clk := &fakeClock{t: time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)}
	l := &line{path: dbPath(t), clock: clk, cfg: Config{Password: cheap, PIN: cheap, Now: clk.Now}}
	l.open(t)
	return l
}

// open (re)opens the database and builds the parts on it, as a restart does.
func (l *line) open(t *testing.T) {
	l.db = openDB(t, l.path)
	l.users = New(l.db, l.cfg, zerolog.Nop())
	l.sessions = NewSessions(l.db, l.cfg)
	l.devices = NewDevices(l.db, l.cfg)
}

// add registers a person with the password "correct horse <name>".
func (l *line) add(t *testing.T, name string, role Role) {
	t.Helper()
	require.NoError(t, l.users.Add(ctx, "cli:root", name, role, pw(name)))
}

func pw(name string) string { return "correct horse " + name }

// auditLog returns the audit log, oldest first, one "actor action subject
// old→new (reason)" line per entry.
func (l *line) auditLog(t *testing.T) []string {
	t.Helper()
	rows, err := l.db.Reader().Query(`SELECT actor, action, subject, old_value, new_value, reason FROM audit_log ORDER BY id`)
	require.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var a, b, c, d, e, f string
		require.NoError(t, rows.Scan(&a, &b, &c, &d, &e, &f))
		out = append(out, a+" "+b+" "+c+" "+d+"→"+e+" ("+f+")")
	}
	require.NoError(t, rows.Err())
	return out
}

// dump returns every text and number stored in the package's tables and
// the audit log, to look for secrets.
func (l *line) dump(t *testing.T) string {
	t.Helper()
	var sb strings.Builder
	for _, q := range []string{
		`SELECT name || role || password || pin || badge FROM users`,
		`SELECT token_hash || user_name || csrf || addr FROM user_sessions`,
		`SELECT station || secret_hash || paired_by FROM station_devices`,
		`SELECT station || user_name FROM station_signons`,
		`SELECT actor || action || subject || old_value || new_value || reason FROM audit_log`,
	} {
		rows, err := l.db.Reader().Query(q)
		require.NoError(t, err)
		for rows.Next() {
			var s string
			require.NoError(t, rows.Scan(&s))
			sb.WriteString(s + "\n")
		}
		require.NoError(t, rows.Err())
		rows.Close()
	}
	return sb.String()
}
