#!/bin/sh
# Fill in www/nginx.conf, www/nginx-keyward.conf and www/nginx-keyward-guard.conf for this checkout,
# start `keyward serve` and nginx in front of it, and run until Ctrl+C.
#   PORT          nginx's port on 127.0.0.1 (default 8080)
#   KEYWARD_PORT  keyward serve's console listener on 127.0.0.1 (default 9000)
#   KEYWARD_GATEKEEPER_PORT  its gatekeeper listener: the gate and /keyward/api/ (default 9001)
#   VARDIR        data folder: database, server key, logs (default ./var)
#   KEYWARD_DB    the database (default VARDIR/keyward.db; a PostgreSQL URI puts it there)
#   KEYWARD_KEY_FILE  its server key (default beside the SQLite file, VARDIR/keyward.key for PostgreSQL)
#   BIN           keyward binary (default ./build/keyward)
#   THREADS       keyward serve --threads, the console's workers (default 8)
#   GATEKEEPER_THREADS  keyward serve --gatekeeper-threads, the gatekeeper's workers (default 8)
#   SITE          the existing site's folder, served at / (default: VARDIR/site, made with a page)
#   API_PREFIX    URL prefix guarded by keyward (default /protected/)
#   API_RULES     rules file for the gatekeeper (KEYWARD_CONFIG), default none
#   API_CONF      an nginx file with your API's handler, included in the guarded location (default:
#                 none, so a request keyward lets through gets nginx's 404)
#   PUBLIC_URL    KEYWARD_PUBLIC_URL for keyward serve, default none (the request's host and port)
#   NGINX_USER, NGINX_GROUP  who nginx's workers run as when started as root (default www-data)
#   DETACH        when set, print the same lines, start both in the background and return once both
#                 answer; stop them with: kill $(cat VARDIR/nginx.pid) $(cat VARDIR/keyward-serve.pid)
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
PUBLIC_URL=${PUBLIC_URL:-}
mkdir -p "$VARDIR"
VARDIR=$(cd "$VARDIR" && pwd)
SITE=${SITE:-$VARDIR/site}
nginx=$(command -v nginx || echo /usr/sbin/nginx)
if [ ! -x "$nginx" ]; then
  echo "run-nginx.sh: no nginx (Debian: apt-get install nginx)" >&2
  exit 1
fi
# nginx's own configuration folder (mime.types, fastcgi_params), from its build options.
conf_path=$("$nginx" -V 2>&1 | tr ' ' '\n' | sed -n 's/^--conf-path=//p')
nginx_conf=$(dirname "${conf_path:-/etc/nginx/nginx.conf}")
for file in mime.types fastcgi_params; do
  if [ ! -f "$nginx_conf/$file" ]; then
    echo "run-nginx.sh: no $nginx_conf/$file (nginx's configuration folder, from nginx -V)" >&2
    exit 1
  fi
done
user=${NGINX_USER:-www-data}
group=${NGINX_GROUP:-$user}
if [ ! -d "$SITE" ]; then
  mkdir -p "$SITE"
  printf '<!doctype html>\n<title>An existing site</title>\n<h1>An existing site</h1>\n<p>Served by nginx at /, as before keyward came.</p>\n' \
    > "$SITE/index.html"
fi
if [ -z "$API_CONF" ]; then
  API_CONF="$VARDIR/nginx-api.conf"
  printf '# No API yet: a request keyward lets through gets nginx'"'"'s 404.\ntry_files /nonexistent =404;\n' > "$API_CONF"
