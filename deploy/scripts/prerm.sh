#!/bin/sh
# edgeagent prerm: stop the agent cleanly (queued writes commit) before files go.
set -e
if [ -z "${DPKG_ROOT:-}" ] && [ -d /run/systemd/system ] && [ "$1" = "remove" ]; then
	systemctl stop edgeagent.service || true
	systemctl disable edgeagent.service || true
fi
exit 0
