/**
 * The benchmark suite (`npm run bench`; see bench/README.md). Everything runs as its own process on
 * loopback: the server under test started as production starts it (the compiled build, `node
 * dist/main.js`, with the image's NODE_OPTIONS), a bare Fastify server as the ceiling, the fake
 * model, and the load generator (bench/load.ts). Both modes run in the same sitting, embedded always
 * and PostgreSQL + Redis when BENCH_DATABASE_URL and BENCH_REDIS_URL say where. Scenarios alternate
 * within each round so that a passing disturbance hits all of them alike; the report is the median
 * of the rounds, each figure as a ratio to bare Fastify, and the issue's targets checked against it.
 *
 *   npm run bench                                        embedded only
 *   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
 *   BENCH_REDIS_URL=redis://127.0.0.1:6379 npm run bench   both modes
 *   BENCH_SMOKE=1 npm run bench                          seconds-long: proves the suite works, measures nothing
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { createScratchDatabase } from '../test/helpers/scratch-database.js';

const ROOT = resolve(import.meta.dirname, '..');
const env = process.env;
const smoke = env.BENCH_SMOKE === '1';
const ROUNDS = smoke ? 1 : Number(env.BENCH_ROUNDS ?? 3);
const SECONDS = smoke ? 1 : Number(env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(env.BENCH_CONNECTIONS ?? 50);
const SENDER_COUNTS = smoke ? [1, 10] : [1, 10, 100];
const SSE_LISTENERS = smoke ? 20 : Number(env.BENCH_SSE_LISTENERS ?? 1000);
const ROOMS = 20;
/** BENCH_ONLY=http,messages,sse: a subset of the scenarios (1-3, 4, 5); all by default. */
const only = new Set((env.BENCH_ONLY ?? 'http,messages,sse').split(',').map((part) => part.trim()));
const JWT_SECRET = randomBytes(32).toString('hex');
const METRICS_TOKEN = randomBytes(16).toString('hex');
/** The image's NODE_OPTIONS (Dockerfile), so that the servers run as they run in production. */
const PRODUCTION_NODE_OPTIONS = /NODE_OPTIONS="([^"]+)"/.exec(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'))?.[1] ?? '';

type ModeName = 'PostgreSQL + Redis' | 'embedded';
const services = env.BENCH_DATABASE_URL && env.BENCH_REDIS_URL ? { databaseUrl: env.BENCH_DATABASE_URL, redisUrl: env.BENCH_REDIS_URL } : undefined;
const modes: ModeName[] = services ? ['PostgreSQL + Redis', 'embedded'] : ['embedded'];
const children: ChildProcess[] = [];

/** Starts a helper process that prints one JSON line `{ ready: true, ... }` once it serves. */
async function startReporting(script: string, extraEnv: Record<string, string> = {}): Promise<Record<string, string>> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, script)], { env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  for await (const line of createInterface({ input: child.stdout })) {
    const message = JSON.parse(line) as Record<string, string>;
    if (message.ready) return { ...message, pid: String(child.pid) };
  }
  throw new Error(`${script} exited before it was ready`);
}

/** BENCH_CPU_PROF=dir: every server writes a V8 CPU profile there when it stops (bench/profile-summary.ts reads them). */
const profileDir = env.BENCH_CPU_PROF ? resolve(env.BENCH_CPU_PROF) : undefined;

/** A role of the compiled server, as the image starts it. */
async function startServer(role: string, serverEnv: Record<string, string>, healthUrl?: string): Promise<ChildProcess> {
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  const profiling = profileDir ? ` --cpu-prof --cpu-prof-dir=${profileDir}` : '';
  const child = spawn(process.execPath, [join(ROOT, 'dist/main.js'), role], {
    env: { ...env, NODE_OPTIONS: `${PRODUCTION_NODE_OPTIONS}${profiling}`, ...serverEnv },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  // Profiles are named by pid: which process was which.
  if (profileDir) appendFileSync(join(profileDir, 'processes.txt'), `${child.pid} ${role} ${serverEnv.DATABASE_URL ? 'PostgreSQL+Redis' : 'embedded'} port ${serverEnv.PORT}\n`);
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

/** One task of the load generator, in a process of its own (bench/load.ts). */
function load<T>(task: object): Promise<T> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/load.ts'), JSON.stringify(task)], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return once(child, 'exit').then(() => JSON.parse(output) as T);
}

const rssMb = (pid: number | undefined) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

/** CPU time (user + system) a process has used so far, in ms (Linux /proc; clock ticks of 10 ms). */
function cpuMs(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return 0; // gone meanwhile
  }
}
/** Processes by their command name (`postgres` backends, `redis-server`). */
const pidsNamed = (name: string) =>
  readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === name;
      } catch {
        return false;
      }
    })
    .map(Number);
