import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { once } from 'node:events';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TEST_JWT_SECRET } from './app.js';
import { waitUntil } from './wait.js';

export interface RunningProcess {
  child: ChildProcess;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
}

/** Starts a real process (a role of the server, `npm start`…) and collects its output. */
export function startProcess(command: string, args: string[], env: Record<string, string>, options: SpawnOptions = {}): RunningProcess {
  let output = '';
  const child = spawn(command, args, { ...options, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return { child, output: () => output };
}

/** Resolves with the exit code once the process has exited (at once if it already has). */
export async function exitCodeOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const [code] = (await once(child, 'exit')) as [number | null];
  return code;
}

/** SIGTERM, then the exit code. */
export async function terminate(child: ChildProcess): Promise<number | null> {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  return exitCodeOf(child);
}

/** How a process ended after SIGTERM. */
export interface Termination {
  code: number | null;
  /** Set when it outlived the deadline and was SIGKILLed: where each of its threads was waiting then. */
  hung?: string;
}

/**
 * SIGTERM, then the exit code; a process still running `deadlineMs` later is described (its threads
 * from /proc) and SIGKILLed, so that a stuck shutdown fails a test with what it was stuck on instead
 * of timing out its hook with nothing to go on.
 */
export async function terminateWithin(child: ChildProcess, deadlineMs: number): Promise<Termination> {
  const deadline = new AbortController();
  const outcome = await Promise.race([
    terminate(child).then((code) => ({ code })),
    sleep(deadlineMs, undefined, { signal: deadline.signal }).then(
      () => undefined,
      () => undefined,
    ),
  ]);
  deadline.abort();
  if (outcome) return outcome;
  const hung = child.pid === undefined ? 'no pid' : threadsOf(child.pid);
  child.kill('SIGKILL');
  return { code: await exitCodeOf(child), hung };
}

/** One line per thread of a Linux process: its name, state and the kernel function it sleeps in. */
function threadsOf(pid: number): string {
  const read = (path: string) => readFileSync(path, 'utf8').trim();
  try {
    return readdirSync(`/proc/${pid}/task`)
      .map((tid) => {
        const task = `/proc/${pid}/task/${tid}`;
        const state = read(`${task}/stat`).split(') ')[1]?.split(' ')[0] ?? '?';
        return `${tid} ${read(`${task}/comm`)} state=${state} wchan=${read(`${task}/wchan`)}`;
      })
      .join('\n');
  } catch (error) {
    return `threads unknown: ${String(error)}`;
  }
}

export async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  return port;
}

/**
 * Polls `url` until it answers `status`, or fails with the process's output once `timeoutMs` is
 * spent or the process has died: a start-up is a condition to wait for, not a fixed sleep.
 */
export async function waitForStatus(url: string, status: number, server: RunningProcess, timeoutMs = 60_000): Promise<void> {
  await waitUntil(
    async () => {
      if (server.child.exitCode !== null) throw new Error(`the process exited with ${server.child.exitCode}:\n${server.output()}`);
      const response = await fetch(url).catch(() => undefined);
      return response?.status === status;
    },
    `${url} answers ${status}`,
    { timeoutMs, intervalMs: 100, detail: () => server.output() },
  );
}

/** True when nothing listens on the port any more. */
export async function portIsClosed(port: number): Promise<boolean> {
  const response = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined);
  return response === undefined;
}

// `npm run start:api` and `npm run start:worker` from source, as real processes: what a deployment runs.
const MAIN = ['--import', 'tsx', 'src/main.ts'];

export type RoleProcess = RunningProcess;

export const startRole = (role: 'api' | 'worker', env: Record<string, string>): RoleProcess => startProcess(process.execPath, [...MAIN, role], env);

/** SIGTERM, then the exit code. */
export const stopRole = ({ child }: RoleProcess) => terminate(child);

/** The data directory of the processes on one database (a test's stand-in for "one host"). */
function dataDirOf(databaseUrl: string): string {
  const dir = join(tmpdir(), `gc-roles-${createHash('sha256').update(databaseUrl).digest('hex').slice(0, 12)}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** A deployment of role processes started from source by a test: where its api listens, and the env every role gets. */
export interface RoleDeployment {
  port: number;
  /** The api's address, `http://127.0.0.1:<port>`. */
  base: string;
  env: Record<string, string>;
}

/**
 * The environment shared by the `api` and `worker` processes of one test deployment: the backends
 * (`backendsEnv`: DATABASE_URL, REDIS_URL), a free port for the api, a free health port for each
 * worker, Redis keys of its own, the fake Gemini, no title calls (the model's requests are counted)
 * and warnings only. `extra` adds or overrides variables.
 */
export async function roleDeployment(
  name: string,
  backendsEnv: Record<string, string>,
  geminiUrl: string,
  extra: Record<string, string> = {},
): Promise<RoleDeployment> {
  const port = await freePort();
  const env = {
    ...backendsEnv,
    NODE_ENV: 'test',
    // One data directory for every process on this database: they share the `fs` file store, as on one host.
    DATA_DIR: dataDirOf(backendsEnv.DATABASE_URL ?? name),
    PORT: String(port),
    WORKER_PORT: '0', // each worker its own free health port
    HOST: '127.0.0.1',
    JWT_SECRET: TEST_JWT_SECRET,
    REDIS_KEY_PREFIX: `${name}-${port}:`,
    GEMINI_API_KEY: 'test-key',
    GEMINI_BASE_URL: geminiUrl,
    AUTO_TITLE: 'false',
    LOG_LEVEL: 'warn',
    ...extra,
  };
  return { port, base: `http://127.0.0.1:${port}`, env };
}
