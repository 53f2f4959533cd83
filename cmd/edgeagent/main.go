// Command edgeagent is the shopfloor edge agent of a serialization packaging
// line: it prints labels, reads scanners, keeps every fact in SQLite and
// syncs it to the cloud. Run "edgeagent help" for the commands.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// version is set at link time: -ldflags "-X main.version=1.2.3".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