/** CPU used by each part of the system, so that a run can say where each message's CPU went. */
function cpuByPart(deployment: Deployment, modelPid: number | undefined): Record<string, number> {
  const sum = (pids: number[]) => pids.reduce((total, pid) => total + cpuMs(pid), 0);
  return {
    [deployment.mode === 'embedded' ? 'api+worker (all)' : 'api']: cpuMs(deployment.apiPid),
    ...(deployment.workerPid ? { worker: cpuMs(deployment.workerPid) } : {}),
    ...(deployment.mode === 'embedded' ? {} : { PostgreSQL: sum(pidsNamed('postgres')), Redis: sum(pidsNamed('redis-server')) }),
    'fake model': cpuMs(modelPid),
  };
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

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

/** The model's own time so far, from the worker's metrics: what the model took, as opposed to the path around it. */
async function modelSeconds(metricsUrl: string): Promise<{ sum: number; count: number }> {
  const text = await (await fetch(metricsUrl, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
  // No line yet means no call yet.
  const sum = Number(/model_call_duration_seconds_sum\{outcome="ok"\} ([\d.e+-]+)/.exec(text)?.[1] ?? 0);
  const count = Number(/model_call_duration_seconds_count\{outcome="ok"\} (\d+)/.exec(text)?.[1] ?? 0);
  return { sum, count };
}

interface Deployment {
  mode: ModeName;
  base: string;
  metricsUrl: string;
  /** The process that serves the API (`api`, or `all` embedded). */
  apiPid: number | undefined;
  workerPid?: number | undefined;
  stop(): Promise<void>;
}

let nextPort = 4100 + Math.floor(Math.random() * 500) * 8;

/** The server under test: migrate + api + worker on PostgreSQL + Redis, or `all` embedded. */
async function deploy(mode: ModeName, modelUrl: string, extraEnv: Record<string, string> = {}): Promise<Deployment> {
  const port = nextPort++;
  const workerPort = nextPort++;
  const database = mode === 'embedded' || !services ? undefined : await createScratchDatabase(services.databaseUrl, 'gc_bench_');
  const dataDir = mkdtempSync(join(tmpdir(), 'gc-bench-'));
  const serverEnv: Record<string, string> = {
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
    // The bench measures the path, not the product's limits: none of them may refuse its load.
    GEMINI_CALLS_PER_MINUTE: '1000000',
    BASIC_DAILY_LIMIT: '1000000',
    AUTH_RATE_LIMIT_PER_MINUTE: '1000000',
    AUTH_RATE_LIMIT_PER_NUMBER_PER_MINUTE: '1000000',
    AUTH_RATE_LIMIT_PER_NUMBER_CEILING_PER_MINUTE: '1000000',
    REDIS_KEY_PREFIX: `bench-${port}:`,
    DATABASE_URL: database?.url ?? '',
    REDIS_URL: database ? (services?.redisUrl ?? '') : '',
    ...extraEnv,
  };
  const base = `http://127.0.0.1:${port}`;
  const processes: ChildProcess[] = [];
  if (database) {
    await startServer('migrate', serverEnv);
    processes.push(await startServer('api', serverEnv, `${base}/readyz`), await startServer('worker', serverEnv, `http://127.0.0.1:${workerPort}/readyz`));
  } else {
    processes.push(await startServer('all', serverEnv, `${base}/readyz`));
  }
  return {
    mode,
    base,
    metricsUrl: database ? `http://127.0.0.1:${workerPort}/metrics` : `${base}/metrics`,
    apiPid: processes[0]?.pid,
    workerPid: processes[1]?.pid,
    async stop() {
      for (const child of processes) {
        child.kill('SIGTERM');
        if (child.exitCode === null) await once(child, 'exit');
      }
      await database?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

interface HttpResult {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}
interface Row extends HttpResult {
  mode: ModeName | 'ceiling';
  scenario: string;
  note?: string;
}
const rows: Row[] = [];
const memory = new Map<ModeName, { idle: number; loaded: number; sse?: { peak: number; clientsBefore: number; clientsPeak: number; completed: number; opened: number } }>();
const overheads = new Map<string, number>(); // `${mode} ${senders}` → queue overhead p50

const collect = (mode: Row['mode'], scenario: string, results: HttpResult[], note?: string) =>
  rows.push({
    mode,
    scenario,
    rps: median(results.map((r) => r.rps)),
    p50: median(results.map((r) => r.p50)),
    p99: median(results.map((r) => r.p99)),
    errors: results.reduce((sum, r) => sum + r.errors, 0),
    ...(note ? { note } : {}),
  });

async function main(): Promise<number> {
  const cpu = cpus();
  console.log(
    `Benchmark suite, ${new Date().toISOString().slice(0, 10)}: ${modes.join(' and ')}; ${ROUNDS} round(s) of ${SECONDS} s at ${CONNECTIONS} connections; ` +
      `node ${process.version}, ${cpu.length} × ${cpu[0]?.model ?? 'cpu'}; servers with NODE_OPTIONS="${PRODUCTION_NODE_OPTIONS}"`,
  );
  if (!smoke && ROUNDS < 3) console.log('(fewer than three rounds: figures for a quick look, not for publishing)');
  const model = await startReporting('bench/fake-model.ts');
  const bare = await startReporting('bench/bare-server.ts');

  // Scenarios 1-3: one user with 20 chatrooms on each deployment; every target alternates in each round.
  const targets: { mode: Row['mode']; scenario: string; url: string; token?: string }[] = [{ mode: 'ceiling', scenario: 'bare Fastify {ok:true}', url: `${bare.url}/` }];
  const deployments = new Map<ModeName, { cached: Deployment; uncached: Deployment }>();
  for (const mode of modes) {
    const cached = await deploy(mode, model.url ?? '');
    const uncached = await deploy(mode, model.url ?? '', { CHATROOM_CACHE_TTL_SECONDS: '0' });
    deployments.set(mode, { cached, uncached });
    const seeded = async (deployment: Deployment) => {
      const api = client(deployment.base);
      const token = await api.signIn();
      for (let i = 0; i < ROOMS; i++) await api.room(token);
      return token;
    };
    const [cachedToken, uncachedToken] = [await seeded(cached), await seeded(uncached)];
    await sleep(2000); // settled: what an idle process holds
    memory.set(mode, { idle: rssMb(cached.apiPid), loaded: 0 });
    targets.push(
      { mode, scenario: `GET /chatroom, ${ROOMS} rooms (cached)`, url: `${cached.base}/chatroom`, token: cachedToken },
      { mode, scenario: 'GET /chatroom (cache off)', url: `${uncached.base}/chatroom`, token: uncachedToken },
      { mode, scenario: 'GET /user/me', url: `${cached.base}/user/me`, token: cachedToken },
    );
  }
  const measured = new Map<string, HttpResult[]>();
  for (let round = 0; round < (only.has('http') ? ROUNDS : 0); round++) {
    for (const target of targets) {
      const result = await load<HttpResult>({
        kind: 'http',
        url: target.url,
        headers: target.token ? { authorization: `Bearer ${target.token}` } : {},
        connections: CONNECTIONS,
        seconds: SECONDS,
      });
      const key = `${target.mode}\n${target.scenario}`;
      measured.set(key, [...(measured.get(key) ?? []), result]);
    }
  }
  if (only.has('http')) for (const target of targets) collect(target.mode, target.scenario, measured.get(`${target.mode}\n${target.scenario}`) ?? []);

  // Scenario 4: POST message → stored reply, with an instant model, each sender in its own chatroom;
  // the modes alternate within each round.
  for (const senders of only.has('messages') ? SENDER_COUNTS : []) {
    const people = new Map<ModeName, { token: string; room: string }[]>();
    for (const mode of modes) {
      const api = client(deployments.get(mode)?.cached.base ?? '');
      people.set(mode, await Promise.all(Array.from({ length: senders }, async () => {
        const token = await api.signIn();
        return { token, room: await api.room(token) };
      })));
    }
    const runs = new Map<ModeName, { result: HttpResult; modelMs: number; cpuPerMessage: Record<string, number> }[]>();
    for (let round = 0; round < ROUNDS; round++) {
      for (const mode of modes) {
        const deployment = deployments.get(mode)?.cached;
        if (!deployment) continue;
        const before = await modelSeconds(deployment.metricsUrl);
        const cpuBefore = cpuByPart(deployment, Number(model.pid));
        const result = await load<HttpResult & { count: number }>({ kind: 'messages', base: deployment.base, senders: people.get(mode), seconds: SECONDS });
        const cpuAfter = cpuByPart(deployment, Number(model.pid));
        const after = await modelSeconds(deployment.metricsUrl);
        const modelMs = ((after.sum - before.sum) / Math.max(1, after.count - before.count)) * 1000;
        const cpuPerMessage = Object.fromEntries(Object.entries(cpuAfter).map(([part, ms]) => [part, (ms - (cpuBefore[part] ?? 0)) / Math.max(1, result.count)]));
        runs.set(mode, [...(runs.get(mode) ?? []), { result, modelMs, cpuPerMessage }]);
      }
    }
    for (const [mode, results] of runs) {
      const overhead = median(results.map(({ result, modelMs }) => result.p50 - modelMs));
      overheads.set(`${mode} ${senders}`, overhead);
      const modelMs = median(results.map((r) => r.modelMs));
      const parts = Object.keys(results[0]?.cpuPerMessage ?? {});
      const cpu = parts.map((part) => `${part} ${median(results.map((r) => r.cpuPerMessage[part] ?? 0)).toFixed(1)}`).join(', ');
      collect(
        mode,
        `POST message → reply, ${senders} sender(s)`,
        results.map((r) => r.result),
        `model ${modelMs.toFixed(1)} ms; queue overhead p50 ${overhead.toFixed(1)} ms; CPU ms per message: ${cpu}`,
      );
    }
  }
  for (const mode of modes) {
    const entry = memory.get(mode);
    if (entry) entry.loaded = rssMb(deployments.get(mode)?.cached.apiPid);
  }
  for (const { cached, uncached } of deployments.values()) {
    await cached.stop();
    await uncached.stop();
  }

  // Scenario 5: listeners of one reply from a slow model, on one api process.
  const slowModel = await startReporting('bench/fake-model.ts', { BENCH_MODEL_CHUNK_DELAY_MS: '100', BENCH_MODEL_CHUNKS: smoke ? '10' : '100' });
  for (const mode of only.has('sse') ? modes : []) {
    const streaming = await deploy(mode, slowModel.url ?? '', { MAX_OPEN_STREAMS_PER_USER: String(SSE_LISTENERS + 10) });
    const api = client(streaming.base);
    const token = await api.signIn();
    const room = await api.room(token);
    const redis = mode === 'PostgreSQL + Redis' && services ? new Redis(services.redisUrl) : undefined;
    const redisClients = async () => (redis ? String(await redis.client('LIST')).trim().split('\n').length : 0);
    const clientsBefore = await redisClients();
    const sent = await api.call<{ reply: { id: string } }>('POST', `/chatroom/${room}/message?wait=false`, { content: 'a long answer, please' }, token);
    let peak = 0;
    let clientsPeak = clientsBefore;
    const sampler = setInterval(() => {
      peak = Math.max(peak, rssMb(streaming.apiPid));
      void redisClients().then((count) => (clientsPeak = Math.max(clientsPeak, count)));
    }, 200);
    const listened = await load<{ opened: number; completed: number; errors: number }>({
      kind: 'sse',
      url: `${streaming.base}/chatroom/${room}/messages/${sent.reply.id}/stream`,
      token,
      listeners: SSE_LISTENERS,
    });
    clearInterval(sampler);
    const entry = memory.get(mode);
    if (entry) entry.sse = { peak, clientsBefore, clientsPeak, completed: listened.completed, opened: listened.opened };
    rows.push({
      mode,
      scenario: `${SSE_LISTENERS} SSE listeners of one reply`,
      rps: NaN,
      p50: NaN,
      p99: NaN,
      errors: listened.errors,
      note: `${listened.opened} opened, ${listened.completed} got the end; api RSS peak ${peak.toFixed(0)} MB${redis ? `; Redis clients ${clientsBefore} → peak ${clientsPeak}` : ''}`,
    });
    redis?.disconnect();
    await streaming.stop();
  }

  report();
  const failed = rows.some((row) => row.errors > 0);
  if (failed) console.log('\nSome requests failed: the figures above are not valid.');
  return failed ? 1 : 0;
}

function report() {
  const ceiling = rows.find((row) => row.mode === 'ceiling')?.rps ?? NaN;
  const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : '–');
  const find = (mode: ModeName, prefix: string) => rows.find((row) => row.mode === mode && row.scenario.startsWith(prefix));
  for (const mode of ['ceiling', ...modes] as const) {
    console.log(`\n${mode === 'ceiling' ? 'Ceiling' : mode}\n\n| Scenario | req/s | × bare | p50 ms | p99 ms | errors | notes |\n|---|---|---|---|---|---|---|`);
    for (const row of rows.filter((r) => r.mode === mode)) {
      console.log(`| ${row.scenario} | ${fmt(row.rps)} | ${fmt(row.rps / ceiling, 2)} | ${fmt(row.p50, 1)} | ${fmt(row.p99, 1)} | ${row.errors} | ${row.note ?? ''} |`);
    }
    const rss = mode === 'ceiling' ? undefined : memory.get(mode);
    if (rss) console.log(`\napi process RSS: ${rss.idle.toFixed(0)} MB idle (started, seeded, settled), ${rss.loaded.toFixed(0)} MB after scenarios 1-4`);
  }

  // The issue's targets, against this run.
  const lines: [string, string, boolean][] = [];
  const target = (what: string, value: number, goal: number, unit: string, atMost: boolean) =>
    Number.isFinite(value) && // a scenario this run did not measure
    lines.push([what, `${fmt(value, unit === '×' ? 2 : 1)}${unit === '×' ? '×' : ` ${unit}`} (${atMost ? '≤' : '≥'} ${goal}${unit === '×' ? '×' : ` ${unit}`})`, atMost ? value <= goal : value >= goal]);
  // The issue sets its ratio targets for either mode, the rest (latency, memory, Redis connections,
  // embedded against the services) for PostgreSQL + Redis: an embedded-only run is not judged by those.
  const main: ModeName = services ? 'PostgreSQL + Redis' : 'embedded';
  const ratio = (prefix: string, mode: ModeName = main) => (find(mode, prefix)?.rps ?? NaN) / ceiling;
  target(`cached GET /chatroom, ${main}`, ratio('GET /chatroom, '), 0.3, '×', false);
  target(`GET /user/me, ${main}`, ratio('GET /user/me'), 0.25, '×', false);
  if (services) {
    target(`POST → reply p50, 1 sender, ${main}`, find(main, 'POST message → reply, 1 ')?.p50 ?? NaN, 8, 'ms', true);
    target(`POST → reply p50, 10 senders, ${main}`, find(main, 'POST message → reply, 10 ')?.p50 ?? NaN, 15, 'ms', true);
    target(`POST → reply p99, 10 senders, ${main}`, find(main, 'POST message → reply, 10 ')?.p99 ?? NaN, 50, 'ms', true);
    if (SENDER_COUNTS.includes(100)) target(`queue overhead p50, 100 senders, ${main}`, overheads.get(`${main} 100`) ?? NaN, 5, 'ms', true);
    const sse = memory.get(main)?.sse;
    if (sse) {
      target(`api RSS with ${SSE_LISTENERS} SSE listeners, ${main}`, sse.peak, 300, 'MB', true);
      lines.push([`Redis connections with ${SSE_LISTENERS} listeners`, `${sse.clientsBefore} → ${sse.clientsPeak}`, sse.clientsPeak - sse.clientsBefore <= 1]);
    }
    for (const prefix of ['GET /chatroom, ', 'GET /chatroom (cache off)', 'GET /user/me']) {
      const slower = (find(main, prefix)?.rps ?? NaN) / (find('embedded', prefix)?.rps ?? NaN);
      target(`embedded vs ${main}, ${prefix.replace(/, $/, ' (cached)')}: times slower`, slower, 3, '×', true);
    }
    target(`api RSS idle, ${main}`, memory.get(main)?.idle ?? NaN, 150, 'MB', true);
  }
  console.log(
    smoke
      ? '\nTargets (bench issue): a smoke run measures nothing; the table only shows that every figure is produced\n\n| Target | Measured | Met |\n|---|---|---|'
      : '\nTargets (bench issue), this run\n\n| Target | Measured | Met |\n|---|---|---|',
  );
  for (const [what, value, met] of lines) console.log(`| ${what} | ${value} | ${met ? 'yes' : '**no**'} |`);
  if (!services) console.log('\nThe latency, memory and embedded-against-services targets are for PostgreSQL + Redis: set BENCH_DATABASE_URL and BENCH_REDIS_URL.');
}

const code = await main().catch((error: unknown) => {
  console.error(error);
  return 1;
});
for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
process.exit(code);
