/**
 * The benchmark suite (`npm run bench`; see bench/README.md). Everything runs as its own process on
 * loopback: the server under test started as production starts it (compiled, `node dist/main.js`),
 * a bare Fastify server as the ceiling, the fake model, and the load generator (bench/load.ts).
 * Scenarios alternate round by round so that a passing disturbance hits all of them alike; the
 * report is the median of the rounds and each figure as a ratio to bare Fastify.
 *
 *   npm run bench                                       embedded (PGlite, in-process drivers)
 *   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
 *   BENCH_REDIS_URL=redis://127.0.0.1:6379 npm run bench  PostgreSQL + Redis
 *   BENCH_SMOKE=1 npm run bench                         seconds-long run that only proves the suite works
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import pg from 'pg';

const ROOT = resolve(import.meta.dirname, '..');
const smoke = process.env.BENCH_SMOKE === '1';
const ROUNDS = smoke ? 1 : Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = smoke ? 1 : Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const SENDER_COUNTS = smoke ? [1, 10] : [1, 10, 100];
const SSE_LISTENERS = smoke ? 20 : Number(process.env.BENCH_SSE_LISTENERS ?? 1000);
const databaseUrl = process.env.BENCH_DATABASE_URL;
const redisUrl = process.env.BENCH_REDIS_URL;
const mode = databaseUrl && redisUrl ? 'PostgreSQL + Redis' : 'embedded (PGlite, in-process drivers)';
const JWT_SECRET = randomBytes(32).toString('hex');
const METRICS_TOKEN = randomBytes(16).toString('hex');
const children: ChildProcess[] = [];

/** Starts a process that prints one JSON line `{ ready: true, ... }` once it serves. */
async function startReporting(script: string, env: Record<string, string> = {}): Promise<Record<string, string>> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, script)], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  for await (const line of createInterface({ input: child.stdout })) {
    const message = JSON.parse(line) as Record<string, string>;
    if (message.ready) return message;
  }
  throw new Error(`${script} exited before it was ready`);
}

/** A role of the compiled server, as production starts it. */
async function startServer(role: string, env: Record<string, string>, healthUrl?: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [join(ROOT, 'dist/main.js'), role], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
  children.push(child);
  if (!healthUrl) {
    const [code] = (await once(child, 'exit')) as [number];
    if (code !== 0) throw new Error(`${role} exited with ${code}`);
    return child;
  }
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`${role} exited with ${child.exitCode}`);
    if ((await fetch(healthUrl).catch(() => undefined))?.ok) return child;
    await sleep(100);
  }
  throw new Error(`${role} did not become ready`);
}

function load<T>(task: object): Promise<T> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/load.ts'), JSON.stringify(task)], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return once(child, 'exit').then(() => JSON.parse(output) as T);
}

const rssMb = (pid: number | undefined) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

function client(base: string) {
  const call = async <T>(method: string, path: string, body?: unknown, token?: string): Promise<T> => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(token ? { authorization: `Bearer ${token}` } : {}) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
    return (await response.json()) as T;
  };
  return {
    call,
    async signIn(): Promise<string> {
      const mobile = `+9198${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`;
      await call('POST', '/auth/signup', { mobile });
      const { otp } = await call<{ otp: string }>('POST', '/auth/send-otp', { mobile });
      return (await call<{ accessToken: string }>('POST', '/auth/verify-otp', { mobile, otp })).accessToken;
    },
    room: async (token: string) => (await call<{ id: string }>('POST', '/chatroom', {}, token)).id,
  };
}

