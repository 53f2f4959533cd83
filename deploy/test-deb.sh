#!/usr/bin/env bash
# Installs, upgrades and removes the edgeagent package in a throwaway root
# (dpkg --root, maintainer scripts run with DPKG_ROOT), and runs the
# installed agent: it starts, queues a fact while offline, and after the
# upgrade the database is migrated and the queued fact is still there.
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d)
root="$work/root"
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "deb test: $*" >&2; exit 1; }

# The new package, from this tree.
make -s deb DEB_VERSION=0.1.0+test2 DIST="$work/dist" >/dev/null
v2=$(ls "$work"/dist/edgeagent_0.1.0+test2_*.deb)
# The old one: the last revision before the newest database migration, with
# the configuration that version wrote, so the upgrade migrates a real
# database. (Without that history, as in a shallow clone: this tree again.)
newest=$(ls internal/store/migrations | sort | tail -1)
old=$(git log --format=%H -1 -- "internal/store/migrations/$newest" 2>/dev/null || true)
mkdir -p "$work/old"
if [ -n "$old" ] && git rev-parse -q --verify "$old^" >/dev/null; then
	git worktree add -f --detach "$work/old/src" "$old^" >/dev/null 2>&1
	(cd "$work/old/src" && go build -ldflags "-X main.version=0.1.0+test1" -o "$work/old/edgeagent" ./cmd/edgeagent)
	git worktree remove --force "$work/old/src"
	echo "old package: $(git log --format='%h %s' -1 "$old^" | cut -c1-70)"
else
	go build -ldflags "-X main.version=0.1.0+test1" -o "$work/old/edgeagent" ./cmd/edgeagent
fi
"$work/old/edgeagent" init "$work/old/edgeagent.yaml" >/dev/null
sed -i 's|^  format: auto|  format: json|' "$work/old/edgeagent.yaml"
sed -e "s|\${BINARY}|$work/old/edgeagent|" -e "s|\${CONFIG}|$work/old/edgeagent.yaml|" deploy/nfpm.yaml > "$work/old/nfpm.yaml"
VERSION=0.1.0+test1 ARCH=$(go env GOARCH) go run github.com/goreleaser/nfpm/v2/cmd/nfpm@"${NFPM_VERSION:-v2.41.1}" \
	package -p deb -f "$work/old/nfpm.yaml" -t "$work/dist/" >/dev/null
v1=$(ls "$work"/dist/edgeagent_0.1.0+test1_*.deb)

# A fresh system's dpkg database and accounts.
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates" "$root/etc"
touch "$root/var/lib/dpkg/status"
echo 'root:x:0:0:root:/root:/bin/sh' > "$root/etc/passwd"
echo 'root:x:0:' > "$root/etc/group"
echo 'root:*:19000:0:99999:7:::' > "$root/etc/shadow"
echo 'root:*::' > "$root/etc/gshadow"
chmod 600 "$root/etc/shadow" "$root/etc/gshadow"
dpkg_root() { dpkg --root="$root" --force-script-chrootless --force-depends --force-confold --log=/dev/null "$@" >/dev/null 2>&1 || fail "dpkg $*"; }

echo "install $(basename "$v1")"
dpkg_root -i "$v1"
[ "$("$root/usr/bin/edgeagent" version)" = "edgeagent 0.1.0+test1" ] || fail "installed binary has the wrong version"
grep -q '^edgeagent:' "$root/etc/passwd" || fail "no edgeagent user"
[ "$(stat -c %a "$root/var/lib/edgeagent")" = 700 ] || fail "state directory is not 0700"
[ "$(stat -c %a "$root/etc/edgeagent/edgeagent.yaml")" = 600 ] || fail "configuration is not 0600"
[ "$(stat -c %a "$root/etc/edgeagent/edgeagent.env")" = 600 ] || fail "token file is not 0600"
[ -f "$root/lib/systemd/system/edgeagent.service" ] || fail "no systemd unit"
[ -f "$root/lib/udev/rules.d/99-edgeagent-zebra.rules" ] && [ -f "$root/lib/udev/rules.d/99-edgeagent-scanners.rules" ] || fail "no udev rules"
if command -v systemd-analyze >/dev/null 2>&1; then
	systemd-analyze verify "$root/lib/systemd/system/edgeagent.service" 2>&1 | grep -v -e 'edgeagent.*executable' -e '^$' || true
