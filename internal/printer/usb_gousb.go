package printer

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/gousb"
)

// gousbBackend is the real USB backend, through libusb.
type gousbBackend struct{}

// printerSetting finds the printer-class interface (class 7), preferring the
// bidirectional protocol.
func printerSetting(desc *gousb.DeviceDesc) (cfg int, setting gousb.InterfaceSetting, ok bool) {
	for _, c := range desc.Configs {
		for _, intf := range c.Interfaces {
			for _, alt := range intf.AltSettings {
				if alt.Class != gousb.ClassPrinter {
					continue
				}
				if !ok || (alt.Protocol == 2 && setting.Protocol != 2) {
					cfg, setting, ok = c.Number, alt, true
				}
			}
		}
	}
	return cfg, setting, ok
}

func (gousbBackend) List(vid uint16) ([]USBDevice, error) {
	ctx := gousb.NewContext()
	defer ctx.Close()
	devs, err := ctx.OpenDevices(func(d *gousb.DeviceDesc) bool {
		_, _, ok := printerSetting(d)
		return d.Vendor == gousb.ID(vid) && ok
	})
	defer func() {
		for _, d := range devs {
			d.Close()
		}
	}()
	if err != nil && len(devs) == 0 {
		return nil, err
	}
	var out []USBDevice
	for _, d := range devs {
		_, setting, _ := printerSetting(d.Desc)
		info := USBDevice{VID: uint16(d.Desc.Vendor), PID: uint16(d.Desc.Product), Bus: d.Desc.Bus, Address: d.Desc.Address,
			Bidirectional: setting.Protocol == 2}
		info.Serial, _ = d.SerialNumber()
		info.Manufacturer, _ = d.Manufacturer()
		info.Product, _ = d.Product()
		out = append(out, info)
	}
	return out, nil
}

// gousbConn holds what must be closed, in the order it must be closed:
// interface, configuration, device, context.
type gousbConn struct {
	ctx  *gousb.Context
	dev  *gousb.Device
	cfg  *gousb.Config
	intf *gousb.Interface
	out  *gousb.OutEndpoint
	in   *gousb.InEndpoint
}

func (gousbBackend) Open(want USBDevice) (usbConn, error) {
	c := &gousbConn{ctx: gousb.NewContext()}
	devs, err := c.ctx.OpenDevices(func(d *gousb.DeviceDesc) bool {
		return d.Vendor == gousb.ID(want.VID) && d.Product == gousb.ID(want.PID) && d.Bus == want.Bus && d.Address == want.Address
	})
	for _, d := range devs[min(1, len(devs)):] {
		d.Close()
	}
	if len(devs) == 0 {
		c.ctx.Close()
		if err == nil {
			err = errors.New("device gone")
		}
		return nil, err
	}
	c.dev = devs[0]
	if err := c.claim(); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func (c *gousbConn) claim() error {
	if err := c.dev.SetAutoDetach(true); err != nil {
		return fmt.Errorf("detach the kernel printer driver: %w", err)
	}
	cfgNum, setting, ok := printerSetting(c.dev.Desc)
	if !ok {
		return errors.New("no printer-class interface")
	}
	var err error
	if c.cfg, err = c.dev.Config(cfgNum); err != nil {
		return fmt.Errorf("configuration %d: %w", cfgNum, err)
	}
	if c.intf, err = c.cfg.Interface(setting.Number, setting.Alternate); err != nil {
		return fmt.Errorf("claim interface %d: %w", setting.Number, err)
	}
	for _, ep := range setting.Endpoints {
		if ep.TransferType != gousb.TransferTypeBulk {
			continue
		}
		switch {
		case ep.Direction == gousb.EndpointDirectionOut && c.out == nil:
			c.out, err = c.intf.OutEndpoint(ep.Number)
		case ep.Direction == gousb.EndpointDirectionIn && c.in == nil:
			c.in, err = c.intf.InEndpoint(ep.Number)
		}
		if err != nil {
			return fmt.Errorf("endpoint %s: %w", ep.Address, err)
		}
	}
	if c.out == nil {
		return errors.New("no bulk OUT endpoint on the printer interface")
	}
	return nil
}

func (c *gousbConn) WriteContext(ctx context.Context, p []byte) (int, error) {
	return c.out.WriteContext(ctx, p)
}

func (c *gousbConn) ReadContext(ctx context.Context, p []byte) (int, error) {
	if c.in == nil {
		return 0, errors.New("no bulk IN endpoint")
	}
	return c.in.ReadContext(ctx, p)
}

func (c *gousbConn) Close() error {
	if c.intf != nil {
		c.intf.Close()
	}
	var errs []error
	if c.cfg != nil {
		errs = append(errs, c.cfg.Close())
	}
	if c.dev != nil {
		errs = append(errs, c.dev.Close())
	}
	errs = append(errs, c.ctx.Close())
	return errors.Join(errs...)
}