/** Mean model call time from the worker's own metrics: what the model took, as opposed to the path around it. */
async function meanModelSeconds(metricsUrl: string): Promise<{ sum: number; count: number }> {
  const text = await (await fetch(metricsUrl, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
  // No line yet means no call yet.
  const sum = Number(/model_call_duration_seconds_sum\{outcome="ok"\} ([\d.e+-]+)/.exec(text)?.[1] ?? 0);
  const count = Number(/model_call_duration_seconds_count\{outcome="ok"\} (\d+)/.exec(text)?.[1] ?? 0);
  return { sum, count };
}

interface Database {
  url?: string;
  drop(): Promise<void>;
}

async function freshDatabase(): Promise<Database> {
  if (!databaseUrl) return { drop: () => Promise.resolve() };
  const name = `gc_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(databaseUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const dropper = new pg.Client({ connectionString: databaseUrl });
      await dropper.connect();
      await dropper.query(`drop database if exists ${name} with (force)`);
      await dropper.end();
    },
  };
}

interface Deployment {
  base: string;
  metricsUrl: string;
  apiPid: number | undefined;
  stop(): Promise<void>;
}

let nextPort = 4100 + Math.floor(Math.random() * 500) * 4;

/** The server under test: `all` embedded, or migrate + api + worker on PostgreSQL + Redis. */
async function deploy(modelUrl: string, extraEnv: Record<string, string> = {}): Promise<Deployment> {
  const port = nextPort++;
  const workerPort = nextPort++;
  const database = await freshDatabase();
  const dataDir = mkdtempSync(join(tmpdir(), 'gc-bench-'));
  const env: Record<string, string> = {
    NODE_ENV: 'production',
    STRIPE_SIMULATOR: 'true',
    ALLOW_OTP_IN_RESPONSE: 'true',
    PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
    MIGRATE_ON_START: 'true',
    PORT: String(port),
    WORKER_PORT: String(workerPort),
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    JWT_SECRET,
    METRICS_TOKEN,
    LOG_LEVEL: 'warn',
    GEMINI_API_KEY: 'bench-key',
    GEMINI_BASE_URL: modelUrl,
    GEMINI_CALLS_PER_MINUTE: '1000000',
    BASIC_DAILY_LIMIT: '1000000',
    AUTH_RATE_LIMIT_PER_MINUTE: '1000000',
    AUTH_RATE_LIMIT_PER_NUMBER_PER_MINUTE: '1000000',
    REDIS_KEY_PREFIX: `bench-${port}:`,
    DATABASE_URL: database.url ?? '',
    REDIS_URL: database.url ? (redisUrl ?? '') : '',
    ...extraEnv,
  };
  const base = `http://127.0.0.1:${port}`;
  const processes: ChildProcess[] = [];
  if (database.url) {
    await startServer('migrate', env);
    processes.push(await startServer('api', env, `${base}/readyz`), await startServer('worker', env, `http://127.0.0.1:${workerPort}/readyz`));
  } else {
    processes.push(await startServer('all', env, `${base}/readyz`));
  }
  return {
    base,
    metricsUrl: database.url ? `http://127.0.0.1:${workerPort}/metrics` : `${base}/metrics`,
    apiPid: processes[0]?.pid,
    async stop() {
      for (const child of processes) {
        child.kill('SIGTERM');
        if (child.exitCode === null) await once(child, 'exit');
      }
      await database.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

type Row = { scenario: string; rps: number; p50: number; p99: number; errors: number; rssMb?: number; note?: string };
const rows: Row[] = [];

async function main() {
  console.log(`Benchmark suite: ${mode}; ${ROUNDS} round(s) of ${SECONDS} s, ${CONNECTIONS} connections; node ${process.version}`);
  const model = await startReporting('bench/fake-model.ts');
  const bare = await startReporting('bench/bare-server.ts');
  const cached = await deploy(model.url ?? '');
  const uncached = await deploy(model.url ?? '', { CHATROOM_CACHE_TTL_SECONDS: '0' });
  const idleRss = rssMb(cached.apiPid);

  // Scenarios 1-3: one user with 20 chatrooms on each deployment.
  const seed = async (deployment: Deployment) => {
    const api = client(deployment.base);
    const token = await api.signIn();
    for (let i = 0; i < 20; i++) await api.room(token);
    return token;
  };
  const cachedToken = await seed(cached);
  const uncachedToken = await seed(uncached);
  const scenarios = [
    { name: 'bare Fastify {ok:true}', url: `${bare.url}/`, token: undefined },
    { name: 'GET /chatroom (cached)', url: `${cached.base}/chatroom`, token: cachedToken },
    { name: 'GET /chatroom (cache off)', url: `${uncached.base}/chatroom`, token: uncachedToken },
    { name: 'GET /user/me', url: `${cached.base}/user/me`, token: cachedToken },
  ];
  const measured = new Map<string, { rps: number; p50: number; p99: number; errors: number }[]>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const scenario of scenarios) {
      const result = await load<{ rps: number; p50: number; p99: number; errors: number }>({
        kind: 'http',
        url: scenario.url,
        headers: scenario.token ? { authorization: `Bearer ${scenario.token}` } : {},
        connections: CONNECTIONS,
        seconds: SECONDS,
      });
      measured.set(scenario.name, [...(measured.get(scenario.name) ?? []), result]);
    }
  }
  for (const [scenario, results] of measured) {
    rows.push({
      scenario,
      rps: median(results.map((r) => r.rps)),
      p50: median(results.map((r) => r.p50)),
      p99: median(results.map((r) => r.p99)),
      errors: results.reduce((sum, r) => sum + r.errors, 0),
    });
  }

  // Scenario 4: POST message → stored reply, with an instant model, each sender in its own chatroom.
  for (const senders of SENDER_COUNTS) {
    const api = client(cached.base);
    const people = await Promise.all(Array.from({ length: senders }, async () => {
      const token = await api.signIn();
      return { token, room: await api.room(token) };
    }));
    const before = await meanModelSeconds(cached.metricsUrl);
    const results = [];
    for (let round = 0; round < ROUNDS; round++) results.push(await load<{ count: number; rps: number; p50: number; p99: number; errors: number }>({ kind: 'messages', base: cached.base, senders: people, seconds: SECONDS }));
    const after = await meanModelSeconds(cached.metricsUrl);
    const modelMs = ((after.sum - before.sum) / Math.max(1, after.count - before.count)) * 1000;
    const p50 = median(results.map((r) => r.p50));
    rows.push({
      scenario: `POST message → reply, ${senders} sender(s)`,
      rps: median(results.map((r) => r.rps)),
      p50,
      p99: median(results.map((r) => r.p99)),
      errors: results.reduce((sum, r) => sum + r.errors, 0),
      note: Number.isFinite(modelMs) ? `model ${modelMs.toFixed(1)} ms, queue overhead p50 ${(p50 - modelMs).toFixed(1)} ms` : 'model time not reported',
    });
  }
  const loadedRss = rssMb(cached.apiPid);
  await cached.stop();
  await uncached.stop();

  // Scenario 5: listeners of one reply from a slow model, on one api process.
  const slowModel = await startReporting('bench/fake-model.ts', { BENCH_MODEL_CHUNK_DELAY_MS: '100', BENCH_MODEL_CHUNKS: smoke ? '10' : '100' });
  const streaming = await deploy(slowModel.url ?? '', { MAX_OPEN_STREAMS_PER_USER: String(SSE_LISTENERS + 10) });
  const api = client(streaming.base);
  const token = await api.signIn();
  const room = await api.room(token);
  const redis = redisUrl && databaseUrl ? new Redis(redisUrl) : undefined;
  const redisClients = async () => (redis ? String(await redis.client('LIST')).trim().split('\n').length : 0);
  const clientsBefore = await redisClients();
  const sent = await api.call<{ reply: { id: string } }>('POST', `/chatroom/${room}/message?wait=false`, { content: 'a long answer, please' }, token);
  let peakRss = 0;
  let peakClients = clientsBefore;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, rssMb(streaming.apiPid));
    void redisClients().then((count) => (peakClients = Math.max(peakClients, count)));
  }, 200);
  const listened = await load<{ opened: number; completed: number; errors: number }>({
    kind: 'sse',
    url: `${streaming.base}/chatroom/${room}/messages/${sent.reply.id}/stream`,
    token,
    listeners: SSE_LISTENERS,
  });
  clearInterval(sampler);
  rows.push({
    scenario: `${SSE_LISTENERS} SSE listeners of one reply`,
    rps: NaN,
    p50: NaN,
    p99: NaN,
    errors: listened.errors,
    rssMb: peakRss,
    note: `${listened.opened} opened, ${listened.completed} got done; Redis clients ${clientsBefore} → peak ${peakClients}`,
  });
  redis?.disconnect();
  await streaming.stop();

  const ceiling = rows[0]?.rps ?? NaN;
  console.log(`\n| Scenario | req/s | × bare | p50 ms | p99 ms | errors | notes |\n|---|---|---|---|---|---|---|`);
  for (const row of rows) {
    const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : '–');
    console.log(`| ${row.scenario} | ${fmt(row.rps)} | ${fmt(row.rps / ceiling, 2)} | ${fmt(row.p50, 1)} | ${fmt(row.p99, 1)} | ${row.errors} | ${row.rssMb ? `RSS ${row.rssMb.toFixed(0)} MB; ` : ''}${row.note ?? ''} |`);
  }
  console.log(`\napi RSS: ${idleRss.toFixed(0)} MB idle after start and seeding, ${loadedRss.toFixed(0)} MB after scenarios 1-4`);
  const failed = rows.some((row) => row.errors > 0);
  if (failed) console.log('Some requests failed: the figures above are not valid.');
  return failed ? 1 : 0;
}

const code = await main().catch((error: unknown) => {
  console.error(error);
  return 1;
});
for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
process.exit(code);
