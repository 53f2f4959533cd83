// Package users knows the people who work the line and how each proves who
// they are (21 CFR Part 11 §11.10(d)(g), §11.300; EU GMP Annex 11 §12):
//
//   - people (Users) with a role (operator ⊂ supervisor ⊂ admin) and a
//     password hashed with argon2id; the last admin can be neither
//     disabled nor demoted;
//   - logins to the dashboard (Sessions), kept in the database as the
//     SHA-256 of their token, ending after an idle time and a lifetime;
//   - station screens paired by a supervisor (Devices);
//   - operators signed on at a station by badge or PIN (Users.SignOn);
//   - electronic signatures (Users.Sign), which ask for the password again;
//   - a limit on failed attempts (Limiter), per name, client address and
//     station.
//
// Every change is written to the audit log in the transaction that makes
// it; no password, PIN, badge code or hash ever is. Deciding who may do
// what (Role.May) is left to the caller, which knows who is asking.
package users

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/rs/zerolog"

	"github.com/edgeagent/edgeagent/internal/audit"
	"github.com/edgeagent/edgeagent/internal/store"
)

// Errors that callers act on. Refusals of what someone typed are
// *InputError (errors.Is(err, ErrInvalid)), worded for the person.
var (
	// ErrInvalid is what every *InputError is: the request is refused as given.
	ErrInvalid = errors.New("not accepted")
	// ErrNoUser: no person has that name.
	ErrNoUser = errors.New("no such person")
	// ErrExists: a person has that name already (names are unique whatever their case).
	ErrExists = errors.New("a person with that name exists already")
	// ErrLastAdmin: the change would leave the line without an admin.
	ErrLastAdmin = errors.New("this is the last admin: make someone else admin first")
	// ErrBadCredentials: wrong name, wrong password, or a disabled person;
	// deliberately one error, so a refusal tells nothing about the name.
	ErrBadCredentials = errors.New("name or password not accepted")
	// ErrLocked: too many failed attempts; errors.As gives a *LockedError.
	ErrLocked = errors.New("too many failed attempts")
	// ErrPINTaken: someone else had that PIN. Their PIN no longer works
	// (the one who chose it now knows it); both need another.
	ErrPINTaken = errors.New("that PIN cannot be used: choose another")
)

// InputError refuses one field of a request; Error is the message for the
// person who typed it.
type InputError struct {
	Field string // e.g. "name", "password"
	Msg   string
}

func (e *InputError) Error() string        { return e.Field + ": " + e.Msg }
func (e *InputError) Is(target error) bool { return target == ErrInvalid }

// Role is what a person may do on the line. Each role includes the ones
// below it: admin ⊇ supervisor ⊇ operator.
type Role string

// The roles, lowest first.
const (
	Operator   Role = "operator"
	Supervisor Role = "supervisor"
	Admin      Role = "admin"
)

var roleRank = map[Role]int{Operator: 1, Supervisor: 2, Admin: 3}

// ParseRole reads a role as typed ("operator", "supervisor", "admin").
func ParseRole(s string) (Role, error) {
	r := Role(strings.ToLower(strings.TrimSpace(s)))
	if !r.Valid() {
		return "", &InputError{"role", fmt.Sprintf("%q is not a role: give operator, supervisor or admin", s)}
	}
	return r, nil
}

// Valid reports whether r is one of the three roles.
func (r Role) Valid() bool { return roleRank[r] > 0 }

// AtLeast reports whether r includes min: an admin is at least a
// supervisor. An unknown role is at least nothing.
func (r Role) AtLeast(min Role) bool { return r.Valid() && min.Valid() && roleRank[r] >= roleRank[min] }

// Act is something a person does on the line, as the role matrix of
// docs/security.md names it.
type Act string

