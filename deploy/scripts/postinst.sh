#!/bin/sh
# edgeagent postinst: the service user, its state directory and a token.
# Honours DPKG_ROOT (installs into another root without chroot).
set -e
ROOT="${DPKG_ROOT:-}"
if [ "$1" = "configure" ]; then
	if ! grep -q '^edgeagent:' "$ROOT/etc/passwd" 2>/dev/null; then
		if [ -n "$ROOT" ]; then
			useradd --prefix "$ROOT" --system --user-group --home-dir /var/lib/edgeagent --no-create-home --shell /usr/sbin/nologin edgeagent
		else
			useradd --system --user-group --home-dir /var/lib/edgeagent --no-create-home --shell /usr/sbin/nologin edgeagent
		fi
	fi
	if [ -z "$ROOT" ] && getent group dialout >/dev/null; then
		usermod -a -G dialout edgeagent
	fi
	uid=$(awk -F: '$1 == "edgeagent" {print $3}' "$ROOT/etc/passwd")
	gid=$(awk -F: '$1 == "edgeagent" {print $3}' "$ROOT/etc/group")
	install -d -m 0700 "$ROOT/var/lib/edgeagent"
	chown "$uid:$gid" "$ROOT/var/lib/edgeagent"
	chown "$uid:$gid" "$ROOT/etc/edgeagent/edgeagent.yaml"
	chmod 0600 "$ROOT/etc/edgeagent/edgeagent.yaml"
	if [ ! -e "$ROOT/etc/edgeagent/edgeagent.env" ]; then
		umask 077
		printf 'EDGEAGENT_TOKEN=%s\n' "$(head -c 24 /dev/urandom | base64 | tr '+/' '-_')" > "$ROOT/etc/edgeagent/edgeagent.env"
	fi
	if [ -z "$ROOT" ] && [ -d /run/systemd/system ]; then
		systemctl daemon-reload
		udevadm control --reload 2>/dev/null || true
		systemctl enable edgeagent.service
		# An upgrade restarts the agent: the database is migrated at start.
		systemctl restart edgeagent.service
	fi
fi
exit 0
