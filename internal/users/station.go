package users

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/edgeagent/edgeagent/internal/audit"
)

// Operators sign on at a station by scanning their badge or typing their
// PIN; either alone is enough.
//
// A badge is "BADGE:" and 16 characters of an alphabet without look-alikes
// (no 0 or O, no 1 or I): 80 random bits, printable as Code 128 and typed from
// the printout if need be. Only its SHA-256 is kept, so a badge is found by
// its hash at once.
//
// A PIN is 6 to 12 digits and must identify its holder on its own, so no
// two people may have the same one. SetPIN tries the new PIN against every
// other person's: if it is someone's, that person's PIN is removed (the one
// choosing it now knows it, so it is no longer secret) and the new PIN is
// refused with ErrPINTaken. Signing on with a PIN tries it against each
// person who has one (PINHash costs about 20 ms each on a line PC; a line
// with more than a few dozen PIN holders is better served by badges).
// Wrong PINs count against the station in the Limiter; a station locked
// takes no PIN until the lock ends, but badges still (a badge's 80 random
// bits cannot be guessed).

// ErrNotSignedOn: nobody is signed on at the station (or was, and did
// nothing there for Config.StationIdle).
var ErrNotSignedOn = errors.New("nobody is signed on at this station: scan your badge or type your PIN")

// ErrBadSignOn: the badge or PIN belongs to nobody who may sign on.
var ErrBadSignOn = errors.New("badge or PIN not recognised")

// BadgePrefix starts every badge code.
const BadgePrefix = "BADGE:"

// badgeAlphabet has 32 characters, none mistaken for another.
const badgeAlphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"

func newBadge() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	var sb strings.Builder
	sb.WriteString(BadgePrefix)
	for _, c := range b {
		sb.WriteByte(badgeAlphabet[c&31])
	}
	return sb.String()
}

// SetBadge issues the person a new badge and returns its code, to be
// printed once: it is not stored and cannot be shown again. The badge they
// had stops working.
func (u *Users) SetBadge(ctx context.Context, actor, name string) (string, error) {
	code := newBadge()
	err := u.db.Write(ctx, func(tx *sql.Tx) error {
		stored, _, _, err := current(tx, name)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(`UPDATE users SET badge = ?, updated_at = ? WHERE name = ?`, sha256hex(code), u.now().UnixMilli(), stored); err != nil {
			return err
		}
		return audit.Write(tx, actor, "user.badge", stored, "", "new badge issued", "")
	})
	if err != nil {
		return "", err
	}
	return code, nil
}

// CheckPIN refuses a PIN that is not 6 to 12 digits, or is one digit
// repeated or a straight run (123456, 987654): those are the first ones
// tried.
func CheckPIN(pin string) error {
	if len(pin) < 6 || len(pin) > 12 || strings.Trim(pin, "0123456789") != "" {
		return &InputError{"PIN", "give 6 to 12 digits"}
	}
	same, up, down := true, true, true
	for i := 1; i < len(pin); i++ {
		d := int(pin[i]) - int(pin[i-1])
		same, up, down = same && d == 0, up && (d == 1 || d == -9), down && (d == -1 || d == 9)
	}
	if same || up || down {
		return &InputError{"PIN", "too easy to guess (one digit repeated, or a run like 123456): choose another"}
	}
	return nil
}