fi

# Run the installed agent as the service would, on this machine: the
# packaged configuration with the state directory and port of the root.
# A free port: one nothing answers on.
port=$((20000 + RANDOM % 30000))
while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((20000 + RANDOM % 30000)); done
cfg="$root/etc/edgeagent/edgeagent.yaml"
sed -i -e "s|^data_dir: .*|data_dir: $root/var/lib/edgeagent|" -e "s|listen: 127.0.0.1:8080|listen: 127.0.0.1:$port|" \
	-e 's|^  products: \[\]|  products: [{gtin: "09506000134352", market: EU}]|' -e 's|^  channel_keys: \[\]|  channel_keys: [deb-test]|' "$cfg"
set -a; . "$root/etc/edgeagent/edgeagent.env"; set +a
start() {
	"$root/usr/bin/edgeagent" run --config "$cfg" 2>>"$work/agent.log" &
	pid=$!
	for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && return 0; sleep 0.1; done
	cat "$work/agent.log" >&2; fail "the installed agent is not ready"
}
stop() { kill -TERM "$pid"; wait "$pid" || fail "unclean stop"; pid=""; }
start
curl -fs -X POST "http://127.0.0.1:$port/v1/manufacturer/v2/api/packaging_order" -H "x-access-token: $EDGEAGENT_TOKEN" \
	-H 'x-channel-key: deb-test' -H 'Content-Type: application/json' \
	-d '{"order_id":"PO-DEB-1","product_code":"09506000134352","product_code_schema":"GTIN"}' >/dev/null || fail "packaging order refused"
stop
"$root/usr/bin/edgeagent" queue status --config "$cfg" > "$work/status" 2>&1 || true; grep -q '^pending: *1$' "$work/status" || { cat "$work/status" >&2; fail "the fact is not queued"; }
echo "installed, started, one fact queued offline"

echo "upgrade to $(basename "$v2")"
dpkg_root -i "$v2"
[ "$("$root/usr/bin/edgeagent" version)" = "edgeagent 0.1.0+test2" ] || fail "upgrade did not replace the binary"
grep -q "data_dir: $root/var/lib/edgeagent" "$cfg" || fail "the upgrade replaced the edited configuration"
start
stop
"$root/usr/bin/edgeagent" queue status --config "$cfg" > "$work/status" 2>&1 || true; grep -q "^pending: *1$" "$work/status" || { cat "$work/status" "$work/agent.log" >&2; fail "the upgrade lost the queue"; }
grep -Eq '"migrations_applied":[1-9]' "$work/agent.log" || grep -Eq 'migrations_applied=[1-9]' "$work/agent.log" || \
	{ [ -z "$old" ] && echo "(no older revision in this clone: no migration to apply)"; } || fail "the upgrade did not migrate the database"
echo "upgraded: configuration kept, database migrated by the new version, queue kept"

echo "remove"
dpkg_root -r edgeagent
[ ! -e "$root/usr/bin/edgeagent" ] || fail "binary left after removal"
[ -f "$cfg" ] || fail "removal deleted the configuration"
[ -f "$root/var/lib/edgeagent/edgeagent.db" ] || fail "removal deleted the database"
dpkg_root -P edgeagent
[ ! -e "$cfg" ] && [ ! -e "$root/etc/edgeagent/edgeagent.env" ] || fail "purge left the configuration"
[ -f "$root/var/lib/edgeagent/edgeagent.db" ] || fail "purge deleted the database (it is the line's record)"
echo "removed; purged; the database is kept in /var/lib/edgeagent"
echo "deb test: ok"
