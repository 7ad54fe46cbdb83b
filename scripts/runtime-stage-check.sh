#!/usr/bin/env bash
# The Docker image's runtime stage, run without Docker (no engine here): a clean directory with only
# package.json + package-lock.json, `npm ci --omit=dev --ignore-scripts` (as the Dockerfile), dist/
# and drizzle/ copied in; then, with NODE_ENV=production against PostgreSQL + Redis: migrate, start
# the api and a worker, /readyz 200 on both, the Dockerfile's HEALTHCHECK command healthy for each
# role, SIGTERM, exit 0. Run `npm run build` first.
# Node: node_modules/.bin/node (Node 24, the image's line) unless NODE is set.
#   bash scripts/runtime-stage-check.sh
# Uses RUNTIME_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres) to create a fresh
# database (dropped afterwards) and RUNTIME_REDIS_URL (default redis://127.0.0.1:6379) with a key
# prefix of its own (its keys deleted afterwards).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
node_bin=${NODE:-$repo/node_modules/.bin/node}
admin_url=${RUNTIME_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
redis_url=${RUNTIME_REDIS_URL:-redis://127.0.0.1:6379}
suffix=$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')
database="gc_runtime_$suffix"
prefix="runtime:$suffix:"
api_port=${RUNTIME_API_PORT:-3911}
worker_port=${RUNTIME_WORKER_PORT:-3912}

[ -f dist/main.js ] || { echo "dist/main.js is missing: run npm run build first" >&2; exit 1; }
app=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  psql "$admin_url" -qc "DROP DATABASE IF EXISTS $database WITH (FORCE)" || true
  redis-cli -u "$redis_url" --scan --pattern "$prefix*" | xargs -r -n 500 redis-cli -u "$redis_url" del >/dev/null || true
  rm -rf "$app"
}
trap cleanup EXIT

echo "== runtime stage in $app (node $("$node_bin" --version))"
cp package.json package-lock.json "$app/"
(cd "$app" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error)
cp -r dist drizzle "$app/"
[ ! -e "$app/node_modules/typescript" ] && [ ! -e "$app/node_modules/tsx" ] || { echo "dev dependencies in the runtime stage" >&2; exit 1; }

psql "$admin_url" -v ON_ERROR_STOP=1 -qc "CREATE DATABASE $database"
database_url=$("$node_bin" -e "const u = new URL(process.argv[1]); u.pathname = '/' + process.argv[2]; console.log(u.href)" "$admin_url" "$database")
# What the image sets (Dockerfile ENV) plus what a deployment must provide.
run_env=(
  NODE_ENV=production NODE_OPTIONS="--max-semi-space-size=8" HOST=127.0.0.1 PORT="$api_port" WORKER_PORT="$worker_port"
  DATABASE_URL="$database_url" REDIS_URL="$redis_url" REDIS_KEY_PREFIX="$prefix"
  JWT_SECRET="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" STRIPE_SIMULATOR=true
  PUBLIC_BASE_URL="http://127.0.0.1:$api_port" OTP_SENDER=log LOG_LEVEL=warn
)
in_app() { (cd "$app" && exec env -i PATH="$PATH" "${run_env[@]}" "$node_bin" dist/main.js "$@"); }

echo "== migrate"
in_app migrate

ready() {
  "$node_bin" -e "fetch(process.argv[1]).then((r) => process.exit(r.status === 200 ? 0 : 1), () => process.exit(1))" "$1"
}
start_role() { # role port
  # exec all the way down: the pid is node's, so SIGTERM reaches node itself (as in the image).
  (cd "$app" && exec env -i PATH="$PATH" "${run_env[@]}" "$node_bin" dist/main.js "$1") >"$app/$1.log" 2>&1 &
  local pid=$!
  pids+=("$pid")
  for _ in $(seq 1 150); do
    if ready "http://127.0.0.1:$2/readyz"; then echo "$1: /readyz 200"; return 0; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  echo "$1 did not become ready:" >&2; cat "$app/$1.log" >&2; return 1
}
start_role api "$api_port"
start_role worker "$worker_port"

# The image's HEALTHCHECK command, taken from the Dockerfile, finds each role on its own port.
healthcheck_js=$("$node_bin" -e "
  const match = /HEALTHCHECK[^\n]*\\\\\n\s*CMD (\[.*\])/.exec(require('node:fs').readFileSync('Dockerfile', 'utf8'));
  if (!match) throw new Error('no HEALTHCHECK ... CMD [...] in the Dockerfile');
  console.log(JSON.parse(match[1])[2]);")
spare_port=$((worker_port + 1))
healthcheck() { env PORT="$1" WORKER_PORT="$2" "$node_bin" -e "$healthcheck_js"; }
healthcheck "$api_port" "$spare_port" && echo "HEALTHCHECK: api healthy"
healthcheck "$spare_port" "$worker_port" && echo "HEALTHCHECK: worker healthy"
if healthcheck "$spare_port" "$spare_port"; then echo "HEALTHCHECK passed with nothing listening" >&2; exit 1; fi

echo "== SIGTERM"
for pid in "${pids[@]}"; do
  kill -TERM "$pid"
  status=0
  wait "$pid" || status=$?
  [ "$status" -eq 0 ] || { echo "pid $pid exited $status after SIGTERM" >&2; cat "$app"/*.log >&2; exit 1; }
done
pids=()
echo "runtime stage: migrate, api and worker ready, both exited 0 on SIGTERM"
