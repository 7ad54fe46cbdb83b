/**
 * GET /chatroom served from the per-user cache versus from the database, side by side in one run.
 *
 *   node --import tsx bench/chatroom-list.ts
 *   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres BENCH_REDIS_URL=redis://127.0.0.1:6379 node --import tsx bench/chatroom-list.ts
 *
 * Two servers with the same data: one with the configured cache (Redis, or the in-process LRU), one
 * whose cache never hits (so every request reads the database). Each gets the same autocannon load
 * on loopback; the report is requests/s and latency of each, and their ratio.
 */
import autocannon from 'autocannon';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { createContainer } from '../src/container.js';
import type { Cache } from '../src/infra/cache.js';
import type { DatabaseOptions } from '../src/infra/db/client.js';
import { createLogger } from '../src/infra/logger.js';

const ROOMS = Number(process.env.BENCH_ROOMS ?? 200);
const DURATION_SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 20);
const databaseUrl = process.env.BENCH_DATABASE_URL;
const redisUrl = process.env.BENCH_REDIS_URL;

const alwaysMiss: Cache = {
  kind: 'memory',
  get: () => Promise.resolve(undefined),
  set: () => Promise.resolve(),
  add: () => Promise.resolve(true),
};

async function freshDatabase(): Promise<{ options: DatabaseOptions; drop: () => Promise<void> }> {
  if (!databaseUrl) return { options: { kind: 'pglite' }, drop: () => Promise.resolve() };
  const name = `gc_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(databaseUrl);
  url.pathname = `/${name}`;
  return {
    options: { kind: 'postgres', url: url.toString() },
    drop: async () => {
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      await client.query(`drop database if exists ${name} with (force)`);
      await client.end();
    },
  };
}

async function server(label: string, cache: Cache | undefined) {
  const database = await freshDatabase();
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    JWT_SECRET: randomBytes(32).toString('hex'),
    AUTH_RATE_LIMIT_PER_MINUTE: '100000',
    ...(redisUrl ? { REDIS_URL: redisUrl } : {}),
  });
  const container = await createContainer(config, createLogger('silent'), {
    database: database.options,
    redisKeyPrefix: `bench:${randomBytes(4).toString('hex')}:`,
    ...(cache ? { cache } : {}),
  });
  const app = await buildApp(container);
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  const post = async (path: string, body: unknown, token?: string) =>
    (await fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    }).then((r) => r.json())) as Record<string, string>;
  const mobile = `+9198${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`;
  await post('/auth/signup', { mobile });
  const { otp } = await post('/auth/send-otp', { mobile });
  const { accessToken } = await post('/auth/verify-otp', { mobile, otp });
  for (let i = 0; i < ROOMS; i++) await post('/chatroom', { title: `Room ${i}` }, accessToken);
  return {
    label,
    run: () =>
      autocannon({
        url: `${base}/chatroom?limit=20`,
        headers: { authorization: `Bearer ${accessToken}` },
        connections: CONNECTIONS,
        duration: DURATION_SECONDS,
      }),
    close: async () => {
      await app.close();
      await container.close();
      await database.drop();
    },
  };
}

const drivers = `${databaseUrl ? 'PostgreSQL' : 'PGlite'} + ${redisUrl ? 'Redis cache' : 'in-process LRU cache'}`;
console.log(`GET /chatroom?limit=20, ${ROOMS} rooms, ${CONNECTIONS} connections, ${DURATION_SECONDS} s each, ${drivers}`);
const cached = await server('cache (HIT)', undefined);
const uncached = await server('database (MISS)', alwaysMiss);
const results = [];
for (const target of [uncached, cached]) {
  const result = await target.run();
  results.push({ label: target.label, rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, errors: result.errors + result.non2xx });
}
for (const r of results) {
  console.log(`${r.label.padEnd(16)} ${r.rps.toFixed(0).padStart(7)} req/s   p50 ${r.p50} ms   p99 ${r.p99} ms   errors ${r.errors}`);
}
const [db, hit] = results;
if (db && hit) console.log(`ratio: the cache serves ${(hit.rps / db.rps).toFixed(2)}× the requests/s of the database path`);
await cached.close();
await uncached.close();
