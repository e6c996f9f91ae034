#!/bin/sh
# tests/pg/cluster.sh: a throwaway PostgreSQL cluster for the tests, reachable by Unix socket only.
#
#   sh tests/pg/cluster.sh start FOLDER   start one; print its conninfo URI on standard output:
#                                         postgresql://postgres@/postgres?host=SOCKETS&port=PORT
#   sh tests/pg/cluster.sh stop FOLDER    stop the cluster started with FOLDER and remove its files
#   sh tests/pg/cluster.sh check          exit 0 if a cluster can be started here; else say on standard
#                                         output what is missing (one sentence) and exit 1
#
# The cluster (its data, log and socket) lives in a fresh `mktemp -d /tmp/kwpg.XXXXXX`: a short path,
# because a socket path (FOLDER/.s.PGSQL.PORT) must fit in 107 bytes, and one the server's user can
# reach whatever FOLDER's parents allow. FOLDER (made if missing) only records where that is, in
# FOLDER/cluster.env, for `stop`. The server programs are the newest /usr/lib/postgresql/N/bin (or
# KEYWARD_PG_BIN); initdb and pg_ctl refuse to run as root, so as root they run as the postgres user
# (`runuser -u postgres`), otherwise as the caller. No TCP (listen_addresses = ''), trust
# authentication inside a 0700 folder, fsync off: for tests only. The port is only the socket's name
# (.s.PGSQL.PORT) and picked free, never 5432, and every value is in the conninfo, so a client
# never reaches a system cluster by accident. Nothing else is ever stopped or removed: `stop` acts
# only on what FOLDER/cluster.env names, and only on a folder this script made.
set -eu

say() { printf 'cluster.sh: %s\n' "$*" >&2; }

# The folder of the newest PostgreSQL server programs (initdb, pg_ctl, postgres); empty if none.
find_bin() {
  if [ -n "${KEYWARD_PG_BIN:-}" ]; then
    [ -x "$KEYWARD_PG_BIN/initdb" ] && [ -x "$KEYWARD_PG_BIN/pg_ctl" ] && printf '%s\n' "$KEYWARD_PG_BIN"
    return 0
  fi
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5,5n -r); do
    if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && [ -x "$dir/postgres" ]; then
      printf '%s\n' "$dir"
      return 0
    fi
  done
}

