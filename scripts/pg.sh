#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for tests and benchmarks.
#   scripts/pg.sh            start one; prints its URL on stdout and, on stderr, the line
#                            "pg.sh: cluster in DIR …" naming the folder to stop
#   scripts/pg.sh stop DIR   stop the cluster whose folder is DIR and delete it
# Debian's binaries, trust auth on 127.0.0.1 only, a free port. initdb refuses to run as root,
# so the cluster belongs to the `postgres` OS user when we are root.
set -euo pipefail

PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

if [ "${1:-}" = "stop" ]; then
  dir="${2:?usage: scripts/pg.sh stop DIR}"
  [ -f "$dir/data/PG_VERSION" ] || { echo "pg.sh: $dir is not a cluster made by pg.sh" >&2; exit 1; }
  as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
  exit 0
fi

[ -x "$PG_BIN/initdb" ] || { echo "pg.sh: no PostgreSQL at $PG_BIN (apt-get install postgresql-15)" >&2; exit 1; }

dir="$(mktemp -d /tmp/tether-pg.XXXXXX)"
chmod 755 "$dir"
[ "$(id -u)" -eq 0 ] && chown postgres: "$dir"

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"

as_owner "$PG_BIN/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 --no-sync >"$dir/initdb.log" 2>&1 ||
  { cat "$dir/initdb.log" >&2; exit 1; }

# fsync stays on: the durability tests depend on what a commit promises.
as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
  -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c max_connections=200 -c shared_buffers=256MB" \
  start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }

as_owner "$PG_BIN/createdb" -h 127.0.0.1 -p "$port" -U postgres tether

echo "pg.sh: cluster in $dir (stop with: scripts/pg.sh stop $dir)" >&2
echo "postgres://postgres@127.0.0.1:$port/tether"
