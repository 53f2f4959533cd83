package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/store"
	"github.com/edgeagent/edgeagent/internal/users"
)

// usersLine writes a configuration whose database is DIR/data/x.db and
// whose agent would listen on listen.
func usersLine(t *testing.T, listen string) (cfgPath, dbPath string) {
	t.Helper()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	require.NoError(t, os.Mkdir(data, 0o700))
	cfgPath, dbPath = filepath.Join(dir, "edgeagent.yaml"), filepath.Join(data, "x.db")
	yaml := fmt.Sprintf("line:\n  name: line-9\ndata_dir: %s\nstore:\n  path: %s\nhttp:\n  listen: %q\n  token: a-long-enough-token\n", data, dbPath, listen)
	require.NoError(t, os.WriteFile(cfgPath, []byte(yaml), 0o600))
	return cfgPath, dbPath
}

// With no agent running, the users commands work on the database.
func TestUsersCommandsWithoutAnAgent(t *testing.T) {
	cfg, dbPath := usersLine(t, "127.0.0.1:0")

	code, _, errs := runCLI(t, "", "users", "add", "maria", "--config", cfg, "--password-stdin")
	require.Equal(t, 2, code)
	require.Contains(t, errs, "--role is required: operator, supervisor or admin")
	code, _, errs = runCLI(t, "", "users", "add", "maria", "--role", "boss", "--config", cfg)
	require.Equal(t, 2, code)
	require.Contains(t, errs, `role: "boss" is not a role`)
	code, _, errs = runCLI(t, "", "users", "add", "maria", "--role", "admin", "--config", cfg)
	require.Equal(t, 2, code)
	require.Contains(t, errs, "standard input is not a terminal: type the password on one, or give it with --password-stdin")
	code, _, errs = runCLI(t, "short\n", "users", "add", "maria", "--role", "admin", "--config", cfg, "--password-stdin")
	require.Equal(t, 1, code)
	require.Contains(t, errs, "password: at least 12 characters (this one has 5)")
	code, _, errs = runCLI(t, "correct horse battery\n", "users", "add", "3f786850e387550fdab836ed7e6dc881de23001b", "--role", "admin", "--config", cfg, "--password-stdin")
	require.Equal(t, 1, code)
	require.Contains(t, errs, "looks like a token")

	code, out, errs := runCLI(t, "correct horse battery\n", "users", "add", "maria", "--role", "admin", "--config", cfg, "--password-stdin")
	require.Equal(t, 0, code, errs)
	require.Equal(t, "maria added as admin\n", out)
	code, out, errs = runCLI(t, "jon's long password", "users", "add", "jon", "--role", "operator", "--config", cfg, "--password-stdin")
	require.Equal(t, 0, code, errs)
	require.Equal(t, "jon added as operator\n", out)
	code, _, errs = runCLI(t, "another long one\n", "users", "add", "Jon", "--role", "operator", "--config", cfg, "--password-stdin")
	require.Equal(t, 1, code)
	require.Contains(t, errs, "a person with that name exists already: jon")

	code, out, errs = runCLI(t, "", "users", "badge", "jon", "--config", cfg)
	require.Equal(t, 0, code, errs)
	badge := strings.TrimSpace(out)
	require.Regexp(t, `^BADGE:[2-9A-HJ-NP-Z]{16}$`, badge)
	require.Contains(t, errs, "badge of jon (shown once: print it now)")

	code, out, errs = runCLI(t, "a brand new password\n", "users", "passwd", "maria", "--config", cfg, "--password-stdin")
	require.Equal(t, 0, code, errs)
	require.Equal(t, "password of maria changed\n", out)
	code, _, errs = runCLI(t, "a brand new password\n", "users", "passwd", "nobody", "--config", cfg, "--password-stdin")
	require.Equal(t, 1, code)
	require.Contains(t, errs, "no such person: nobody")

	code, _, errs = runCLI(t, "", "users", "disable", "maria", "--config", cfg)
	require.Equal(t, 1, code)
	require.Contains(t, errs, "this is the last admin: make someone else admin first")
	code, out, errs = runCLI(t, "", "users", "disable", "jon", "--config", cfg)
	require.Equal(t, 0, code, errs)
	require.Equal(t, "jon disabled\n", out)

	code, out, errs = runCLI(t, "", "users", "list", "--config", cfg)
	require.Equal(t, 0, code, errs)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 3)
	require.Regexp(t, `^NAME +ROLE +STATE +BADGE +PIN +CHANGED$`, lines[0])
	require.Regexp(t, `^jon +operator +disabled +yes +no +\d{4}-\d\d-\d\d \d\d:\d\dZ$`, lines[1])
	require.Regexp(t, `^maria +admin +enabled +no +no `, lines[2])

	code, out, errs = runCLI(t, "", "users", "enable", "jon", "--config", cfg)
	require.Equal(t, 0, code, errs)
	require.Equal(t, "jon enabled\n", out)
	code, out, errs = runCLI(t, "", "users", "role", "jon", "--role", "supervisor", "--config", cfg)
	require.Equal(t, 0, code, errs)
	require.Equal(t, "jon is now supervisor\n", out)
	code, out, errs = runCLI(t, "", "users", "list", "--config", cfg, "--json")
	require.Equal(t, 0, code, errs)
	var listed []users.User
	require.NoError(t, json.Unmarshal([]byte(out), &listed))
	require.Len(t, listed, 2)
	require.Equal(t, users.Supervisor, listed[0].Role)
	require.False(t, listed[0].Disabled)

	// What the commands did is what the line now knows, on record.
	db, err := store.Open(context.Background(), store.Config{Path: dbPath}, zerolog.Nop())
	require.NoError(t, err)
	defer db.Close()
	u := users.New(db, users.Config{}, zerolog.Nop())
	_, err = u.Authenticate(context.Background(), "maria", "a brand new password")
	require.NoError(t, err)
	who, err := u.SignOn(context.Background(), "Case-1", badge)
	require.NoError(t, err)
	require.Equal(t, "jon", who.Name)
	rows, err := db.Reader().Query(`SELECT actor, action, subject, old_value || new_value || reason FROM audit_log ORDER BY id`)
	require.NoError(t, err)
	defer rows.Close()
	var actions []string
	for rows.Next() {
		var actor, action, subject, rest string
		require.NoError(t, rows.Scan(&actor, &action, &subject, &rest))
		require.NotContains(t, rest, "password")
		if strings.HasPrefix(actor, "cli") {
			actions = append(actions, action+" "+subject)
		}
	}
	require.NoError(t, rows.Err())
	require.Equal(t, []string{"user.add maria", "user.add jon", "user.badge jon", "user.password maria", "user.disable jon",
		"user.enable jon", "user.role jon"}, actions)
}