fi
mkdir -p "$VARDIR/nginx-temp"
fill() {
  sed -e "s|@PORT@|$PORT|g" -e "s|@KEYWARD_ADDRESS@|127.0.0.1:$KEYWARD_PORT|g" \
      -e "s|@KEYWARD_GATEKEEPER_ADDRESS@|127.0.0.1:$KEYWARD_GATEKEEPER_PORT|g" -e "s|@STATIC@|$root/static|g" \
      -e "s|@VARDIR@|$VARDIR|g" -e "s|@SITE@|$SITE|g" -e "s|@NGINX_CONF@|$nginx_conf|g" \
      -e "s|@FASTCGI_PARAMS@|$nginx_conf/fastcgi_params|g" -e "s|@USER@|$user|g" -e "s|@GROUP@|$group|g" \
      -e "s|@API_PREFIX@|$API_PREFIX|g" -e "s|@API_CONF@|$API_CONF|g" "$1"
}
if [ "$(id -u)" -ne 0 ]; then  # nginx ignores `user` (with a warning) unless it starts as root
  fill "$root/www/nginx.conf" | sed -e '/^user /d' > "$VARDIR/nginx.conf"
else
  fill "$root/www/nginx.conf" > "$VARDIR/nginx.conf"
fi
fill "$root/www/nginx-keyward.conf" > "$VARDIR/nginx-keyward.conf"
fill "$root/www/nginx-keyward-guard.conf" > "$VARDIR/nginx-keyward-guard.conf"
"$nginx" -t -q -c "$VARDIR/nginx.conf" 2>"$VARDIR/nginx-check.log" || { cat "$VARDIR/nginx-check.log" >&2; exit 1; }

# keyward first: the database and server key are made before anything asks for a key. One process,
# two listeners with a pool of workers each: slow console clients cannot hold up the gatekeeper.
KEYWARD_DB=${KEYWARD_DB:-$VARDIR/keyward.db}
case $KEYWARD_DB in
  postgres://* | postgresql://* | *=*) KEYWARD_KEY_FILE=${KEYWARD_KEY_FILE:-$VARDIR/keyward.key} ;;
  *) KEYWARD_KEY_FILE=${KEYWARD_KEY_FILE:-$KEYWARD_DB.key} ;;
esac
export KEYWARD_DB KEYWARD_KEY_FILE KEYWARD_TEMPLATES="$root/templates" KEYWARD_CONFIG="$API_RULES" \
       KEYWARD_BASE_PATH=/keyward KEYWARD_PUBLIC_URL="$PUBLIC_URL"
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
sys.exit('run-nginx.sh: nothing answers on port $1')"
}
for port in "$KEYWARD_PORT" "$KEYWARD_GATEKEEPER_PORT"; do
  wait_for "$port" || { kill "$(cat "$VARDIR/keyward-serve.pid")"; cat "$VARDIR/keyward.log" >&2; exit 1; }
done

echo "existing site: http://127.0.0.1:$PORT/"
echo "keyward console: http://127.0.0.1:$PORT/keyward/"
if [ "$("$BIN" user list | wc -l)" -le 1 ]; then
  echo "no console user yet: open this one-time setup link (valid 24 hours) to make the first owner:"
  echo "  $("$BIN" setup-link --url "http://127.0.0.1:$PORT")"
  echo "(or on the command line: $BIN --db '$KEYWARD_DB' user add --email you@example.com --owner)"
fi
echo "gatekeeper: http://127.0.0.1:$PORT$API_PREFIX needs a key (Authorization: Bearer <key>)"
echo "data: $VARDIR (database $KEYWARD_DB, server key $KEYWARD_KEY_FILE, logs nginx-error.log and keyward.log)"
if [ -n "${DETACH:-}" ]; then
  if "$nginx" -c "$VARDIR/nginx.conf" && wait_for "$PORT"; then
    echo "stop: kill \$(cat $VARDIR/nginx.pid) \$(cat $VARDIR/keyward-serve.pid)"
    exit 0
  fi
  kill "$(cat "$VARDIR/keyward-serve.pid")"
  exit 1
fi
echo "stop: Ctrl+C"
trap 'kill "$(cat "$VARDIR/keyward-serve.pid")" 2>/dev/null' EXIT INT TERM
"$nginx" -c "$VARDIR/nginx.conf" -g 'daemon off;'
