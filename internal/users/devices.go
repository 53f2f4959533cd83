package users

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/edgeagent/edgeagent/internal/audit"
	"github.com/edgeagent/edgeagent/internal/store"
)

// ErrNoDevice: the credential or number names no paired station screen
// (never paired, or revoked).
var ErrNoDevice = errors.New("this screen is not paired with a station: ask a supervisor to pair it")

// Device is a station screen paired by a supervisor. Its credential is
// never stored, only its SHA-256.
type Device struct {
	ID        int64     `json:"id"`
	Station   string    `json:"station"`
	PairedBy  string    `json:"paired_by"`
	PairedAt  time.Time `json:"paired_at"`
	LastSeen  time.Time `json:"last_seen"` // to the minute; zero if never used
	RevokedBy string    `json:"revoked_by,omitempty"`
	RevokedAt time.Time `json:"revoked_at"` // zero while in use
}

// Revoked reports whether the screen's credential no longer works.
func (d Device) Revoked() bool { return !d.RevokedAt.IsZero() }

// Devices keeps the paired station screens.
type Devices struct {
	db  *store.DB
	cfg Config
}

// NewDevices returns the station screens paired in db.
func NewDevices(db *store.DB, cfg Config) *Devices {
	return &Devices{db: db, cfg: cfg.withDefaults()}
}

// Pair makes a credential for a screen of station and returns it, once,
// with the device: the screen keeps it (a cookie or its local storage) and
// shows it with each request. It is 32 random bytes (base64url) and works
// until revoked. actor is the supervisor who pairs, as the audit log names
// them. A station may have more than one screen.
func (d *Devices) Pair(ctx context.Context, actor, station string) (string, Device, error) {
	if err := checkStation(station); err != nil {
		return "", Device{}, err
	}
	cred := randomToken(32)
	now := d.cfg.Now()
	dev := Device{Station: station, PairedBy: actor, PairedAt: now.UTC().Truncate(time.Millisecond)}
	err := d.db.Write(ctx, func(tx *sql.Tx) error {
		res, err := tx.Exec(`INSERT INTO station_devices (station, secret_hash, paired_by, paired_at) VALUES (?, ?, ?, ?)`,
			station, sha256hex(cred), actor, now.UnixMilli())
		if err != nil {
			return err
		}
		if dev.ID, err = res.LastInsertId(); err != nil {
			return err
		}
		return audit.Write(tx, actor, "device.pair", "station "+station, "", "screen "+strconv.FormatInt(dev.ID, 10), "")
	})
	if err != nil {
		return "", Device{}, err
	}
	return cred, dev, nil
}

// Revoke stops the credential of screen id from working. Revoking a
// revoked screen changes nothing.
func (d *Devices) Revoke(ctx context.Context, actor string, id int64) error {
	return d.db.Write(ctx, func(tx *sql.Tx) error {
		var station string
		var revokedAt int64
		err := tx.QueryRow(`SELECT station, revoked_at FROM station_devices WHERE id = ?`, id).Scan(&station, &revokedAt)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w (screen %d)", ErrNoDevice, id)
		} else if err != nil || revokedAt != 0 {
			return err
		}
		if _, err := tx.Exec(`UPDATE station_devices SET revoked_by = ?, revoked_at = ? WHERE id = ?`, actor, d.cfg.Now().UnixMilli(), id); err != nil {
			return err
		}
		return audit.Write(tx, actor, "device.revoke", "station "+station, "screen "+strconv.FormatInt(id, 10), "revoked", "")
	})
}

const deviceCols = `id, station, paired_by, paired_at, last_seen, revoked_by, revoked_at`

func scanDevice(row scanner) (Device, error) {
	var x Device
	var paired, seen, revoked int64
	err := row.Scan(&x.ID, &x.Station, &x.PairedBy, &paired, &seen, &x.RevokedBy, &revoked)
	x.PairedAt = time.UnixMilli(paired).UTC()
	if seen != 0 {
		x.LastSeen = time.UnixMilli(seen).UTC()
	}
	if revoked != 0 {
		x.RevokedAt = time.UnixMilli(revoked).UTC()
	}
	return x, err
}

// List returns every paired screen, revoked ones included, by station and
// then in the order they were paired.
func (d *Devices) List(ctx context.Context) ([]Device, error) {
	rows, err := d.db.Reader().QueryContext(ctx, `SELECT `+deviceCols+` FROM station_devices ORDER BY station, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Device
	for rows.Next() {
		x, err := scanDevice(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, rows.Err()
}

// Lookup returns the screen that credential belongs to, or ErrNoDevice if
// none does or it was revoked. Its last-seen time is written when it is a
// minute old or more.
func (d *Devices) Lookup(ctx context.Context, credential string) (Device, error) {
	if credential == "" {
		return Device{}, ErrNoDevice
	}
	x, err := scanDevice(d.db.Reader().QueryRowContext(ctx,
		`SELECT `+deviceCols+` FROM station_devices WHERE secret_hash = ? AND revoked_at = 0`, sha256hex(credential)))
	if errors.Is(err, sql.ErrNoRows) {
		return Device{}, ErrNoDevice
	} else if err != nil {
		return Device{}, err
	}
	now := d.cfg.Now()
	if now.Sub(x.LastSeen) >= touchEvery {
		err := d.db.Write(ctx, func(tx *sql.Tx) error {
			_, err := tx.Exec(`UPDATE station_devices SET last_seen = ? WHERE id = ?`, now.UnixMilli(), x.ID)
			return err
		})
		if err != nil {
			return Device{}, err
		}
		x.LastSeen = now.UTC().Truncate(time.Millisecond)
	}
	return x, nil
}
