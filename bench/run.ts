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
 *   BENCH_ONLY=uploads npm run bench                     one scenario (or a list of them, below)
 *   BENCH_BASELINE_DIR=../other npm run bench            the same scenarios on another checkout's build too
 *                                                        (its dist/ built), alternating with this one
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { createScratchDatabase } from '../test/helpers/scratch-database.js';
import type { BenchRow, HttpResult } from './bench-row.js';
import { searchScenario, type SearchSizes } from './search.js';
import { sharesScenario } from './shares.js';
import { uploadsScenario, type UploadFigures, type UploadSizes } from './uploads.js';

const ROOT = resolve(import.meta.dirname, '..');
const env = process.env;
const smoke = env.BENCH_SMOKE === '1';
const ROUNDS = smoke ? 1 : Number(env.BENCH_ROUNDS ?? 3);
const SECONDS = smoke ? 1 : Number(env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(env.BENCH_CONNECTIONS ?? 50);
const SENDER_COUNTS = smoke ? [1, 10] : [1, 10, 100];
const SSE_LISTENERS = smoke ? 20 : Number(env.BENCH_SSE_LISTENERS ?? 1000);
/** The streaming scenario: replies at once (one client each), chunks per reply, ms between chunks. */
const STREAMS = smoke ? 20 : Number(env.BENCH_STREAMS ?? 500);
const STREAM_CHUNKS = smoke ? 20 : Number(env.BENCH_STREAM_CHUNKS ?? 100);
const STREAM_CHUNK_MS = Number(env.BENCH_STREAM_CHUNK_MS ?? 20);
const ROOMS = 20;
/** Scenario 7: the file, the uploads at once, the image (MiB), and the rounds. */
const UPLOAD_SIZES: UploadSizes = smoke
  ? { uploadBytes: 256 * 1024, concurrent: 4, imageBytes: 64 * 1024, rounds: 1, concurrentRounds: 1 }
  : {
      uploadBytes: Number(env.BENCH_UPLOAD_MIB ?? 20) * 1024 * 1024,
      concurrent: Number(env.BENCH_UPLOAD_CONCURRENT ?? 20),
      imageBytes: Number(env.BENCH_IMAGE_MIB ?? 5) * 1024 * 1024,
      rounds: Number(env.BENCH_UPLOAD_ROUNDS ?? 5),
      concurrentRounds: ROUNDS,
    };
/** Scenario 8: messages in the table, the searcher's share, other users, searchers at once. */
const SEARCH_SIZES: SearchSizes = smoke
  ? { messages: 2_000, embeddedMessages: 2_000, own: 200, otherUsers: 10, searchers: 2, seconds: 1, rounds: 1 }
  : {
      messages: Number(env.BENCH_SEARCH_MESSAGES ?? 1_000_000),
      embeddedMessages: Number(env.BENCH_SEARCH_EMBEDDED_MESSAGES ?? 100_000),
      own: Number(env.BENCH_SEARCH_OWN ?? 10_000),
      otherUsers: 1_000,
      searchers: Number(env.BENCH_SEARCHERS ?? 10),
      seconds: SECONDS,
      rounds: ROUNDS,
    };
/** Scenario 9: messages in the shared snapshot. */
const SHARE_MESSAGES = smoke ? 20 : Number(env.BENCH_SHARE_MESSAGES ?? 200);
/** BENCH_ONLY=http,messages,sse,streaming,uploads,search,shares: a subset of the scenarios (1-3, 4, 5, 6, 7, 8, 9); all by default. */
const only = new Set((env.BENCH_ONLY ?? 'http,messages,sse,streaming,uploads,search,shares').split(',').map((part) => part.trim()));
const JWT_SECRET = randomBytes(32).toString('hex');
const METRICS_TOKEN = randomBytes(16).toString('hex');

/** A checkout whose build is under test: this one, and the baseline (BENCH_BASELINE_DIR) it is compared with. */
interface Build {
  name: 'current' | 'baseline';
  dir: string;
  /** The image's NODE_OPTIONS (the checkout's Dockerfile), so that the servers run as they run in production. */
  nodeOptions: string;
}
const buildIn = (name: Build['name'], dir: string): Build => {
  if (!existsSync(join(dir, 'dist/main.js'))) throw new Error(`${dir}/dist/main.js is missing: build that checkout first (npm run build)`);
  const dockerfile = join(dir, 'Dockerfile');
  const nodeOptions = existsSync(dockerfile) ? (/NODE_OPTIONS="([^"]+)"/.exec(readFileSync(dockerfile, 'utf8'))?.[1] ?? '') : '';
  return { name, dir, nodeOptions };
};
const builds: Build[] = [buildIn('current', ROOT), ...(env.BENCH_BASELINE_DIR ? [buildIn('baseline', resolve(env.BENCH_BASELINE_DIR))] : [])];

