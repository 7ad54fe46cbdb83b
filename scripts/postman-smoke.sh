#!/usr/bin/env bash
# Runs the Postman collection with newman against the compiled build (`node dist/main.js all`, run
# `npm run build` first) started on a spare port, then stops the server with SIGTERM. Every request
# goes through Stoplight Prism in proxy mode, which compares each request and response with the
# OpenAPI document the server serves; any divergence fails the run (scripts/wire-check.ts).
#   bash scripts/postman-smoke.sh [embedded|services] [--prove-check]
# --prove-check: the document is given to Prism with one status the server sends taken out (POST
#   /chatroom's 201); the run then passes only if the wire check reports it. Proves the check bites.
# embedded (default): nothing configured, like `npm start`, with a temporary DATA_DIR.
# services: PostgreSQL + Redis: a fresh database created here (dropped afterwards) on the server of
#   POSTMAN_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres) and a Redis key prefix
#   of its own on POSTMAN_REDIS_URL (default redis://127.0.0.1:6379), whose keys are deleted afterwards.
# Exit code: newman's, else the wire check's (or 1 if the server or the proxy did not come up, or the
# server did not stop cleanly).
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-embedded}
prove=${2:-}
port=${POSTMAN_PORT:-3901}
proxy_port=${POSTMAN_PROXY_PORT:-$((port + 1))}
scratch=$(mktemp -d)
log="$scratch/server.log"
suffix=$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')
# The links the server hands out (the simulated checkout and portal) point at the proxy, so they are checked too.
env_args=(DATA_DIR="$scratch/data" PORT="$port" HOST=127.0.0.1 LOG_LEVEL=warn PUBLIC_BASE_URL="http://127.0.0.1:$proxy_port")

case "$mode" in
  embedded) ;;
  services)
    admin_url=${POSTMAN_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
    redis_url=${POSTMAN_REDIS_URL:-redis://127.0.0.1:6379}
    database="gc_postman_$suffix"
    prefix="postman:$suffix:"
    psql "$admin_url" -v ON_ERROR_STOP=1 -qc "CREATE DATABASE $database"
    database_url=$(node -e "const u = new URL(process.argv[1]); u.pathname = '/' + process.argv[2]; console.log(u.href)" "$admin_url" "$database")
    env_args+=(DATABASE_URL="$database_url" REDIS_URL="$redis_url" REDIS_KEY_PREFIX="$prefix")
    ;;
  *) echo "usage: $0 [embedded|services]" >&2; exit 2 ;;
esac

env -u DATABASE_URL -u REDIS_URL -u REDIS_KEY_PREFIX -u GEMINI_API_KEY -u STRIPE_SECRET_KEY -u NODE_ENV \
  "${env_args[@]}" node --enable-source-maps --max-semi-space-size=8 dist/main.js all >"$log" 2>&1 &
server=$!
proxy=
cleanup() {
  if [ -n "$proxy" ]; then kill -TERM "$proxy" 2>/dev/null || true; wait "$proxy" 2>/dev/null || true; fi
  kill -TERM "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  if [ "$mode" = services ]; then
    psql "$admin_url" -qc "DROP DATABASE IF EXISTS $database WITH (FORCE)" || true
    redis-cli -u "$redis_url" --scan --pattern "$prefix*" | xargs -r -n 500 redis-cli -u "$redis_url" del >/dev/null || true
  fi
  rm -rf "$scratch"
}
trap cleanup EXIT

up=false
for _ in $(seq 1 150); do
  if node -e "fetch('http://127.0.0.1:$port/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"; then up=true; break; fi
  if ! kill -0 "$server" 2>/dev/null; then break; fi
  sleep 0.2
done
if [ "$up" != true ]; then echo "the server did not become ready ($mode):"; cat "$log"; exit 1; fi

# The document exactly as this server serves it.
node -e "fetch(process.argv[1]).then((r) => r.text()).then((t) => require('fs').writeFileSync(process.argv[2], t))" \
  "http://127.0.0.1:$port/openapi.json" "$scratch/openapi.json"
if [ "$prove" = --prove-check ]; then
  node -e "const fs = require('fs'); const d = JSON.parse(fs.readFileSync(process.argv[1])); delete d.paths['/chatroom'].post.responses['201']; fs.writeFileSync(process.argv[1], JSON.stringify(d))" "$scratch/openapi.json"
  echo "== --prove-check: POST /chatroom's 201 taken out of the document; the wire check must report it"
elif [ -n "$prove" ]; then echo "usage: $0 [embedded|services] [--prove-check]" >&2; exit 2; fi

# --errors=false: Prism forwards every request, however invalid, and only reports what it finds.
# --cors=false: the server's own headers, unchanged.
./node_modules/.bin/prism proxy "$scratch/openapi.json" "http://127.0.0.1:$port" --host 127.0.0.1 --port "$proxy_port" --errors=false --cors=false >"$scratch/prism.log" 2>&1 &
proxy=$!
up=false
for _ in $(seq 1 150); do
  if node -e "fetch('http://127.0.0.1:$proxy_port/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"; then up=true; break; fi
  if ! kill -0 "$proxy" 2>/dev/null; then break; fi
  sleep 0.2
done
if [ "$up" != true ]; then echo "the validating proxy did not come up:"; cat "$scratch/prism.log"; exit 1; fi

echo "== newman ($mode mode, node $(node --version)) through Prism $(./node_modules/.bin/prism --version) (validating proxy)"
# The uploads of the Files folder name their files relative to the working directory (postman/fixtures/…).
./node_modules/.bin/newman run postman/gemini-chat.postman_collection.json \
  --working-dir "$PWD" --env-var "baseUrl=http://127.0.0.1:$proxy_port" --env-var "directUrl=http://127.0.0.1:$port" --bail --color off \
  --reporters cli,json --reporter-json-export "$scratch/newman.json"

echo "== the OpenAPI document against the wire"
if [ "$prove" = --prove-check ]; then
  if node scripts/wire-check.ts "$scratch/newman.json"; then echo "--prove-check: the wire check missed an undeclared status"; exit 1; fi
  echo "--prove-check: the wire check reported the undeclared status, as it must"
else
  node scripts/wire-check.ts "$scratch/newman.json"
fi

# A clean stop is part of the check: SIGTERM drains and exits 0.
kill -TERM "$server"
status=0
wait "$server" || status=$?
if [ "$status" -ne 0 ]; then echo "the server exited $status after SIGTERM:"; cat "$log"; exit 1; fi