// SetPIN sets the person's PIN; "" removes it. A PIN that another person
// has is refused with ErrPINTaken, and theirs is removed (see above).
func (u *Users) SetPIN(ctx context.Context, actor, name, pin string) error {
	if pin != "" {
		if err := CheckPIN(pin); err != nil {
			return err
		}
	}
	u.pinMu.Lock()
	defer u.pinMu.Unlock()
	target, err := u.Get(ctx, name)
	if err != nil {
		return err
	}
	if pin == "" {
		return u.db.Write(ctx, func(tx *sql.Tx) error {
			if _, err := tx.Exec(`UPDATE users SET pin = '', updated_at = ? WHERE name = ?`, u.now().UnixMilli(), target.Name); err != nil {
				return err
			}
			return audit.Write(tx, actor, "user.pin", target.Name, "", "removed", "")
		})
	}
	holder, err := u.pinHolder(ctx, pin, target.Name)
	if err != nil {
		return err
	}
	if holder != "" {
		err := u.db.Write(ctx, func(tx *sql.Tx) error {
			if _, err := tx.Exec(`UPDATE users SET pin = '', updated_at = ? WHERE name = ?`, u.now().UnixMilli(), holder); err != nil {
				return err
			}
			return audit.Write(tx, actor, "user.pin", holder, "", "removed",
				"chosen for "+target.Name+", who may not have it either: give "+holder+" a new PIN")
		})
		if err != nil {
			return err
		}
		return ErrPINTaken
	}
	hash := u.cfg.PIN.hash(pin)
	return u.db.Write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.Exec(`UPDATE users SET pin = ?, updated_at = ? WHERE name = ?`, hash, u.now().UnixMilli(), target.Name); err != nil {
			return err
		}
		return audit.Write(tx, actor, "user.pin", target.Name, "", "changed", "")
	})
}

// pinHolder returns the name of the person other than except ("" for
// none) whose PIN is pin, among the enabled and disabled alike.
func (u *Users) pinHolder(ctx context.Context, pin, except string) (string, error) {
	rows, err := u.db.Reader().QueryContext(ctx, `SELECT name, pin FROM users WHERE pin != '' AND name != ? ORDER BY name`, except)
	if err != nil {
		return "", err
	}
	type holder struct{ name, hash string }
	var all []holder
	for rows.Next() {
		var h holder
		if err := rows.Scan(&h.name, &h.hash); err != nil {
			rows.Close()
			return "", err
		}
		all = append(all, h)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return "", err
	}
	for _, h := range all { // after the rows are closed: hashing takes a while
		if verify(h.hash, pin) {
			return h.name, nil
		}
	}
	return "", nil
}

// StationUser is who is signed on at a station.
type StationUser struct {
	Station      string    `json:"station"`
	User         string    `json:"user"`
	Role         Role      `json:"role"`
	Since        time.Time `json:"since"`
	LastActivity time.Time `json:"last_activity"` // to the minute
}

// SignOn signs the holder of code on at station: code is a badge as
// scanned (BADGE:…, any case, surrounding spaces and line ends ignored) or
// a PIN as typed. Whoever was signed on there is signed off. A wrong badge
// or PIN, or one of a disabled person, is ErrBadSignOn; a wrong PIN counts
// against the station (a *LockedError for PINs once it is locked).
// Something that is neither a badge nor a PIN is an *InputError and does
// not count.
func (u *Users) SignOn(ctx context.Context, station, code string) (User, error) {
	if err := checkStation(station); err != nil {
		return User{}, err
	}
	code = strings.TrimSpace(code)
	isBadge := len(code) > len(BadgePrefix) && strings.EqualFold(code[:len(BadgePrefix)], BadgePrefix)
	isPIN := len(code) >= 6 && len(code) <= 12 && strings.Trim(code, "0123456789") == ""
	if !isBadge && !isPIN {
		return User{}, &InputError{"sign-on", "scan your badge or type your PIN"}
	}
	// Only PINs are limited: a badge has 80 random bits, too many to guess,
	// so a station locked against PIN guessing still takes badges and the
	// line goes on.
	var keys []string
	if isPIN {
		keys = []string{stationKey(station)}
	}
	if err := u.limiter.begin(keys...); err != nil {
		return User{}, err
	}
	x, how, err := u.holderOf(ctx, code, isBadge)
	if err != nil {
		u.limiter.end(true, "", keys...) // no attempt was made
		return User{}, err
	}
	ok := x.Name != "" && !x.Disabled
	u.ended(ctx, ok, "", keys)
	if !ok {
		return User{}, ErrBadSignOn
	}
	now := u.now().UnixMilli()
	err = u.db.Write(ctx, func(tx *sql.Tx) error {
		var before string
		switch err := tx.QueryRow(`SELECT user_name FROM station_signons WHERE station = ?`, station).Scan(&before); {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		}
		if _, err := tx.Exec(`INSERT INTO station_signons (station, user_name, since, last_activity) VALUES (?, ?, ?, ?)
			ON CONFLICT (station) DO UPDATE SET user_name = excluded.user_name, since = excluded.since, last_activity = excluded.last_activity`,
			station, x.Name, now, now); err != nil {
			return err
		}
		return audit.Write(tx, "user:"+x.Name, "station.sign_on", station, before, x.Name, "by "+how)
	})
	if err != nil {
		return User{}, err
	}
	return x, nil
}