// The acts, and the lowest role that may do each (Needs).
const (
	// ActStation: sign on at a station, scan, give station commands.
	ActStation Act = "station"
	// ActDashboard: the dashboard's actions (retry or park an outbox item, test print).
	ActDashboard Act = "dashboard"
	// ActCorrect: reprint, resolve, disaggregate, remove; each with an electronic signature.
	ActCorrect Act = "correct"
	// ActPair: pair station screens and revoke them.
	ActPair Act = "pair"
	// ActCloseOrder: close a packaging order.
	ActCloseOrder Act = "close-order"
	// ActUsers: add people, change their roles, passwords, badges and PINs, disable them.
	ActUsers Act = "users"
	// ActTemplates: change label templates.
	ActTemplates Act = "templates"
	// ActConfig: change the configuration.
	ActConfig Act = "config"
)

// Needs is the role matrix: the lowest role that may do each act.
var Needs = map[Act]Role{
	ActStation:    Operator,
	ActDashboard:  Supervisor,
	ActCorrect:    Supervisor,
	ActPair:       Supervisor,
	ActCloseOrder: Supervisor,
	ActUsers:      Admin,
	ActTemplates:  Admin,
	ActConfig:     Admin,
}

// May reports whether a person with role r may do a. An act the matrix
// does not name is refused.
func (r Role) May(a Act) bool {
	need, ok := Needs[a]
	return ok && r.AtLeast(need)
}

// Signed reports whether a needs an electronic signature (Users.Sign)
// beside the role.
func (a Act) Signed() bool { return a == ActCorrect }

// Config configures the package. The zero value of each field has the
// meaning given.
type Config struct {
	// Idle ends a dashboard login nobody used for this long; 0 means 30 min.
	Idle time.Duration
	// Absolute ends a dashboard login this long after it began, used or
	// not; 0 means 12 h.
	Absolute time.Duration
	// StationIdle signs an operator off a station where nothing was done
	// for this long; 0 means 15 min.
	StationIdle time.Duration
	// MaxFailures failed attempts within FailureWindow lock the name,
	// address or station for Lockout; 0 means 5, 15 min and 15 min.
	MaxFailures   int
	FailureWindow time.Duration
	Lockout       time.Duration
	// Password and PIN are the costs of new hashes; zero means
	// PasswordHash and PINHash.
	Password HashParams
	PIN      HashParams
	// Now is the clock; nil means time.Now. For tests.
	Now func() time.Time
}

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.Idle, 30*time.Minute)
	def(&c.Absolute, 12*time.Hour)
	def(&c.StationIdle, 15*time.Minute)
	def(&c.FailureWindow, 15*time.Minute)
	def(&c.Lockout, 15*time.Minute)
	if c.MaxFailures <= 0 {
		c.MaxFailures = 5
	}
	if c.Password == (HashParams{}) {
		c.Password = PasswordHash
	}
	if c.PIN == (HashParams{}) {
		c.PIN = PINHash
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// touchEvery is how stale a last-seen time may grow before a read writes
// it again: activity is kept to the minute, not one write per request.
const touchEvery = time.Minute

// User is a person as the line knows them. No secret is in it.
type User struct {
	Name     string    `json:"name"`
	Role     Role      `json:"role"`
	Disabled bool      `json:"disabled"`
	Badge    bool      `json:"badge"` // a badge has been issued
	PIN      bool      `json:"pin"`   // a PIN is set
	Created  time.Time `json:"created"`
	Updated  time.Time `json:"updated"`
}

// Users is the register of people.
type Users struct {
	db      *store.DB
	cfg     Config
	log     zerolog.Logger
	limiter *Limiter

	dummyOnce sync.Once
	dummy     string // a password hash no one has, for names that do not exist

	pinMu sync.Mutex // one PIN change at a time, so two cannot both take one PIN
}

// New returns the register of people kept in db. It writes nothing until
// asked to, so a database opened read-only serves List and Get.
func New(db *store.DB, cfg Config, log zerolog.Logger) *Users {
	cfg = cfg.withDefaults()
	return &Users{db: db, cfg: cfg, log: log, limiter: NewLimiter(cfg)}
}

// Limiter returns the failure limit that Authenticate, Sign and SignOn
// apply, for callers that refuse other attempts by the same counts.
func (u *Users) Limiter() *Limiter { return u.limiter }

func (u *Users) now() time.Time { return u.cfg.Now() }

const userCols = `name, role, password != '', pin != '', badge != '', disabled, created_at, updated_at`

type scanner interface{ Scan(...any) error }

func scanUser(row scanner) (User, error) {
	var x User
	var hasPassword bool
	var created, updated int64
	err := row.Scan(&x.Name, &x.Role, &hasPassword, &x.PIN, &x.Badge, &x.Disabled, &created, &updated)
	x.Created, x.Updated = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
	return x, err
}

// Get returns the person named name (whatever its case).
func (u *Users) Get(ctx context.Context, name string) (User, error) {
	x, err := scanUser(u.db.Reader().QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, fmt.Errorf("%w: %s", ErrNoUser, name)
	}
	return x, err
}

// List returns every person, disabled ones included, by name.
func (u *Users) List(ctx context.Context) ([]User, error) {
	rows, err := u.db.Reader().QueryContext(ctx, `SELECT `+userCols+` FROM users ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		x, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, rows.Err()
}

// Add registers a person with a role and a password. actor is who does it,
// as the audit log names them (e.g. "user:maria", "cli:root").
func (u *Users) Add(ctx context.Context, actor, name string, role Role, password string) error {
	if err := CheckName(name); err != nil {
		return err
	}
	if !role.Valid() {
		return &InputError{"role", fmt.Sprintf("%q is not a role: give operator, supervisor or admin", role)}
	}
	if err := CheckPassword(name, password); err != nil {
		return err
	}
	hash := u.cfg.Password.hash(password) // before the write: the writer does not wait for argon2
	now := u.now().UnixMilli()
	return u.db.Write(ctx, func(tx *sql.Tx) error {
		var taken string
		switch err := tx.QueryRow(`SELECT name FROM users WHERE name = ?`, name).Scan(&taken); {
		case err == nil:
			return fmt.Errorf("%w: %s", ErrExists, taken)
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		if _, err := tx.Exec(`INSERT INTO users (name, role, password, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
			name, role, hash, now, now); err != nil {
			return err
		}
		return audit.Write(tx, actor, "user.add", name, "", "role "+string(role), "")
	})
}

