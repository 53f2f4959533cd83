package scanner

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/gousb"
)

// gousbHID reads HID POS reports through libusb: the HID interface (class
// 3) of the device with the VID, PID and serial number, its interrupt IN
// endpoint, the kernel driver detached.
type gousbHID struct{}

type gousbHIDDevice struct {
	ctx  *gousb.Context
	dev  *gousb.Device
	cfg  *gousb.Config
	intf *gousb.Interface
	in   *gousb.InEndpoint
	size int
}

func (gousbHID) Open(vid, pid uint16, serial string) (hidDevice, error) {
	h := &gousbHIDDevice{ctx: gousb.NewContext()}
	devs, err := h.ctx.OpenDevices(func(d *gousb.DeviceDesc) bool {
		return d.Vendor == gousb.ID(vid) && d.Product == gousb.ID(pid)
	})
	for _, d := range devs {
		if sn, _ := d.SerialNumber(); h.dev == nil && (serial == "" || sn == serial) {
			h.dev = d
			continue
		}
		d.Close()
	}
	if h.dev == nil {
		h.ctx.Close()
		if err == nil {
			err = fmt.Errorf("no scanner %04x:%04x with serial %q attached", vid, pid, serial)
		}
		return nil, err
	}
	if err := h.claim(); err != nil {
		h.Close()
		return nil, err
	}
	return h, nil
}

func (h *gousbHIDDevice) claim() error {
	if err := h.dev.SetAutoDetach(true); err != nil {
		return err
	}
	for _, c := range h.dev.Desc.Configs {
		for _, intf := range c.Interfaces {
			for _, alt := range intf.AltSettings {
				if alt.Class != gousb.ClassHID {
					continue
				}
				for _, ep := range alt.Endpoints {
					if ep.Direction != gousb.EndpointDirectionIn || ep.TransferType != gousb.TransferTypeInterrupt {
						continue
					}
					var err error
					if h.cfg, err = h.dev.Config(c.Number); err != nil {
						return err
					}
					if h.intf, err = h.cfg.Interface(alt.Number, alt.Alternate); err != nil {
						return err
					}
					if h.in, err = h.intf.InEndpoint(ep.Number); err != nil {
						return err
					}
					h.size = ep.MaxPacketSize
					return nil
				}
			}
		}
	}
	return errors.New("no HID interface with an interrupt IN endpoint")
}

func (h *gousbHIDDevice) ReadReport(ctx context.Context) ([]byte, error) {
	b := make([]byte, max(h.size, 64))
	for {
		n, err := h.in.ReadContext(ctx, b)
		if n > 0 {
			return b[:n], nil
		}
		if err != nil {
			return nil, err
		}
	}
}

func (h *gousbHIDDevice) Close() error {
	if h.intf != nil {
		h.intf.Close()
	}
	var errs []error
	if h.cfg != nil {
		errs = append(errs, h.cfg.Close())
	}
	if h.dev != nil {
		errs = append(errs, h.dev.Close())
	}
	errs = append(errs, h.ctx.Close())
	return errors.Join(errs...)
}
