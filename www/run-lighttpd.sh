#!/bin/sh
# Fill in www/lighttpd.conf for this checkout and run lighttpd in the foreground.
#   PORT     port on 127.0.0.1 (default 8080)
#   VARDIR   data folder: database, server key, logs (default ./var)
#   BIN      keyward binary (default ./build/keyward)
#   DETACH   when set, start in the background and return once the port answers
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
PORT=${PORT:-8080}
VARDIR=${VARDIR:-$root/var}
BIN=${BIN:-$root/build/keyward}
mkdir -p "$VARDIR"
VARDIR=$(cd "$VARDIR" && pwd)
conf="$VARDIR/lighttpd.conf"
sed -e "s|@PORT@|$PORT|g" -e "s|@BIN@|$BIN|g" -e "s|@STATIC@|$root/static|g" \
    -e "s|@TEMPLATES@|$root/templates|g" -e "s|@VARDIR@|$VARDIR|g" "$root/www/lighttpd.conf" > "$conf"
lighttpd=$(command -v lighttpd || echo /usr/sbin/lighttpd)
# The database and server key are made here, once, before lighttpd spawns its workers.
KEYWARD_DB="$VARDIR/keyward.db" "$BIN" init >/dev/null
if [ -n "${DETACH:-}" ]; then
  "$lighttpd" -f "$conf"
  exit 0
fi
echo "keyward console: http://127.0.0.1:$PORT/keys"
echo "data: $VARDIR (database keyward.db, server key keyward.db.key, log lighttpd-error.log)"
echo "stop: Ctrl+C"
exec "$lighttpd" -D -f "$conf"