// current reads, inside a write, the person's stored name, role and state.
func current(tx *sql.Tx, name string) (stored string, role Role, disabled bool, err error) {
	err = tx.QueryRow(`SELECT name, role, disabled FROM users WHERE name = ?`, name).Scan(&stored, &role, &disabled)
	if errors.Is(err, sql.ErrNoRows) {
		err = fmt.Errorf("%w: %s", ErrNoUser, name)
	}
	return stored, role, disabled, err
}

// otherAdmins counts the enabled admins other than name.
func otherAdmins(tx *sql.Tx, name string) (int, error) {
	var n int
	err := tx.QueryRow(`SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = 0 AND name != ?`, name).Scan(&n)
	return n, err
}

// endLogins ends the person's dashboard logins and station sign-ons,
// inside the write that makes them void.
func endLogins(tx *sql.Tx, name string, stations bool) error {
	if _, err := tx.Exec(`DELETE FROM user_sessions WHERE user_name = ?`, name); err != nil {
		return err
	}
	if stations {
		if _, err := tx.Exec(`DELETE FROM station_signons WHERE user_name = ?`, name); err != nil {
			return err
		}
	}
	return nil
}

// SetPassword gives the person a new password. Their dashboard logins
// end: whoever knew the old password is logged out.
func (u *Users) SetPassword(ctx context.Context, actor, name, password string) error {
	if err := CheckPassword(name, password); err != nil {
		return err
	}
	hash := u.cfg.Password.hash(password)
	return u.db.Write(ctx, func(tx *sql.Tx) error {
		stored, _, _, err := current(tx, name)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(`UPDATE users SET password = ?, updated_at = ? WHERE name = ?`, hash, u.now().UnixMilli(), stored); err != nil {
			return err
		}
		if err := endLogins(tx, stored, false); err != nil {
			return err
		}
		return audit.Write(tx, actor, "user.password", stored, "", "changed", "")
	})
}