# What stops a cluster from starting here, as one sentence; empty when nothing does.
missing() {
  if [ -z "$(find_bin)" ]; then
    if [ -n "${KEYWARD_PG_BIN:-}" ]; then
      echo "KEYWARD_PG_BIN ($KEYWARD_PG_BIN) holds no initdb and pg_ctl"
    else
      echo "no PostgreSQL server programs (initdb, pg_ctl in /usr/lib/postgresql/N/bin): install the Debian package postgresql"
    fi
  elif ! command -v psql >/dev/null 2>&1; then
    echo "no psql: install the Debian package postgresql-client"
  elif [ "$(id -u)" -eq 0 ] && ! command -v runuser >/dev/null 2>&1; then
    echo "running as root without runuser (util-linux) to start PostgreSQL as another user"
  elif [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
    echo "running as root, and there is no postgres user to run PostgreSQL as (the Debian package postgresql-common makes it)"
  fi
}

# Run a server program as the cluster's user: postgres when we are root, else ourselves.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# A port number for the socket's name: not 5432, and with nothing listening on it over TCP either.
pick_port() {
  while :; do
    port=$(( $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 40000 + 20000 ))
    if command -v ss >/dev/null 2>&1 && [ -n "$(ss -Hltn "sport = :$port" 2>/dev/null)" ]; then
      continue
    fi
    echo "$port"
    return 0
  done
}

start() {
  folder=$1
  problem=$(missing)
  if [ -n "$problem" ]; then
    say "cannot start PostgreSQL: $problem"
    exit 1
  fi
  if [ -f "$folder/cluster.env" ]; then
    say "$folder already holds a cluster: stop it first"
    exit 1
  fi
  bin=$(find_bin)
  mkdir -p "$folder"
  base=$(mktemp -d /tmp/kwpg.XXXXXX)
  if [ "$(id -u)" -eq 0 ]; then chown postgres: "$base"; fi
  port=$(pick_port)
  # Recorded first, so that `stop` cleans up after a start that fails half way.
  printf 'base=%s\nbin=%s\nport=%s\n' "$base" "$bin" "$port" >"$folder/cluster.env"
  if ! as_owner "$bin/initdb" -D "$base/data" -U postgres -A trust --no-sync --no-instructions \
         -E UTF8 --locale=C.UTF-8 >"$base/initdb.log" 2>&1; then
    say "initdb failed:"; cat "$base/initdb.log" >&2
    exit 1
  fi
  cat >>"$base/data/postgresql.conf" <<EOF
# tests/pg/cluster.sh: a throwaway cluster, Unix socket only, not durable
listen_addresses = ''
unix_socket_directories = '$base'
unix_socket_permissions = 0700
port = $port
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 40
EOF
  if ! as_owner "$bin/pg_ctl" -D "$base/data" -l "$base/server.log" -w -t 30 start >/dev/null 2>&1; then
    say "pg_ctl start failed:"; cat "$base/server.log" >&2 2>/dev/null || true
    exit 1
  fi
  printf 'postgresql://postgres@/postgres?host=%s&port=%s\n' "$base" "$port"
}

stop() {
  folder=$1
  record="$folder/cluster.env"
  if [ ! -f "$record" ]; then
    say "no cluster recorded in $folder (nothing to stop)"
    exit 0
  fi
  base=$(sed -n 's/^base=//p' "$record")
  bin=$(sed -n 's/^bin=//p' "$record")
  case $base in
    /tmp/kwpg.??????) ;;
    *) say "$record names $base, which is not a folder this script makes: left alone"; exit 1 ;;
  esac
  if [ -f "$base/data/postmaster.pid" ]; then
    as_owner "$bin/pg_ctl" -D "$base/data" -m fast -w -t 10 stop >/dev/null 2>&1 ||
      as_owner "$bin/pg_ctl" -D "$base/data" -m immediate -w -t 10 stop >/dev/null 2>&1 || {
        # Still running: the postmaster is line 1 of its own pid file (ours, in our folder).
        pid=$(sed -n 1p "$base/data/postmaster.pid" 2>/dev/null || true)
        case $pid in ''|*[!0-9]*) ;; *) kill -KILL "$pid" 2>/dev/null || true ;; esac
      }
  fi
  rm -rf "$base"
  rm -f "$record"
}

# pause FOLDER / resume FOLDER: stop the server and start it again on the same data, socket and
# port (an outage, for the tests of what keyward does while its database is away).
pause_or_resume() {
  record="$2/cluster.env"
  base=$(sed -n 's/^base=//p' "$record")
  bin=$(sed -n 's/^bin=//p' "$record")
  case $base in /tmp/kwpg.??????) ;; *) say "no cluster recorded in $2"; exit 1 ;; esac
  if [ "$1" = pause ]; then
    as_owner "$bin/pg_ctl" -D "$base/data" -m fast -w -t 10 stop >/dev/null
  else
    as_owner "$bin/pg_ctl" -D "$base/data" -l "$base/server.log" -w -t 30 start >/dev/null
  fi
}

case "${1:-}" in
  pause | resume) [ $# -eq 2 ] || { say "usage: cluster.sh $1 FOLDER"; exit 2; }; pause_or_resume "$1" "$2" ;;
  start) [ $# -eq 2 ] || { say "usage: cluster.sh start FOLDER"; exit 2; }; start "$2" ;;
  stop) [ $# -eq 2 ] || { say "usage: cluster.sh stop FOLDER"; exit 2; }; stop "$2" ;;
  check) problem=$(missing); [ -z "$problem" ] || { echo "$problem"; exit 1; } ;;
  *) say "usage: cluster.sh start FOLDER | stop FOLDER | check"; exit 2 ;;
esac