// With an agent running (its lock held), the commands ask it through
// /api/v1, with the configured token, and change nothing themselves;
// reading goes on beside it.
func TestUsersCommandsThroughTheAgent(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var mu sync.Mutex
	var calls []string
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		calls = append(calls, r.Method+" "+r.URL.EscapedPath()+" "+r.Header.Get("Authorization")+" "+string(body))
		mu.Unlock()
		switch {
		case strings.HasSuffix(r.URL.Path, "/badge"):
			fmt.Fprint(w, `{"ok":true,"badge":"BADGE:ABCDEFGHJKLMNPQR"}`)
		case strings.Contains(r.URL.Path, "nobody"):
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"error":"no such person: nobody"}`)
		default:
			fmt.Fprint(w, `{"ok":true}`)
		}
	})}
	go srv.Serve(ln)
	defer srv.Close()
	cfg, dbPath := usersLine(t, ln.Addr().String())

	// The database exists (with one person) and an agent holds it.
	db, err := store.Open(context.Background(), store.Config{Path: dbPath}, zerolog.Nop())
	require.NoError(t, err)
	require.NoError(t, users.New(db, users.Config{}, zerolog.Nop()).Add(context.Background(), "cli:root", "maria", users.Admin, "correct horse battery"))
	require.NoError(t, db.Close())
	lock, err := store.Lock(filepath.Dir(dbPath))
	require.NoError(t, err)
	defer lock.Release()

	for _, c := range []struct {
		stdin string
		args  []string
		out   string
	}{
		{"jon's long password\n", []string{"add", "jon", "--role", "operator", "--password-stdin"}, "jon added as operator\n"},
		{"a brand new password\n", []string{"passwd", "jon", "--password-stdin"}, "password of jon changed\n"},
		{"", []string{"role", "jon", "--role", "supervisor"}, "jon is now supervisor\n"},
		{"", []string{"disable", "jon"}, "jon disabled\n"},
		{"", []string{"enable", "jon"}, "jon enabled\n"},
		{"", []string{"badge", "jon"}, "BADGE:ABCDEFGHJKLMNPQR\n"},
		{"", []string{"disable", "Ana María"}, "Ana María disabled\n"},
	} {
		code, out, errs := runCLI(t, c.stdin, append(append([]string{"users"}, c.args...), "--config", cfg)...)
		require.Equal(t, 0, code, "%v: %s", c.args, errs)
		require.Equal(t, c.out, out, c.args)
	}
	code, _, errs := runCLI(t, "", "users", "disable", "nobody", "--config", cfg)
	require.Equal(t, 1, code)
	require.Contains(t, errs, "no such person: nobody (HTTP 404)")

	bearer := "Bearer a-long-enough-token "
	require.Equal(t, []string{
		"POST /api/v1/users " + bearer + `{"name":"jon","password":"jon's long password","role":"operator"}`,
		"POST /api/v1/users/jon/password " + bearer + `{"password":"a brand new password"}`,
		"POST /api/v1/users/jon/role " + bearer + `{"role":"supervisor"}`,
		"POST /api/v1/users/jon/disable " + bearer + "{}",
		"POST /api/v1/users/jon/enable " + bearer + "{}",
		"POST /api/v1/users/jon/badge " + bearer + "{}",
		"POST /api/v1/users/Ana%20Mar%C3%ADa/disable " + bearer + "{}",
		"POST /api/v1/users/nobody/disable " + bearer + "{}",
	}, calls)

	// Reading opens the database read-only beside the agent.
	code, out, errs := runCLI(t, "", "users", "list", "--config", cfg)
	require.Equal(t, 0, code, errs)
	require.Contains(t, out, "maria")
	require.NotContains(t, out, "jon", "the commands above went to the agent only")
}