// SetRole changes the person's role. The last enabled admin cannot be
// given a lower one. Logins carry on with the new role at once.
func (u *Users) SetRole(ctx context.Context, actor, name string, role Role) error {
	if !role.Valid() {
		return &InputError{"role", fmt.Sprintf("%q is not a role: give operator, supervisor or admin", role)}
	}
	return u.db.Write(ctx, func(tx *sql.Tx) error {
		stored, old, disabled, err := current(tx, name)
		if err != nil || old == role {
			return err
		}
		if old == Admin && !disabled {
			if n, err := otherAdmins(tx, stored); err != nil {
				return err
			} else if n == 0 {
				return ErrLastAdmin
			}
		}
		if _, err := tx.Exec(`UPDATE users SET role = ?, updated_at = ? WHERE name = ?`, role, u.now().UnixMilli(), stored); err != nil {
			return err
		}
		return audit.Write(tx, actor, "user.role", stored, string(old), string(role), "")
	})
}

// Disable stops the person from logging in, signing on and signing: their
// logins and station sign-ons end. They stay in the register (the audit
// log names them). The last enabled admin cannot be disabled. Disabling a
// disabled person changes nothing.
func (u *Users) Disable(ctx context.Context, actor, name string) error {
	return u.db.Write(ctx, func(tx *sql.Tx) error {
		stored, role, disabled, err := current(tx, name)
		if err != nil || disabled {
			return err
		}
		if role == Admin {
			if n, err := otherAdmins(tx, stored); err != nil {
				return err
			} else if n == 0 {
				return ErrLastAdmin
			}
		}
		if _, err := tx.Exec(`UPDATE users SET disabled = 1, updated_at = ? WHERE name = ?`, u.now().UnixMilli(), stored); err != nil {
			return err
		}
		if err := endLogins(tx, stored, true); err != nil {
			return err
		}
		return audit.Write(tx, actor, "user.disable", stored, "enabled", "disabled", "")
	})
}

// Enable lets a disabled person in again, with the password, badge and PIN
// they had. Enabling an enabled person changes nothing.
func (u *Users) Enable(ctx context.Context, actor, name string) error {
	return u.db.Write(ctx, func(tx *sql.Tx) error {
		stored, _, disabled, err := current(tx, name)
		if err != nil || !disabled {
			return err
		}
		if _, err := tx.Exec(`UPDATE users SET disabled = 0, updated_at = ? WHERE name = ?`, u.now().UnixMilli(), stored); err != nil {
			return err
		}
		return audit.Write(tx, actor, "user.enable", stored, "disabled", "enabled", "")
	})
}

// Authenticate checks a name and password, as AuthenticateFrom without a
// client address.
func (u *Users) Authenticate(ctx context.Context, name, password string) (User, error) {
	return u.AuthenticateFrom(ctx, name, password, "")
}

// AuthenticateFrom checks a name and password given from the client
// address addr ("" if none) and returns the person. It takes the same time
// whether or not the name exists (an unknown name is checked against a
// hash no one has), and gives ErrBadCredentials alike for an unknown name,
// a wrong password and a disabled person. A name or address with too many
// recent failures is refused with a *LockedError before any check.
func (u *Users) AuthenticateFrom(ctx context.Context, name, password, addr string) (User, error) {
	keys := keysOf(name, addr, "")
	if err := u.limiter.begin(keys...); err != nil {
		return User{}, err
	}
	var hash string
	row := u.db.Reader().QueryRowContext(ctx, `SELECT `+userCols+`, password FROM users WHERE name = ?`, name)
	var x User
	var hasPassword bool
	var created, updated int64
	err := row.Scan(&x.Name, &x.Role, &hasPassword, &x.PIN, &x.Badge, &x.Disabled, &created, &updated, &hash)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		u.limiter.end(true, "", keys...) // no attempt was made
		return User{}, err
	}
	found := err == nil
	if !found || hash == "" {
		hash = u.dummyHash()
	}
	ok := verify(hash, password) && found && !x.Disabled
	u.ended(ctx, ok, nameKey(name), keys)
	if !ok {
		return User{}, ErrBadCredentials
	}
	x.Created, x.Updated = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
	return x, nil
}

