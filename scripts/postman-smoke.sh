#!/usr/bin/env bash
# Starts the server embedded (nothing configured, like `npm start`) on a spare port, runs the Postman
# collection against it with newman, and stops the server. Exit code: newman's.
set -euo pipefail
cd "$(dirname "$0")/.."

port=${POSTMAN_PORT:-3901}
data_dir=$(mktemp -d)
log="$data_dir/server.log"
env -u DATABASE_URL -u REDIS_URL -u GEMINI_API_KEY -u STRIPE_SECRET_KEY \
  DATA_DIR="$data_dir" PORT="$port" HOST=127.0.0.1 LOG_LEVEL=warn \
  node --import tsx src/main.ts all >"$log" 2>&1 &
server=$!
cleanup() {
  kill -TERM "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  rm -rf "$data_dir"
}
trap cleanup EXIT

for _ in $(seq 1 100); do
  node -e "fetch('http://127.0.0.1:$port/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))" && break
  if ! kill -0 "$server" 2>/dev/null; then cat "$log"; exit 1; fi
  sleep 0.2
done

./node_modules/.bin/newman run postman/gemini-chat.postman_collection.json \
  --env-var "baseUrl=http://127.0.0.1:$port" --bail --color off --reporters cli
