package printer

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Conn is a transport with the Zebra status protocol on top. It is used by
// one goroutine at a time.
type Conn struct {
	t       Transport
	r       frameReader
	timeout time.Duration
}

// NewConn wraps a transport; timeout bounds each status request (default 2s).
func NewConn(t Transport, timeout time.Duration) *Conn {
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	return &Conn{t: t, r: frameReader{t: t}, timeout: timeout}
}

// Transport returns the underlying transport.
func (c *Conn) Transport() Transport { return c.t }

// Close closes the transport.
func (c *Conn) Close() error { return c.t.Close() }

// Send writes label data.
func (c *Conn) Send(ctx context.Context, zpl []byte) error {
	_, err := c.t.Write(ctx, zpl)
	return err
}

func (c *Conn) request(ctx context.Context, cmd string) (context.Context, context.CancelFunc, error) {
	if !c.t.Bidirectional() {
		return nil, nil, fmt.Errorf("%s: %s cannot answer status requests", cmd, c.t)
	}
	c.r.drain()
	rctx, cancel := context.WithTimeout(ctx, c.timeout)
	if _, err := c.t.Write(rctx, []byte(cmd)); err != nil {
		cancel()
		return nil, nil, err
	}
	return rctx, cancel, nil
}

// answerErr names the request in a read error; an answer the reader
// found wrong becomes an ErrNotStatus.
func answerErr(what string, err error) error {
	var bad badAnswer
	if errors.As(err, &bad) {
		return notStatus(what + ": " + bad.Error())
	}
	return fmt.Errorf("%s: %w", what, err)
}

// frames sends a ~ command and reads its n reply frames of at most limit
// bytes each.
func (c *Conn) frames(ctx context.Context, cmd string, n, limit int) ([]string, error) {
	rctx, cancel, err := c.request(ctx, cmd)
	if err != nil {
		return nil, err
	}
	defer cancel()
	frames, err := c.r.frames(rctx, n, limit)
	if err != nil {
		return nil, answerErr(cmd, err)
	}
	return frames, nil
}

// HostStatus asks ~HS. ErrNoAnswer may mean the printer is faulted;
// ErrNotStatus is an answer that is not a Zebra's.
func (c *Conn) HostStatus(ctx context.Context) (HostStatus, error) {
	f, err := c.frames(ctx, "~HS", 3, maxHSFrame)
	if err != nil {
		return HostStatus{}, err
	}
	hs, err := ParseHostStatus(f)
	if err != nil {
		return HostStatus{}, notStatus(err.Error())
	}
	return hs, nil
}

// ExtendedStatus asks ~HQES, which answers even when the printer is faulted.
func (c *Conn) ExtendedStatus(ctx context.Context) (ExtendedStatus, error) {
	f, err := c.frames(ctx, "~HQES", 1, maxFrame)
	if err != nil {
		return ExtendedStatus{}, err
	}
	ext, err := ParseExtendedStatus(f[0])
	if err != nil {
		return ExtendedStatus{}, notStatus(err.Error())
	}
	return ext, nil
}

// HostID asks ~HI.
func (c *Conn) HostID(ctx context.Context) (HostID, error) {
	f, err := c.frames(ctx, "~HI", 1, maxFrame)
	if err != nil {
		return HostID{}, err
	}
	id, err := ParseHostID(f[0])
	if err != nil {
		return HostID{}, notStatus(err.Error())
	}
	return id, nil
}

// GetVar reads an SGD setting; "?" means the printer does not know it.
func (c *Conn) GetVar(ctx context.Context, name string) (string, error) {
	if strings.ContainsAny(name, "\"\r\n") {
		return "", fmt.Errorf("SGD name %q: no quotes or line breaks", name)
	}
	rctx, cancel, err := c.request(ctx, "! U1 getvar \""+name+"\"\r\n")
	if err != nil {
		return "", err
	}
	defer cancel()
	v, err := c.r.quoted(rctx)
	if err != nil {
		return "", answerErr("getvar "+name, err)
	}
	return v, nil
}

// ErrNotZPL is a printer whose command language is not ZPL: it would print
// status requests and labels as text.
var ErrNotZPL = errors.New("printer is not in ZPL mode")

// CheckZPL reads device.languages and fails unless it includes ZPL.
func (c *Conn) CheckZPL(ctx context.Context) error {
	v, err := c.GetVar(ctx, "device.languages")
	if err != nil {
		return err
	}
	if !strings.Contains(strings.ToLower(v), "zpl") {
		return fmt.Errorf("%w: device.languages is %q; set it with ! U1 setvar \"device.languages\" \"zpl\"", ErrNotZPL, v)
	}
	return nil
}

// Odometer reads odometer.total_label_count; ok is false when the printer
// does not keep one.
func (c *Conn) Odometer(ctx context.Context) (n int64, ok bool, err error) {
	v, err := c.GetVar(ctx, "odometer.total_label_count")
	if err != nil {
		return 0, false, err
	}
	n, perr := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if perr != nil {
		return 0, false, nil
	}
	return n, true, nil
}

// Status is everything a status check learns.
type Status struct {
	Transport string          `json:"transport"`
	ID        *HostID         `json:"id,omitempty"`
	Languages string          `json:"languages,omitempty"`
	Odometer  *int64          `json:"odometer,omitempty"`
	Extended  *ExtendedStatus `json:"extended,omitempty"`
	Host      *HostStatus     `json:"host,omitempty"`
	HostErr   string          `json:"host_error,omitempty"`
	Faults    []string        `json:"faults"`
	Warnings  []string        `json:"warnings"`
	Ready     bool            `json:"ready"`
}

// ReadStatus asks the printer everything: ~HI, languages, odometer, ~HQES
// and ~HS. A silent ~HS is reported, not fatal.
func (c *Conn) ReadStatus(ctx context.Context) (Status, error) {
	s := Status{Transport: c.t.String(), Faults: []string{}, Warnings: []string{}}
	if id, err := c.HostID(ctx); err == nil {
		s.ID = &id
	} else {
		return s, err
	}
	if v, err := c.GetVar(ctx, "device.languages"); err == nil {
		s.Languages = v
	}
	if n, ok, err := c.Odometer(ctx); err == nil && ok {
		s.Odometer = &n
	}
	ext, err := c.ExtendedStatus(ctx)
	if err != nil {
		return s, err
	}
	s.Extended = &ext
	s.Faults = append(s.Faults, ext.Faults()...)
	s.Warnings = append(s.Warnings, ext.WarningNames()...)
	if hs, err := c.HostStatus(ctx); err == nil {
		s.Host = &hs
	} else {
		s.HostErr = err.Error()
	}
	s.Ready = len(s.Faults) == 0 && strings.Contains(strings.ToLower(s.Languages), "zpl")
	return s, nil
}
