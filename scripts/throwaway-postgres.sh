#!/usr/bin/env bash
# Starts a throwaway PostgreSQL 15 cluster on 127.0.0.1 for the test suite and
# prints its admin URL. Usage: scripts/throwaway-postgres.sh DIR PORT
# Stop it with: runuser -u postgres -- pg_ctl -D DIR/data stop
set -euo pipefail
dir=${1:?usage: $0 DIR PORT}
port=${2:-55432}
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
mkdir -p "$dir"
chown postgres "$dir"
if [ ! -f "$dir/data/PG_VERSION" ]; then
  runuser -u postgres -- "$bin/initdb" -D "$dir/data" -A trust -U postgres >"$dir/initdb.log"
fi
runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" \
  -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300" -w start >/dev/null
echo "postgres://postgres@127.0.0.1:$port/postgres"
