package main

import (
	"context"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/rs/zerolog"
)

// sdNotify tells systemd (Type=notify) about the service's state through
// $NOTIFY_SOCKET; without it (not under systemd) it does nothing.
func sdNotify(state string) error {
	path := os.Getenv("NOTIFY_SOCKET")
	if path == "" {
		return nil
	}
	if path[0] == '@' {
		path = "\x00" + path[1:] // abstract namespace
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return err
	}
	defer conn.Close()
	_, err = conn.Write([]byte(state))
	return err
}

// watchdog pings systemd's watchdog at half its interval while healthy()
// says the agent works (the database answers); a hung agent stops pinging
// and systemd restarts it.
func watchdog(ctx context.Context, healthy func(context.Context) error, log zerolog.Logger) {
	usec, err := strconv.ParseInt(os.Getenv("WATCHDOG_USEC"), 10, 64)
	if err != nil || usec <= 0 {
		return
	}
	if pid := os.Getenv("WATCHDOG_PID"); pid != "" && pid != strconv.Itoa(os.Getpid()) {
		return
	}
	every := time.Duration(usec) * time.Microsecond / 2
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cctx, cancel := context.WithTimeout(ctx, every/2)
		err := healthy(cctx)
		cancel()
		if err != nil {
			log.Warn().Err(err).Msg("watchdog: not healthy, not pinging systemd")
			continue
		}
		if err := sdNotify("WATCHDOG=1"); err != nil {
			log.Warn().Err(err).Msg("watchdog: cannot reach systemd")
		}
	}
}
