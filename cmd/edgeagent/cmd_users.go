package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/rs/zerolog"
	"golang.org/x/term"

	"github.com/edgeagent/edgeagent/internal/config"
	"github.com/edgeagent/edgeagent/internal/store"
	"github.com/edgeagent/edgeagent/internal/users"
)

// The users commands change people through the running agent's API, or,
// when no agent runs, on the database under the agent's lock (changeStore).
// Passwords are read from the terminal without echo, twice, or from the
// first line of standard input with --password-stdin (for scripts); they
// are checked here first, so a short one is refused before anything is
// sent.

// usersPath is the API path of a person, or of one of their actions.
func usersPath(name, action string) string {
	return "/api/v1/users/" + url.PathEscape(name) + "/" + action
}

// onUsers runs fn on the people kept in the database, for changeStore.
func onUsers(fn func(ctx context.Context, u *users.Users) (map[string]any, error)) func(context.Context, config.Config, *store.DB) (map[string]any, error) {
	return func(ctx context.Context, _ config.Config, db *store.DB) (map[string]any, error) {
		return fn(ctx, users.New(db, users.Config{}, zerolog.Nop()))
	}
}

// stdinPassword is the first line of standard input.
func stdinPassword(e env) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(e.stdin, 4096)).ReadString('\n')
	if err != nil && (!errors.Is(err, io.EOF) || line == "") {
		return "", exitError{1, errors.New("no password on standard input")}
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// terminal is standard input when it is a terminal, to type a password on.
func terminal(e env) (*os.File, error) {
	f, ok := e.stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil, usageError{"standard input is not a terminal: type the password on one, or give it with --password-stdin"}
	}
	return f, nil
}

// readSignature reads the password name signs with: from the first line
// of stdin when fromStdin, else typed once on the terminal without echo.
func readSignature(e env, name string, fromStdin bool) (string, error) {
	if fromStdin {
		return stdinPassword(e)
	}
	f, err := terminal(e)
	if err != nil {
		return "", err
	}
	fmt.Fprintf(e.stderr, "Password of %s, to sign: ", name)
	pw, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(e.stderr)
	if err != nil {
		return "", exitError{1, err}
	}
	return string(pw), nil
}

// readPassword reads a new password for name: from the first line of
// stdin when fromStdin, else typed twice on the terminal without echo.
func readPassword(e env, name string, fromStdin bool) (string, error) {
	var pw string
	if fromStdin {
		var err error
		if pw, err = stdinPassword(e); err != nil {
			return "", err
		}
	} else {
		f, err := terminal(e)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(e.stderr, "New password for %s: ", name)
		first, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(e.stderr)
		if err != nil {
			return "", exitError{1, err}
		}
		fmt.Fprint(e.stderr, "The same again: ")
		again, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(e.stderr)
		if err != nil {
			return "", exitError{1, err}
		}
		if string(first) != string(again) {
			return "", exitError{1, errors.New("the two passwords differ: nothing was changed")}
		}
		pw = string(first)
	}
	if err := users.CheckPassword(name, pw); err != nil {
		return "", exitError{1, err}
	}
	return pw, nil
}

func cmdUsersAdd(e env) error {
	fs := flags(e, "users add", "NAME --role R --config FILE [--password-stdin]",
		"Add a person who works the line, with a role (operator, supervisor or admin) and a password of at least 12 characters.")
	cfgPath := fs.String("config", "", "configuration file")
	roleFlag := fs.String("role", "", "operator, supervisor or admin (required)")
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	pos, err := parseInterspersed(fs, e.args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{"give one name"}
	}
	name := pos[0]
	if *roleFlag == "" {
		return usageError{"--role is required: operator, supervisor or admin"}
	}
	role, err := users.ParseRole(*roleFlag)
	if err != nil {
		return usageError{err.Error()}
	}
	if *cfgPath == "" {
		return usageError{"--config FILE is required"}
	}
	if err := users.CheckName(name); err != nil {
		return exitError{1, err}
	}
	pw, err := readPassword(e, name, *fromStdin)
	if err != nil {
		return err
	}
	_, err = changeStore(e, *cfgPath, "/api/v1/users", map[string]any{"name": name, "role": string(role), "password": pw},
		onUsers(func(ctx context.Context, u *users.Users) (map[string]any, error) {
			return nil, u.Add(ctx, actor(), name, role, pw)
		}))
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s added as %s\n", name, role)
	return nil
}

func cmdUsersPasswd(e env) error {
	fs := flags(e, "users passwd", "NAME --config FILE [--password-stdin]",
		"Give a person a new password. They are logged out of the dashboard everywhere.")
	cfgPath := fs.String("config", "", "configuration file")
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	pos, err := parseInterspersed(fs, e.args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{"give one name"}
	}
	if *cfgPath == "" {
		return usageError{"--config FILE is required"}
	}
	name := pos[0]
	pw, err := readPassword(e, name, *fromStdin)
	if err != nil {
		return err
	}
	_, err = changeStore(e, *cfgPath, usersPath(name, "password"), map[string]any{"password": pw},
		onUsers(func(ctx context.Context, u *users.Users) (map[string]any, error) {
			return nil, u.SetPassword(ctx, actor(), name, pw)
		}))
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "password of %s changed\n", name)
	return nil
}

