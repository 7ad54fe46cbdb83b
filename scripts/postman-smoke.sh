#!/usr/bin/env bash
# Runs the Postman collection with newman against the compiled build (`node dist/main.js all`, run
# `npm run build` first) started on a spare port, then stops the server with SIGTERM.
#   bash scripts/postman-smoke.sh [embedded|services]
# embedded (default): nothing configured, like `npm start`, with a temporary DATA_DIR.
# services: PostgreSQL + Redis: a fresh database created here (dropped afterwards) on the server of
#   POSTMAN_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres) and a Redis key prefix
#   of its own on POSTMAN_REDIS_URL (default redis://127.0.0.1:6379), whose keys are deleted afterwards.
# Exit code: newman's (or 1 if the server did not come up or did not stop cleanly).
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-embedded}
port=${POSTMAN_PORT:-3901}
scratch=$(mktemp -d)
log="$scratch/server.log"
suffix=$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')
env_args=(DATA_DIR="$scratch/data" PORT="$port" HOST=127.0.0.1 LOG_LEVEL=warn)

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
cleanup() {
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

echo "== newman ($mode mode, node $(node --version))"
# The uploads of the Files folder name their files relative to the working directory (postman/fixtures/…).
./node_modules/.bin/newman run postman/gemini-chat.postman_collection.json \
  --working-dir "$PWD" --env-var "baseUrl=http://127.0.0.1:$port" --bail --color off --reporters cli

# A clean stop is part of the check: SIGTERM drains and exits 0.
kill -TERM "$server"
status=0
wait "$server" || status=$?
if [ "$status" -ne 0 ]; then echo "the server exited $status after SIGTERM:"; cat "$log"; exit 1; fi
