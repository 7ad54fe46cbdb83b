import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

// `npm run start:api` and `npm run start:worker` as real processes: what a deployment runs.
const MAIN = ['--import', 'tsx', 'src/main.ts'];

export interface RoleProcess {
  child: ChildProcess;
  output(): string;
}

export function startRole(role: 'api' | 'worker', env: Record<string, string>): RoleProcess {
  let output = '';
  const child = spawn(process.execPath, [...MAIN, role], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return { child, output: () => output };
}

/** SIGTERM, then the exit code. */
export async function stopRole({ child }: RoleProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  child.kill('SIGTERM');
  const [code] = (await once(child, 'exit')) as [number | null];
  return code;
}

export async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  return port;
}

/** Polls `url` until it answers 2xx (bounded). */
export async function waitForOk(url: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const res = await fetch(url).catch(() => undefined);
    if (res?.ok) return;
    await sleep(100);
  }
  throw new Error(`${url} never answered`);
}