func (u *Users) dummyHash() string {
	u.dummyOnce.Do(func() { u.dummy = u.cfg.Password.hash("no one has this password") })
	return u.dummy
}

// ended finishes an attempt begun for keys; a success clears the
// failures of the name key succeeded. A failure that starts a lock is
// said in the log and the audit log: repeated attempts are to be noticed
// (§11.300(d)), not only refused.
func (u *Users) ended(ctx context.Context, ok bool, succeeded string, keys []string) {
	for _, l := range u.limiter.end(ok, succeeded, keys...) {
		u.log.Warn().Str("locked", l.Key).Time("until", l.Until).Int("failures", u.cfg.MaxFailures).
			Msg("too many failed attempts: locked")
		// Written even if the one who failed has gone away.
		err := u.db.Write(context.WithoutCancel(ctx), func(tx *sql.Tx) error {
			return audit.Write(tx, "edgeagent", "login.locked", l.Key, "", "locked until "+l.Until.UTC().Format(time.RFC3339),
				fmt.Sprintf("%d failed attempts within %s", u.cfg.MaxFailures, u.cfg.FailureWindow))
		})
		if err != nil {
			u.log.Error().Err(err).Str("locked", l.Key).Msg("the lock could not be written to the audit log")
		}
	}
}

// CheckName refuses what cannot be a person's name: it must be 1 to 64
// printable characters without spaces at either end, and must not look
// like a token (20 or more characters, all of the base64 or hex alphabet),
// which is what someone pasted into the name field by mistake.
func CheckName(name string) error {
	if !utf8.ValidString(name) || name == "" || utf8.RuneCountInString(name) > 64 || !printable(name) {
		return &InputError{"name", "give 1 to 64 printable characters"}
	}
	if strings.TrimSpace(name) != name {
		return &InputError{"name", "no spaces at the start or end"}
	}
	if looksLikeToken(name) {
		return &InputError{"name", "that looks like a token or key, not a person's name: give the name they sign with, e.g. maria.schmidt"}
	}
	return nil
}

// checkStation refuses a station name that is empty, too long or not printable.
func checkStation(station string) error {
	if !utf8.ValidString(station) || station == "" || utf8.RuneCountInString(station) > 64 || !printable(station) {
		return &InputError{"station", "give the station's name, 1 to 64 printable characters"}
	}
	return nil
}

func printable(s string) bool {
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

func looksLikeToken(s string) bool {
	if len(s) < 20 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("+/=_-", c) >= 0) {
			return false
		}
	}
	return true
}

// CheckPassword refuses a password that is shorter than 12 characters,
// longer than 256, holds control characters, or is the name itself.
func CheckPassword(name, password string) error {
	n := utf8.RuneCountInString(password)
	switch {
	case !utf8.ValidString(password):
		return &InputError{"password", "not valid text"}
	case n < 12:
		return &InputError{"password", fmt.Sprintf("at least 12 characters (this one has %d)", n)}
	case n > 256:
		return &InputError{"password", "at most 256 characters"}
	case !printable(password):
		return &InputError{"password", "no control characters (tabs, line ends)"}
	case strings.EqualFold(password, name):
		return &InputError{"password", "must not be the name"}
	}
	return nil
}

// sha256hex is how tokens, credentials and badge codes are kept: they are
// random and long, so a fast hash suffices and allows looking them up.
func sha256hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
