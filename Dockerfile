# syntax=docker/dockerfile:1
# One image for every role: `node dist/main.js api` (the default), `… worker`, `… migrate`.
#   docker build -t gemini-chat-backend .
# The runtime stage's steps are what CI runs outside Docker (.ci/run, "runtime stage"): keep them in step.

# --- build: dev dependencies, TypeScript compiled to dist/ ---
FROM node:24-bookworm AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the `node` devDependency's install script downloads a second Node binary (the
# image has Node 24 already), and no other package's install script is approved (package.json
# allowScripts): npm runs none of them on a developer's machine either.
# The bin link it leaves would point at that missing binary: removed so npm scripts use the image's node.
RUN npm ci --ignore-scripts --no-audit --no-fund && rm -f node_modules/.bin/node
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/compile-server.ts ./scripts/
COPY src ./src
COPY web ./web
RUN npm run build

# --- runtime: production dependencies, dist/ and the migrations, a non-root user ---
FROM node:24-bookworm-slim AS runtime
# --max-semi-space-size=8: V8 sizes its young generation for the machine (up to 64 MiB a semi-space
# here), and an api process then kept ~100 MiB of dead start-up garbage for good; 8 MiB keeps an idle
# api process under 150 MiB at the throughput bench/README.md reports. No --enable-source-maps: it
# loads the source map of every dependency file that names one (drizzle-orm ships one per file),
# ~8 MiB in every process; stack traces name dist/ files, which tsc keeps one for one with src/.
ENV NODE_ENV=production \
    NODE_OPTIONS="--max-semi-space-size=8" \
    PORT=3000 \
    WORKER_PORT=3001
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
# dist/ holds the server, its shared rules (src/shared -> dist/shared) and the built page (dist/public).
COPY --from=build /app/dist ./dist
# Resolved from dist/infra/db/ as ../../../drizzle: it must sit beside dist/.
COPY drizzle ./drizzle
# DATA_DIR (./data) is only used in embedded mode (no DATABASE_URL); writable by the app's user.
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 3000 3001
# No curl in a slim image: Node's fetch. Liveness of whichever role runs: the api answers on PORT, the
# worker on WORKER_PORT; the one-shot migrate role exits before the first check.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "const live = (port) => fetch('http://127.0.0.1:' + port + '/healthz').then((r) => { if (!r.ok) throw new Error(String(r.status)); }); live(process.env.PORT || 3000).catch(() => live(process.env.WORKER_PORT || 3001)).then(() => process.exit(0), () => process.exit(1))"]
# node itself as PID 1: SIGTERM reaches it and it drains before exiting 0.
CMD ["node", "dist/main.js", "api"]
