/**
 * How long `npm start` takes to be ready: from spawning it to the first 200 on /healthz, in the
 * embedded mode, on a free port, several starts in a row on one temporary DATA_DIR (empty before the
 * first, removed after the last): the first start creates the embedded database, the next ones open
 * it, as a developer's second `npm start` does. The build that `npm start` runs first is part of the
 * time: that is what this measures. Run `npm run build` first to time starts on an unchanged tree.
 *
 *   node --import tsx scripts/start-time.ts [runs]     (runs: how many starts in a row, default 2)
 *   node --import tsx scripts/start-time.ts 3 /path/to/other/checkout   (another checkout's npm start, for a before/after)
 *
 * Prints one line per start. A start that is not ready within 120 s fails with the server's output.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const projectDir = process.argv[3] ?? fileURLToPath(new URL('../', import.meta.url));
const READY_WITHIN_MS = 120_000;
const POLL_EVERY_MS = 50;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

async function answersHealthz(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(1_000) });
    return response.status === 200;
  } catch {
    return false; // not listening yet
  }
}

async function timeOneStart(dataDir: string): Promise<number> {
  const [port, workerPort] = [await freePort(), await freePort()];
  // eslint-disable-next-line no-restricted-properties -- a tool that starts the server: it hands its own environment on
  const env: Record<string, string | undefined> = { ...process.env, PORT: String(port), WORKER_PORT: String(workerPort), HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'warn' };
  delete env.DATABASE_URL;
  delete env.REDIS_URL;
  const startedAt = performance.now();
  // detached: its own process group, so the build's and the server's processes all get the signal.
  const child = spawn('npm', ['start'], { cwd: projectDir, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let ended = false;
  void exited.then(() => (ended = true));
  try {
    while (!(await answersHealthz(`http://127.0.0.1:${port}/healthz`))) {
      if (ended) throw new Error(`npm start exited before /healthz answered:\n${output}`);
      if (performance.now() - startedAt > READY_WITHIN_MS) throw new Error(`/healthz did not answer 200 within ${READY_WITHIN_MS} ms:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, POLL_EVERY_MS));
    }
    return performance.now() - startedAt;
  } finally {
    if (!ended && child.pid !== undefined) process.kill(-child.pid, 'SIGTERM');
    await exited;
  }
}

const runs = Number(process.argv[2] ?? 2);
const dataDir = mkdtempSync(join(tmpdir(), 'start-time-'));
try {
  for (let run = 1; run <= runs; run++) {
    const ms = await timeOneStart(dataDir);
    console.log(`start ${run}: /healthz 200 after ${(ms / 1000).toFixed(1)} s`);
  }
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
