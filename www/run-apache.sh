#!/bin/sh
# Fill in www/apache.conf and www/apache-keyward.conf for this checkout, start `keyward serve` and
# Apache in front of it, and run until Ctrl+C.
#   PORT          Apache's port on 127.0.0.1 (default 8080)
#   KEYWARD_PORT  keyward serve's console listener on 127.0.0.1 (default 9000; mod_proxy_fcgi)
#   KEYWARD_GATEKEEPER_PORT  its gatekeeper listener (default 9001; mod_authnz_fcgi and /api/)
#   VARDIR        data folder: database, server key, logs (default ./var)
#   KEYWARD_DB    the database (default VARDIR/keyward.db; a PostgreSQL URI puts it there)
#   KEYWARD_KEY_FILE  its server key (default beside the SQLite file, VARDIR/keyward.key for PostgreSQL)
#   BASE_PATH     the console's URL prefix, such as /keyward (default "": the console at /)
#   BIN           keyward binary (default ./build/keyward)
#   THREADS       keyward serve --threads, the console's workers (default 8)
#   GATEKEEPER_THREADS  keyward serve --gatekeeper-threads, the gatekeeper's workers (default 8)
#   API_PREFIX    URL prefix guarded by keyward (default /protected/)
#   API_RULES     rules file for the gatekeeper (KEYWARD_CONFIG), default none
#   API_CONF      an Apache file with your API's handler for that prefix, included last
#   APACHE_USER, APACHE_GROUP  who Apache's workers run as when started as root (default www-data)
#   DETACH        when set, print the same lines, start both in the background and return once both ports answer;
#                 stop them with: kill $(cat VARDIR/apache.pid) $(cat VARDIR/keyward-serve.pid)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
PORT=${PORT:-8080}
KEYWARD_PORT=${KEYWARD_PORT:-9000}
KEYWARD_GATEKEEPER_PORT=${KEYWARD_GATEKEEPER_PORT:-9001}
VARDIR=${VARDIR:-$root/var}
BIN=${BIN:-$root/build/keyward}
THREADS=${THREADS:-8}
GATEKEEPER_THREADS=${GATEKEEPER_THREADS:-8}
API_PREFIX=${API_PREFIX:-/protected/}
API_RULES=${API_RULES:-}
API_CONF=${API_CONF:-}
BASE_PATH=${BASE_PATH:-}
mkdir -p "$VARDIR"
VARDIR=$(cd "$VARDIR" && pwd)
apache=$(command -v apache2 || command -v httpd || echo /usr/sbin/apache2)
modules=${APACHE_MODULES:-}
if [ -z "$modules" ]; then
  for folder in /usr/lib/apache2/modules /usr/lib64/httpd/modules /usr/lib/httpd/modules /usr/libexec/apache2; do
    if [ -f "$folder/mod_authnz_fcgi.so" ]; then modules=$folder; break; fi
  done
fi
if [ -z "$modules" ]; then
  echo "run-apache.sh: no Apache module folder with mod_authnz_fcgi.so; set APACHE_MODULES" >&2
  exit 1
fi
user=${APACHE_USER:-www-data}
group=${APACHE_GROUP:-$user}
if [ "$(id -u)" -ne 0 ]; then  # Apache ignores User and Group unless it starts as root
  user=$(id -un)
  group=$(id -gn)
fi
fill() {
  sed -e "s|@PORT@|$PORT|g" -e "s|@KEYWARD_ADDRESS@|127.0.0.1:$KEYWARD_PORT|g" \
      -e "s|@KEYWARD_GATEKEEPER_ADDRESS@|127.0.0.1:$KEYWARD_GATEKEEPER_PORT|g" -e "s|@STATIC@|$root/static|g" \
      -e "s|@VARDIR@|$VARDIR|g" -e "s|@MODULES@|$modules|g" -e "s|@USER@|$user|g" -e "s|@GROUP@|$group|g" \
      -e "s|@API_PREFIX@|$API_PREFIX|g" -e "s|@BASE_PATH@|$BASE_PATH|g" "$1"
}
fill "$root/www/apache.conf" > "$VARDIR/apache.conf"
fill "$root/www/apache-keyward.conf" > "$VARDIR/apache-keyward.conf"
if [ -n "$API_CONF" ]; then
  echo "Include \"$API_CONF\"" >> "$VARDIR/apache.conf"
