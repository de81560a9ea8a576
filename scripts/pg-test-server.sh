#!/usr/bin/env bash
# A throwaway PostgreSQL 15 for tests (the fleet store's unit tests use it).
#
#   scripts/pg-test-server.sh start DIR   initdb in DIR, start on a free port
#                                         (or $PGPORT), create database vigil,
#                                         print postgresql://postgres@127.0.0.1:PORT/vigil
#   scripts/pg-test-server.sh stop DIR    stop it (immediate) and remove DIR
#
# As root the server runs as the postgres OS user (initdb refuses root).
# Authentication is trust, on 127.0.0.1 and on a Unix socket in DIR only.
set -euo pipefail

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}

usage() { echo "usage: $0 start|stop DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
cmd=$1
dir=$2

# Runs a PostgreSQL binary as the owner of the cluster.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

port_free() {
  # A refused connection means nobody listens there.
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

start() {
  for b in initdb pg_ctl postgres createdb; do
    [ -x "$PGBIN/$b" ] || { echo "PostgreSQL binaries not found in $PGBIN (Debian: postgresql)" >&2; exit 3; }
  done
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres: "$dir"
  fi
  chmod 0700 "$dir"
  as_owner "$PGBIN/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C \
    --no-sync >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
  cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
max_connections = 50
shared_buffers = 16MB
fsync = on
logging_collector = off
CONF

  local tries=0 port
  while :; do
    if [ -n "${PGPORT:-}" ]; then
      port=$PGPORT
    else
      port=$((20000 + RANDOM % 40000))
      port_free "$port" || continue
    fi
    if as_owner "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-p $port" start >/dev/null 2>&1; then
      break
    fi
    tries=$((tries + 1))
    # Another process may have taken the port between the check and the start.
    if [ -n "${PGPORT:-}" ] || [ $tries -ge 5 ]; then
      echo "postgres failed to start; server log:" >&2
      cat "$dir/server.log" >&2 || true
      exit 1
    fi
  done
  echo "$port" >"$dir/port"
  as_owner "$PGBIN/createdb" -h "$dir" -p "$port" -U postgres vigil
  echo "postgresql://postgres@127.0.0.1:$port/vigil"
}

stop() {
  [ -d "$dir" ] || exit 0
  if [ -f "$dir/data/postmaster.pid" ]; then
    as_owner "$PGBIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
}

case $cmd in
  start) start ;;
  stop) stop ;;
  *) usage ;;
esac