// holderOf returns the person whose badge or PIN code is (no one: a zero
// User) and how they were found.
func (u *Users) holderOf(ctx context.Context, code string, isBadge bool) (User, string, error) {
	var name, how string
	if isBadge {
		how = "badge"
		err := u.db.Reader().QueryRowContext(ctx, `SELECT name FROM users WHERE badge = ?`, sha256hex(strings.ToUpper(code))).Scan(&name)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return User{}, how, err
		}
	} else {
		how = "PIN"
		holder, err := u.pinHolder(ctx, code, "")
		if err != nil {
			return User{}, how, err
		}
		name = holder
	}
	if name == "" {
		return User{}, how, nil
	}
	x, err := u.Get(ctx, name)
	return x, how, err
}

// SignedOn returns who is signed on at station, or ErrNotSignedOn if
// nobody is, their person was disabled, or nothing was done there for
// Config.StationIdle. It writes nothing: a screen asking who is signed on
// is no activity. Touch records activity.
func (u *Users) SignedOn(ctx context.Context, station string) (StationUser, error) {
	var su StationUser
	var since, last int64
	err := u.db.Reader().QueryRowContext(ctx, `SELECT s.station, s.user_name, u.role, s.since, s.last_activity
		FROM station_signons s JOIN users u ON u.name = s.user_name WHERE s.station = ? AND u.disabled = 0`, station).
		Scan(&su.Station, &su.User, &su.Role, &since, &last)
	if errors.Is(err, sql.ErrNoRows) {
		return StationUser{}, ErrNotSignedOn
	} else if err != nil {
		return StationUser{}, err
	}
	su.Since, su.LastActivity = time.UnixMilli(since).UTC(), time.UnixMilli(last).UTC()
	if u.now().Sub(su.LastActivity) >= u.cfg.StationIdle {
		return StationUser{}, ErrNotSignedOn
	}
	return su, nil
}

// Touch is SignedOn for an act done at the station (a scan, a command): it
// keeps the sign-on alive, writing its last activity when that is a minute
// old or more.
func (u *Users) Touch(ctx context.Context, station string) (StationUser, error) {
	su, err := u.SignedOn(ctx, station)
	if err != nil {
		return su, err
	}
	now := u.now()
	if now.Sub(su.LastActivity) >= touchEvery {
		err := u.db.Write(ctx, func(tx *sql.Tx) error {
			_, err := tx.Exec(`UPDATE station_signons SET last_activity = ? WHERE station = ? AND user_name = ?`, now.UnixMilli(), station, su.User)
			return err
		})
		if err != nil {
			return StationUser{}, err
		}
		su.LastActivity = now.UTC().Truncate(time.Millisecond)
	}
	return su, nil
}

// SignOff signs whoever is signed on at station off. A station nobody is
// signed on at changes nothing.
func (u *Users) SignOff(ctx context.Context, station string) error {
	return u.db.Write(ctx, func(tx *sql.Tx) error {
		var name string
		err := tx.QueryRow(`DELETE FROM station_signons WHERE station = ? RETURNING user_name`, station).Scan(&name)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		} else if err != nil {
			return err
		}
		return audit.Write(tx, "user:"+name, "station.sign_off", station, name, "", "")
	})
}