fi
"$apache" -t -f "$VARDIR/apache.conf" 2>"$VARDIR/apache-check.log" || { cat "$VARDIR/apache-check.log" >&2; exit 1; }

# keyward first: the database and server key are made before anything asks for a key. One process,
# two listeners with a pool of workers each: slow console clients cannot hold up the gatekeeper.
KEYWARD_DB=${KEYWARD_DB:-$VARDIR/keyward.db}
case $KEYWARD_DB in
  postgres://* | postgresql://* | *=*) KEYWARD_KEY_FILE=${KEYWARD_KEY_FILE:-$VARDIR/keyward.key} ;;
  *) KEYWARD_KEY_FILE=${KEYWARD_KEY_FILE:-$KEYWARD_DB.key} ;;
esac
export KEYWARD_DB KEYWARD_KEY_FILE KEYWARD_TEMPLATES="$root/templates" KEYWARD_CONFIG="$API_RULES" \
  KEYWARD_BASE_PATH="$BASE_PATH"
"$BIN" init >/dev/null
"$BIN" serve --listen "127.0.0.1:$KEYWARD_PORT" --threads "$THREADS" \
  --gatekeeper "127.0.0.1:$KEYWARD_GATEKEEPER_PORT" --gatekeeper-threads "$GATEKEEPER_THREADS" \
  </dev/null >>"$VARDIR/keyward.log" 2>&1 &
echo $! > "$VARDIR/keyward-serve.pid"
wait_for() {  # until something answers on 127.0.0.1:$1, 20 s at most
  python3 -c "
import socket, sys, time
deadline = time.time() + 20
while time.time() < deadline:
    try:
        socket.create_connection(('127.0.0.1', $1), 0.2).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit('run-apache.sh: nothing answers on port $1')"
}
for port in "$KEYWARD_PORT" "$KEYWARD_GATEKEEPER_PORT"; do
  wait_for "$port" || { kill "$(cat "$VARDIR/keyward-serve.pid")"; cat "$VARDIR/keyward.log" >&2; exit 1; }
done

echo "keyward console: http://127.0.0.1:$PORT$BASE_PATH/"
if [ "$("$BIN" user list | wc -l)" -le 1 ]; then
  echo "no console user yet: open this one-time setup link (valid 24 hours) to make the first owner:"
  echo "  $("$BIN" setup-link --url "http://127.0.0.1:$PORT")"
  echo "(or on the command line: $BIN --db '$KEYWARD_DB' user add --email you@example.com --owner)"
fi
echo "gatekeeper: http://127.0.0.1:$PORT$API_PREFIX needs a key (Authorization: Bearer <key>)"
echo "data: $VARDIR (database $KEYWARD_DB, server key $KEYWARD_KEY_FILE, logs apache-error.log and keyward.log)"
if [ -n "${DETACH:-}" ]; then
  if "$apache" -f "$VARDIR/apache.conf" -k start && wait_for "$PORT"; then
    echo "stop: kill \$(cat $VARDIR/apache.pid) \$(cat $VARDIR/keyward-serve.pid)"
    exit 0
  fi
  kill "$(cat "$VARDIR/keyward-serve.pid")"
  exit 1
fi
echo "stop: Ctrl+C"
trap 'kill "$(cat "$VARDIR/keyward-serve.pid")" 2>/dev/null' EXIT INT TERM
"$apache" -f "$VARDIR/apache.conf" -DFOREGROUND