func cmdUsersRole(e env) error {
	fs := flags(e, "users role", "NAME --role R --config FILE", "Give a person another role. The last admin keeps theirs.")
	cfgPath := fs.String("config", "", "configuration file")
	roleFlag := fs.String("role", "", "operator, supervisor or admin (required)")
	pos, err := parseInterspersed(fs, e.args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{"give one name"}
	}
	if *roleFlag == "" {
		return usageError{"--role is required: operator, supervisor or admin"}
	}
	role, err := users.ParseRole(*roleFlag)
	if err != nil {
		return usageError{err.Error()}
	}
	name := pos[0]
	_, err = changeStore(e, *cfgPath, usersPath(name, "role"), map[string]any{"role": string(role)},
		onUsers(func(ctx context.Context, u *users.Users) (map[string]any, error) {
			return nil, u.SetRole(ctx, actor(), name, role)
		}))
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s is now %s\n", name, role)
	return nil
}

// userAction runs a users command that takes one NAME and sends no secret:
// POST /api/v1/users/NAME/action through the agent, or act on the database.
func userAction(e env, cmd, summary, action string, act func(ctx context.Context, u *users.Users, name string) (map[string]any, error)) (string, map[string]any, error) {
	fs := flags(e, "users "+cmd, "NAME --config FILE", summary)
	cfgPath := fs.String("config", "", "configuration file")
	pos, err := parseInterspersed(fs, e.args)
	if err != nil {
		return "", nil, err
	}
	if len(pos) != 1 {
		return "", nil, usageError{"give one name"}
	}
	name := pos[0]
	res, err := changeStore(e, *cfgPath, usersPath(name, action), map[string]any{},
		onUsers(func(ctx context.Context, u *users.Users) (map[string]any, error) { return act(ctx, u, name) }))
	return name, res, err
}

func cmdUsersDisable(e env) error {
	name, _, err := userAction(e, "disable", "Stop a person from logging in, signing on at stations and signing; they are logged out "+
		"and signed off everywhere. They stay on record. The last admin cannot be disabled.", "disable",
		func(ctx context.Context, u *users.Users, name string) (map[string]any, error) {
			return nil, u.Disable(ctx, actor(), name)
		})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s disabled\n", name)
	return nil
}

func cmdUsersEnable(e env) error {
	name, _, err := userAction(e, "enable", "Let a disabled person in again, with the password, badge and PIN they had.", "enable",
		func(ctx context.Context, u *users.Users, name string) (map[string]any, error) {
			return nil, u.Enable(ctx, actor(), name)
		})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s enabled\n", name)
	return nil
}

func cmdUsersBadge(e env) error {
	name, res, err := userAction(e, "badge", "Issue a person a new badge and print its code once, for a Code 128 label: "+
		"it is not kept and cannot be shown again. Their old badge stops working.", "badge",
		func(ctx context.Context, u *users.Users, name string) (map[string]any, error) {
			code, err := u.SetBadge(ctx, actor(), name)
			return map[string]any{"badge": code}, err
		})
	if err != nil {
		return err
	}
	code, _ := res["badge"].(string)
	if !strings.HasPrefix(code, users.BadgePrefix) {
		return exitError{1, fmt.Errorf("the agent answered without a badge code for %s", name)}
	}
	fmt.Fprintf(e.stderr, "badge of %s (shown once: print it now):\n", name)
	fmt.Fprintln(e.stdout, code)
	return nil
}

func cmdUsersList(e env) error {
	fs := flags(e, "users list", "--config FILE [--json]", "List the people who work the line, with their roles and how they sign on.")
	cfgPath := fs.String("config", "", "configuration file")
	asJSON := fs.Bool("json", false, "print JSON")
	if pos, err := parseInterspersed(fs, e.args); err != nil {
		return err
	} else if len(pos) > 0 {
		return usageError{"no arguments expected"}
	}
	_, db, err := readStore(e, *cfgPath)
	if err != nil {
		return err
	}
	defer db.Close()
	all, err := users.New(db, users.Config{}, zerolog.Nop()).List(e.ctx)
	if err != nil {
		return exitError{1, err}
	}
	if *asJSON {
		if all == nil {
			all = []users.User{}
		}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(all)
	}
	if len(all) == 0 {
		fmt.Fprintln(e.stdout, "nobody yet: add an admin with 'edgeagent users add NAME --role admin --config FILE'")
		return nil
	}
	yes := map[bool]string{true: "yes", false: "no"}
	state := map[bool]string{true: "disabled", false: "enabled"}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tROLE\tSTATE\tBADGE\tPIN\tCHANGED")
	for _, u := range all {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", u.Name, u.Role, state[u.Disabled], yes[u.Badge], yes[u.PIN], u.Updated.UTC().Format("2006-01-02 15:04Z"))
	}
	return tw.Flush()
}