type ModeName = 'PostgreSQL + Redis' | 'embedded';
const services = env.BENCH_DATABASE_URL && env.BENCH_REDIS_URL ? { databaseUrl: env.BENCH_DATABASE_URL, redisUrl: env.BENCH_REDIS_URL } : undefined;
const modes: ModeName[] = services ? ['PostgreSQL + Redis', 'embedded'] : ['embedded'];
/**
 * What a figure was measured on: a mode of one build. The current build's label is the bare mode
 * name (what the targets read), the baseline's says so.
 */
interface Variant {
  mode: ModeName;
  build: Build;
  label: string;
}
const variants: Variant[] = modes.flatMap((mode) => builds.map((build) => ({ mode, build, label: build.name === 'current' ? mode : `${mode}, baseline` })));
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

/** A role of the compiled server of a build, as the image starts it. */
async function startServer(role: string, build: Build, serverEnv: Record<string, string>, healthUrl?: string): Promise<ChildProcess> {
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  const profiling = profileDir ? ` --cpu-prof --cpu-prof-dir=${profileDir}` : '';
  const child = spawn(process.execPath, [join(build.dir, 'dist/main.js'), role], {
    cwd: build.dir,
    env: { ...env, NODE_OPTIONS: `${build.nodeOptions}${profiling}`, ...serverEnv },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  // Profiles are named by pid: which process was which.
  if (profileDir) {
    const mode = serverEnv.DATABASE_URL ? 'PostgreSQL+Redis' : 'embedded';
    appendFileSync(join(profileDir, 'processes.txt'), `${child.pid} ${role} ${mode}${build.name === 'baseline' ? ' baseline' : ''} port ${serverEnv.PORT}\n`);
  }
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
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/load.ts')], { stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(child);
  child.stdin.end(JSON.stringify(task));
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
  label: string;
  base: string;
  metricsUrl: string;
  /** The process that serves the API (`api`, or `all` embedded). */
  apiPid: number | undefined;
  workerPid?: number | undefined;
  stop(): Promise<void>;
}

let nextPort = 4100 + Math.floor(Math.random() * 500) * 8;

/** The server under test: migrate + api + worker on PostgreSQL + Redis, or `all` embedded. */
async function deploy({ mode, build, label }: Variant, modelUrl: string, extraEnv: Record<string, string> = {}): Promise<Deployment> {
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
    await startServer('migrate', build, serverEnv);
    processes.push(
      await startServer('api', build, serverEnv, `${base}/readyz`),
      await startServer('worker', build, serverEnv, `http://127.0.0.1:${workerPort}/readyz`),
    );
  } else {
    processes.push(await startServer('all', build, serverEnv, `${base}/readyz`));
  }
  return {
    mode,
    label,
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

const CEILING = 'ceiling';
const rows: BenchRow[] = [];
const memory = new Map<string, { idle: number; loaded: number; sse?: { peak: number; clientsBefore: number; clientsPeak: number; completed: number; opened: number } }>();
const overheads = new Map<string, number>(); // `${label} ${senders}` → queue overhead p50
/** The upload scenario, by variant label: what the targets read. */
let uploadFigures = new Map<string, UploadFigures>();
/** The search scenario, by variant label: what the targets read. */
let searchFigures = new Map<string, { p50: number; p99: number }>();
/** Scenario 9, by variant label: GET /shares/:id ÷ bare Fastify, measured in the same rounds. */
let shareRatios = new Map<string, number>();
/** The streaming scenario, by variant label: what the targets read. */
const streamingResults = new Map<string, { p99: number; rssPeakMb: number; lost: number; duplicated: number; errors: number }>();

const collect = (label: string, scenario: string, results: HttpResult[], note?: string) =>
  rows.push({
    label,
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
      `node ${process.version}, ${cpu.length} × ${cpu[0]?.model ?? 'cpu'}; ` +
      builds.map((build) => `${build.name} build ${build.dir} (servers with NODE_OPTIONS="${build.nodeOptions}")`).join(', '),
  );
  if (!smoke && ROUNDS < 3) console.log('(fewer than three rounds: figures for a quick look, not for publishing)');
  const model = await startReporting('bench/fake-model.ts');
  const bare = await startReporting('bench/bare-server.ts');

  // Scenarios 1-3: one user with 20 chatrooms on each deployment; every target alternates in each round.
  const targets: { label: string; scenario: string; url: string; token?: string }[] = [{ label: CEILING, scenario: 'bare Fastify {ok:true}', url: `${bare.url}/` }];
  const deployments = new Map<string, { cached: Deployment; uncached: Deployment }>();
  for (const variant of only.has('http') || only.has('messages') ? variants : []) {
    const cached = await deploy(variant, model.url ?? '');
    const uncached = await deploy(variant, model.url ?? '', { CHATROOM_CACHE_TTL_SECONDS: '0' });
    deployments.set(variant.label, { cached, uncached });
    const seeded = async (deployment: Deployment) => {
      const api = client(deployment.base);
      const token = await api.signIn();
      for (let i = 0; i < ROOMS; i++) await api.room(token);
      return token;
    };
    const [cachedToken, uncachedToken] = [await seeded(cached), await seeded(uncached)];
    await sleep(2000); // settled: what an idle process holds
    memory.set(variant.label, { idle: rssMb(cached.apiPid), loaded: 0 });
    targets.push(
      { label: variant.label, scenario: `GET /chatroom, ${ROOMS} rooms (cached)`, url: `${cached.base}/chatroom`, token: cachedToken },
      { label: variant.label, scenario: 'GET /chatroom (cache off)', url: `${uncached.base}/chatroom`, token: uncachedToken },
      { label: variant.label, scenario: 'GET /user/me', url: `${cached.base}/user/me`, token: cachedToken },
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
      const key = `${target.label}\n${target.scenario}`;
      measured.set(key, [...(measured.get(key) ?? []), result]);
    }
  }
  if (only.has('http')) for (const target of targets) collect(target.label, target.scenario, measured.get(`${target.label}\n${target.scenario}`) ?? []);

  // Scenario 4: POST message → stored reply, with an instant model, each sender in its own chatroom;
  // the variants alternate within each round.
  for (const senders of only.has('messages') ? SENDER_COUNTS : []) {
    const people = new Map<string, { token: string; room: string }[]>();
    for (const variant of variants) {
      const api = client(deployments.get(variant.label)?.cached.base ?? '');
      people.set(variant.label, await Promise.all(Array.from({ length: senders }, async () => {
        const token = await api.signIn();
        return { token, room: await api.room(token) };
      })));
    }
    const runs = new Map<string, { result: HttpResult; modelMs: number; cpuPerMessage: Record<string, number> }[]>();
    for (let round = 0; round < ROUNDS; round++) {
      for (const variant of variants) {
        const deployment = deployments.get(variant.label)?.cached;
        if (!deployment) continue;
        const before = await modelSeconds(deployment.metricsUrl);
        const cpuBefore = cpuByPart(deployment, Number(model.pid));
        const result = await load<HttpResult & { count: number }>({ kind: 'messages', base: deployment.base, senders: people.get(variant.label), seconds: SECONDS });
        const cpuAfter = cpuByPart(deployment, Number(model.pid));
        const after = await modelSeconds(deployment.metricsUrl);
        const modelMs = ((after.sum - before.sum) / Math.max(1, after.count - before.count)) * 1000;
        const cpuPerMessage = Object.fromEntries(Object.entries(cpuAfter).map(([part, ms]) => [part, (ms - (cpuBefore[part] ?? 0)) / Math.max(1, result.count)]));
        runs.set(variant.label, [...(runs.get(variant.label) ?? []), { result, modelMs, cpuPerMessage }]);
      }
    }
    for (const [label, results] of runs) {
      const overhead = median(results.map(({ result, modelMs }) => result.p50 - modelMs));
      overheads.set(`${label} ${senders}`, overhead);
      const modelMs = median(results.map((r) => r.modelMs));
      const parts = Object.keys(results[0]?.cpuPerMessage ?? {});
      const cpu = parts.map((part) => `${part} ${median(results.map((r) => r.cpuPerMessage[part] ?? 0)).toFixed(1)}`).join(', ');
      collect(
        label,
        `POST message → reply, ${senders} sender(s)`,
        results.map((r) => r.result),
        `model ${modelMs.toFixed(1)} ms; queue overhead p50 ${overhead.toFixed(1)} ms; CPU ms per message: ${cpu}`,
      );
    }
  }
  for (const [label, { cached }] of deployments) {
    const entry = memory.get(label);
    if (entry) entry.loaded = rssMb(cached.apiPid);
  }
  for (const { cached, uncached } of deployments.values()) {
    await cached.stop();
    await uncached.stop();
  }

  // Scenario 5: listeners of one reply from a slow model, on one api process.
  const slowModel = await startReporting('bench/fake-model.ts', { BENCH_MODEL_CHUNK_DELAY_MS: '100', BENCH_MODEL_CHUNKS: smoke ? '10' : '100' });
  for (const variant of only.has('sse') ? variants : []) {
    const streaming = await deploy(variant, slowModel.url ?? '', { MAX_OPEN_STREAMS_PER_USER: String(SSE_LISTENERS + 10) });
    const api = client(streaming.base);
    const token = await api.signIn();
    const room = await api.room(token);
    const redis = variant.mode === 'PostgreSQL + Redis' && services ? new Redis(services.redisUrl) : undefined;
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
    const entry = memory.get(variant.label) ?? { idle: NaN, loaded: NaN };
    memory.set(variant.label, { ...entry, sse: { peak, clientsBefore, clientsPeak, completed: listened.completed, opened: listened.opened } });
    rows.push({
      label: variant.label,
      scenario: `${SSE_LISTENERS} SSE listeners of one reply`,
      rps: NaN,
      p50: NaN,
      p99: NaN,
      errors: listened.errors,
      note: `${listened.opened} opened, ${listened.completed} got the end; api RSS peak ${peak.toFixed(0)} MB${redis ? `; Redis clients ${clientsBefore} → peak ${clientsPeak}` : ''}`,
      figures: { 'api RSS peak, MB': peak },
    });
    redis?.disconnect();
    await streaming.stop();
  }

  if (only.has('streaming')) await streamingScenario();

  if (only.has('uploads')) {
    // A build from before files (a baseline, say) has no POST /files to measure.
    const withFiles = variants.filter((variant) => existsSync(join(variant.build.dir, 'dist/modules/files/file.routes.js')));
    for (const variant of variants) if (!withFiles.includes(variant)) console.log(`uploads: ${variant.label} has no files module; not measured`);
    const uploads = await uploadsScenario({ variants: withFiles, sizes: UPLOAD_SIZES, deploy, load, startReporting, rssMb, client });
    rows.push(...uploads.rows);
    uploadFigures = uploads.figures;
  }

  if (only.has('search')) {
    const searched = await searchScenario({
      variants,
      sizes: SEARCH_SIZES,
      adminDatabaseUrl: services?.databaseUrl,
      deploy,
      load,
      client,
      modelUrl: model.url ?? '',
    });
    rows.push(...searched.rows);
    searchFigures = searched.figures;
  }

  if (only.has('shares')) {
    const shared = await sharesScenario({
      variants,
      messages: SHARE_MESSAGES,
      rounds: ROUNDS,
      seconds: SECONDS,
      connections: CONNECTIONS,
      ceilingUrl: bare.url ?? '',
      deploy,
      load,
      startReporting,
      client,
    });
    // Run alone (BENCH_ONLY=shares), the scenario's own ceiling rounds are the run's ceiling.
    if (!rows.some((row) => row.label === CEILING)) collect(CEILING, 'bare Fastify {ok:true}', shared.ceiling);
    rows.push(...shared.rows);
    shareRatios = shared.ratios;
  }

  report();
  const failed = rows.some((row) => row.errors > 0);
  if (failed) console.log('\nSome requests failed: the figures above are not valid.');
  return failed ? 1 : 0;
}

interface StreamingRound {
  clients: number;
  completed: number;
  errors: number;
  firstFailure?: string;
  resets: number;
  chunksRead: number;
  lost: number;
  duplicated: number;
  /** The delay a chunk gained between the model writing it and the client reading it, ms. */
  p50: number;
  p99: number;
  max: number;
}

/**
 * Scenario 6: STREAMS replies streaming at once, each to its own client (POST …/message as an event
 * stream), from a model that writes STREAM_CHUNKS stamped chunks STREAM_CHUNK_MS apart and holds
 * every reply of a round until all of them have called it, so that they all stream together. Each
 * client is a user of its own with one chatroom: no per-user cap (waiting replies, open streams) nor
 * the allowance is reached; the worker runs as many generations at once as there are replies.
 */
async function streamingScenario() {
  const stampedModel = await startReporting('bench/fake-model.ts', {
    BENCH_MODEL_CHUNKS: String(STREAM_CHUNKS),
    BENCH_MODEL_CHUNK_DELAY_MS: String(STREAM_CHUNK_MS),
    BENCH_MODEL_STAMP: '1',
    BENCH_MODEL_BARRIER: String(STREAMS),
  });
  const deployments = new Map<string, { deployment: Deployment; clients: { token: string; room: string }[] }>();
  for (const variant of variants) {
    // Titles are a model call of their own after a chatroom's first reply: not the path measured here.
    const deployment = await deploy(variant, stampedModel.url ?? '', { GENERATION_CONCURRENCY: String(STREAMS), AUTO_TITLE: 'false' });
    const api = client(deployment.base);
    const clients: { token: string; room: string }[] = [];
    for (let i = 0; i < STREAMS; i += 25) {
      clients.push(...(await Promise.all(Array.from({ length: Math.min(25, STREAMS - i) }, async () => {
        const token = await api.signIn();
        return { token, room: await api.room(token) };
      }))));
    }
    deployments.set(variant.label, { deployment, clients });
  }
  await sleep(2000); // settled

  const runs = new Map<string, (StreamingRound & { rss: Record<string, number>; cpuMs: Record<string, number> })[]>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const variant of variants) {
      const entry = deployments.get(variant.label);
      if (!entry) continue;
      const { deployment, clients } = entry;
      const pids = { [deployment.workerPid ? 'api' : 'all']: deployment.apiPid, ...(deployment.workerPid ? { worker: deployment.workerPid } : {}) };
      const rss: Record<string, number> = { together: 0 };
      const sample = () => {
        let together = 0;
        for (const [role, pid] of Object.entries(pids)) {
          const mb = rssMb(pid);
          rss[role] = Math.max(rss[role] ?? 0, mb);
          together += mb;
        }
        rss.together = Math.max(rss.together ?? 0, together);
      };
      const cpuBefore = Object.fromEntries(Object.entries(pids).map(([role, pid]) => [role, cpuMs(pid)]));
      const sampler = setInterval(sample, 100);
      const result = await load<StreamingRound>({ kind: 'streaming', base: deployment.base, clients, chunks: STREAM_CHUNKS });
      clearInterval(sampler);
      sample();
      const cpuUsed = Object.fromEntries(Object.entries(pids).map(([role, pid]) => [role, cpuMs(pid) - (cpuBefore[role] ?? 0)]));
      if (result.firstFailure) console.log(`streaming, ${variant.label}: ${result.errors} stream(s) failed, the first: ${result.firstFailure}`);
      runs.set(variant.label, [...(runs.get(variant.label) ?? []), { ...result, rss, cpuMs: cpuUsed }]);
    }
  }
  for (const [label, results] of runs) {
    const med = (pick: (r: (typeof results)[number]) => number) => median(results.map(pick));
    const total = (pick: (r: (typeof results)[number]) => number) => results.reduce((sum, r) => sum + pick(r), 0);
    const roles = Object.keys(results[0]?.cpuMs ?? {});
    const lost = total((r) => r.lost);
    const duplicated = total((r) => r.duplicated);
    const errors = total((r) => r.errors + r.resets);
    const rssNote = roles.map((role) => `${role} ${med((r) => r.rss[role] ?? NaN).toFixed(0)}`).join(', ');
    const cpuNote = roles.map((role) => `${role} ${med((r) => r.cpuMs[role] ?? NaN).toFixed(0)}`).join(', ');
    rows.push({
      label,
      scenario: `${STREAMS} replies streaming at once (${STREAM_CHUNKS} chunks, ${STREAM_CHUNK_MS} ms apart): delay added to a chunk`,
      rps: NaN,
      p50: med((r) => r.p50),
      p99: med((r) => r.p99),
      errors,
      note:
        `${total((r) => r.completed)} of ${total((r) => r.clients)} streams got done; ${total((r) => r.chunksRead)} chunks read, ${lost} lost, ${duplicated} duplicated` +
        `${total((r) => r.resets) ? `, ${total((r) => r.resets)} resets (retries)` : ''}; max delay ${med((r) => r.max).toFixed(0)} ms; ` +
        `RSS peak MB: ${rssNote}${roles.length > 1 ? `, together ${med((r) => r.rss.together ?? NaN).toFixed(0)}` : ''}; CPU ms: ${cpuNote}`,
      figures: {
        ...Object.fromEntries(roles.map((role) => [`${role} RSS peak, MB`, med((r) => r.rss[role] ?? NaN)])),
        ...Object.fromEntries(roles.map((role) => [`${role} CPU, ms`, med((r) => r.cpuMs[role] ?? NaN)])),
      },
    });
    streamingResults.set(label, { p99: med((r) => r.p99), rssPeakMb: med((r) => r.rss.together ?? NaN), lost, duplicated, errors });
  }
  for (const { deployment } of deployments.values()) await deployment.stop();
}

function report() {
  const ceiling = rows.find((row) => row.label === CEILING)?.rps ?? NaN;
  const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : '–');
  const find = (label: string, prefix: string) => rows.find((row) => row.label === label && row.scenario.startsWith(prefix));
  for (const label of [CEILING, ...variants.map((variant) => variant.label)]) {
    console.log(`\n${label === CEILING ? 'Ceiling' : label}\n\n| Scenario | req/s | × bare | p50 ms | p99 ms | errors | notes |\n|---|---|---|---|---|---|---|`);
    for (const row of rows.filter((r) => r.label === label)) {
      console.log(`| ${row.scenario} | ${fmt(row.rps)} | ${fmt(row.rps / ceiling, 2)} | ${fmt(row.p50, 1)} | ${fmt(row.p99, 1)} | ${row.errors} | ${row.note ?? ''} |`);
    }
    const rss = memory.get(label);
    if (rss && Number.isFinite(rss.idle)) console.log(`\napi process RSS: ${rss.idle.toFixed(0)} MB idle (started, seeded, settled), ${rss.loaded.toFixed(0)} MB after scenarios 1-4`);
  }
  if (builds.length > 1) compareWithBaseline(fmt);

  // The issue's targets, against this run (the current build).
  const lines: [string, string, boolean][] = [];
  const target = (what: string, value: number, goal: number, unit: string, atMost: boolean) =>
    Number.isFinite(value) && // a scenario this run did not measure
    lines.push([what, `${fmt(value, unit === '×' ? 2 : 1)}${unit === '×' ? '×' : ` ${unit}`} (${atMost ? '≤' : '≥'} ${goal}${unit === '×' ? '×' : ` ${unit}`})`, atMost ? value <= goal : value >= goal]);
  // The issue sets its ratio targets for either mode, the rest (latency, memory, Redis connections,
  // embedded against the services) for PostgreSQL + Redis: an embedded-only run is not judged by those.
  // The upload targets (files issue) are for either mode.
  const main: ModeName = services ? 'PostgreSQL + Redis' : 'embedded';
  const ratio = (prefix: string, mode: ModeName = main) => (find(mode, prefix)?.rps ?? NaN) / ceiling;
  target(`cached GET /chatroom, ${main}`, ratio('GET /chatroom, '), 0.3, '×', false);
  target(`GET /user/me, ${main}`, ratio('GET /user/me'), 0.25, '×', false);
  const uploaded = uploadFigures.get(main);
  if (uploaded) {
    target(`upload of ${UPLOAD_SIZES.uploadBytes / 1024 / 1024} MiB to the fs store, × bare node:http to disk, ${main}`, uploaded.fsRatioToBare, 0.5, '×', false);
    target(`api RSS growth, ${UPLOAD_SIZES.concurrent} uploads at once, ${main}`, uploaded.rssGrowthMb, 64, 'MB', true);
  }
  // Scenario 9's ratio is to the bare server of its own rounds (alternating with it).
  target(`GET /shares/:id, ${SHARE_MESSAGES}-message snapshot, × bare, ${main}`, shareRatios.get(main) ?? NaN, 0.3, '×', false);
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
    const streamed = streamingResults.get(main);
    if (streamed) {
      target(`delay added to a chunk, p99, ${STREAMS} replies streaming, ${main}`, streamed.p99, 50, 'ms', true);
      target(`RSS peak api + worker, ${STREAMS} replies streaming, ${main}`, streamed.rssPeakMb, 400, 'MB', true);
      lines.push([`chunks lost / duplicated, ${STREAMS} replies streaming`, `${streamed.lost} / ${streamed.duplicated} (0 / 0)`, streamed.lost === 0 && streamed.duplicated === 0]);
    }
    const searched = searchFigures.get(main);
    if (searched) {
      target(`GET /search p50, ${SEARCH_SIZES.searchers} searchers, ${main}`, searched.p50, 20, 'ms', true);
      target(`GET /search p99, ${SEARCH_SIZES.searchers} searchers, ${main}`, searched.p99, 60, 'ms', true);
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

/** Every figure of the current build beside the baseline's, measured in the same rounds, and their ratio. */
function compareWithBaseline(fmt: (n: number, digits?: number) => string) {
  console.log('\nBaseline and current, same sitting (current ÷ baseline: below 1 is fewer req/s, or less time, memory or CPU)\n');
  console.log('| Mode | Scenario | Figure | baseline | current | current ÷ baseline |\n|---|---|---|---|---|---|');
  for (const variant of variants.filter((v) => v.build.name === 'current')) {
    for (const row of rows.filter((r) => r.label === variant.label)) {
      const before = rows.find((r) => r.label === `${variant.mode}, baseline` && r.scenario === row.scenario);
      if (!before) continue;
      const figures = (r: BenchRow): Record<string, number> => ({ 'req/s': r.rps, 'p50, ms': r.p50, 'p99, ms': r.p99, errors: r.errors, ...r.figures });
      const [then, now] = [figures(before), figures(row)];
      for (const [name, value] of Object.entries(now)) {
        const old = then[name] ?? NaN;
        if (!Number.isFinite(value) || !Number.isFinite(old) || (name === 'errors' && value === 0 && old === 0)) continue;
        console.log(`| ${variant.mode} | ${row.scenario} | ${name} | ${fmt(old, 1)} | ${fmt(value, 1)} | ${fmt(value / old, 2)} |`);
      }
    }
  }
}

const code = await main().catch((error: unknown) => {
  console.error(error);
  return 1;
});
for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
process.exit(code);
