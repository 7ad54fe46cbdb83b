import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

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
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (server.child.exitCode !== null) throw new Error(`the process exited with ${server.child.exitCode}:\n${server.output()}`);
    const response = await fetch(url).catch(() => undefined);
    if (response?.status === status) return;
    await sleep(100);
  }
  throw new Error(`${url} did not answer ${status} within ${timeoutMs} ms:\n${server.output()}`);
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

/** Polls `url` until it answers 2xx (bounded). */
export async function waitForOk(url: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const res = await fetch(url).catch(() => undefined);
    if (res?.ok) return;
    await sleep(100);
  }
  throw new Error(`${url} never answered`);
}
