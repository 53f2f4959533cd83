#!/bin/sh
# edgeagent postrm: on purge, remove the token; the database in
# /var/lib/edgeagent is kept (it holds the line's records): delete it by hand.
set -e
ROOT="${DPKG_ROOT:-}"
if [ "$1" = "purge" ]; then
	rm -f "$ROOT/etc/edgeagent/edgeagent.env"
	rmdir "$ROOT/etc/edgeagent" 2>/dev/null || true
fi
if [ -z "$ROOT" ] && [ -d /run/systemd/system ]; then
	systemctl daemon-reload || true
fi
exit 0
