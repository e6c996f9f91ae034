#!/bin/sh
# Fill in www/lighttpd.conf and the console's part it includes (www/lighttpd-keyward.conf) for this
# checkout and run lighttpd in the foreground.
#   PORT        port on 127.0.0.1 (default 8080)
#   VARDIR      data folder: database, server key, sockets, logs (default ./var)
#   BIN         keyward binary (default ./build/keyward)
#   BASE_PATH   the console's URL prefix, such as /keyward (default "": the console at /)
#   DETACH      when set, print the same lines, start in the background and return once the port answers
#   TRUST_REMOTE_USER  1: keyward signs in the REMOTE_USER of mod_auth (default 0)
#   KEYWARD_DB         the database (default VARDIR/keyward.db; a PostgreSQL URI puts it there)
#   KEYWARD_KEY_FILE   its server key (default beside the SQLite file, VARDIR/keyward.key for PostgreSQL)
#   CONSOLE_CONF       a lighttpd file included after the console's part, e.g. mod_auth in front of it
# The gatekeeper (www/lighttpd-gatekeeper.conf), when API_PREFIX is set:
#   API_PREFIX  URL prefix keyward guards as a FastCGI authorizer, e.g. /protected/
#   API_RULES   rules file for it (KEYWARD_CONFIG), default none
#   API_CONF    a lighttpd file with your API's handler for that prefix, included last
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
PORT=${PORT:-8080}
VARDIR=${VARDIR:-$root/var}
BIN=${BIN:-$root/build/keyward}
API_PREFIX=${API_PREFIX:-}
API_RULES=${API_RULES:-}
API_CONF=${API_CONF:-}
TRUST_REMOTE_USER=${TRUST_REMOTE_USER:-0}
CONSOLE_CONF=${CONSOLE_CONF:-}
BASE_PATH=${BASE_PATH:-}
mkdir -p "$VARDIR"
VARDIR=$(cd "$VARDIR" && pwd)
KEYWARD_DB=${KEYWARD_DB:-$VARDIR/keyward.db}
case $KEYWARD_DB in
  postgres://* | postgresql://* | *=*) KEYWARD_KEY_FILE=${KEYWARD_KEY_FILE:-$VARDIR/keyward.key} ;;
  *) KEYWARD_KEY_FILE=${KEYWARD_KEY_FILE:-$KEYWARD_DB.key} ;;
esac
export KEYWARD_DB KEYWARD_KEY_FILE
conf="$VARDIR/lighttpd.conf"
# A value for sed's replacement: \, & and the | it is delimited by taken literally (a URI has &).
literal() { printf '%s' "$1" | sed -e 's/[\\&|]/\\&/g'; }
fill() {
  sed -e "s|@PORT@|$PORT|g" -e "s|@BIN@|$BIN|g" -e "s|@STATIC@|$root/static|g" \
      -e "s|@TEMPLATES@|$root/templates|g" -e "s|@VARDIR@|$VARDIR|g" -e "s|@RUNDIR@|$VARDIR|g" \
      -e "s|@LOGDIR@|$VARDIR|g" -e "s|@BASE_PATH@|$BASE_PATH|g" \
      -e "s|@API_PREFIX@|$API_PREFIX|g" -e "s|@RULES@|$API_RULES|g" \
      -e "s|@TRUST_REMOTE_USER@|$TRUST_REMOTE_USER|g" -e "s|@DATABASE@|$(literal "$KEYWARD_DB")|g" \
      -e "s|@KEY_FILE@|$(literal "$KEYWARD_KEY_FILE")|g" "$1"
}
fill "$root/www/lighttpd.conf" > "$conf"
fill "$root/www/lighttpd-keyward.conf" > "$VARDIR/lighttpd-keyward.conf"
if [ -n "$CONSOLE_CONF" ]; then
  echo "include \"$CONSOLE_CONF\"" >> "$conf"
fi
if [ -n "$API_PREFIX" ]; then
  fill "$root/www/lighttpd-gatekeeper.conf" > "$VARDIR/lighttpd-gatekeeper.conf"
  echo "include \"$VARDIR/lighttpd-gatekeeper.conf\"" >> "$conf"
  if [ -n "$API_CONF" ]; then
    echo "include \"$API_CONF\"" >> "$conf"
  fi
fi
lighttpd=$(command -v lighttpd || echo /usr/sbin/lighttpd)
# The database and server key are made here, once, before lighttpd spawns its workers.
"$BIN" init >/dev/null
echo "keyward console: http://127.0.0.1:$PORT$BASE_PATH/"
if [ "$("$BIN" user list | wc -l)" -le 1 ]; then
  echo "no console user yet: open this one-time setup link (valid 24 hours) to make the first owner:"
  echo "  $(KEYWARD_BASE_PATH="$BASE_PATH" "$BIN" setup-link --url "http://127.0.0.1:$PORT")"
  echo "(or on the command line: $BIN --db '$KEYWARD_DB' user add --email you@example.com --owner)"
fi
if [ -n "$API_PREFIX" ]; then
  echo "gatekeeper: http://127.0.0.1:$PORT$API_PREFIX needs a key (Authorization: Bearer <key>)"
fi
echo "data: $VARDIR (database $KEYWARD_DB, server key $KEYWARD_KEY_FILE, logs lighttpd-error.log and keyward.log)"
if [ -n "${DETACH:-}" ]; then
  "$lighttpd" -f "$conf"
  echo "stop: kill \$(cat $VARDIR/lighttpd.pid)"
  exit 0
fi
echo "stop: Ctrl+C"
exec "$lighttpd" -D -f "$conf"
