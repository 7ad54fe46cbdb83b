/**
 * Scenario 9, a viral share link (`BENCH_ONLY=shares`; bench/README.md): `GET /shares/:id` of a
 * snapshot of SHARE_MESSAGES messages (a chat seeded through the API: prompts of ~150 characters,
 * replies of ~800 from the fake model), without a token, against bare Fastify in the same rounds
 * (alternating), at the suite's connections. The view is cached per share (X-Cache: HIT after the
 * first request): what is measured is the cached path, as a link shared widely is read.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchRow, HttpResult } from './bench-row.js';

interface ShareDeployment {
  base: string;
  stop(): Promise<void>;
}

interface BenchClient {
  call<T>(method: string, path: string, body?: unknown, token?: string): Promise<T>;
  signIn(): Promise<string>;
  room(token: string): Promise<string>;
}

/** What bench/run.ts lends the scenario. */
export interface SharesBench<V extends { label: string }> {
  variants: V[];
  /** Messages in the snapshot (prompts and replies). */
  messages: number;
  rounds: number;
  seconds: number;
  connections: number;
  /** The bare Fastify server of the run: the ceiling, measured again in these rounds. */
  ceilingUrl: string;
  deploy(variant: V, modelUrl: string, extraEnv: Record<string, string>): Promise<ShareDeployment>;
  load<T>(task: { kind: 'http'; url: string; headers: Record<string, string>; connections: number; seconds: number }): Promise<T>;
  startReporting(script: string, extraEnv?: Record<string, string>): Promise<Record<string, string>>;
  client(base: string): BenchClient;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;
const PROMPT = 'Compare the trade-offs of the three designs we discussed, with the numbers you have, and say which one you would ship first and why. ';

export async function sharesScenario<V extends { label: string }>(
  bench: SharesBench<V>,
): Promise<{ rows: BenchRow[]; ceiling: HttpResult[]; ratios: Map<string, number> }> {
  // ~800 characters a reply: 100 chunks of "chunk n ".
  const model = await bench.startReporting('bench/fake-model.ts', { BENCH_MODEL_CHUNKS: '100' });
  const targets: { label: string; url: string; bytes: number; stop(): Promise<void> }[] = [];
  for (const variant of bench.variants) {
    const deployment = await bench.deploy(variant, model.url ?? '', { AUTO_TITLE: 'false' });
    const api = bench.client(deployment.base);
    const token = await api.signIn();
    const room = await api.room(token);
    for (let sent = 0; sent < bench.messages; sent += 2) await api.call('POST', `/chatroom/${room}/message`, { content: PROMPT }, token);
    const share = await api.call<{ id: string; messageCount: number }>('POST', `/chatroom/${room}/shares`, undefined, token);
    if (share.messageCount !== bench.messages) throw new Error(`the share has ${share.messageCount} messages, not ${bench.messages}`);
    const url = `${deployment.base}/shares/${share.id}`;
    const bytes = (await (await fetch(url)).arrayBuffer()).byteLength; // and the view is cached from here on
    targets.push({ label: variant.label, url, bytes, stop: () => deployment.stop() });
  }
  await sleep(1000); // settled

  const ceiling: HttpResult[] = [];
  const runs = new Map<string, HttpResult[]>();
  const measure = (url: string) => bench.load<HttpResult>({ kind: 'http', url, headers: {}, connections: bench.connections, seconds: bench.seconds });
  for (let round = 0; round < bench.rounds; round++) {
    ceiling.push(await measure(`${bench.ceilingUrl}/`));
    for (const target of targets) runs.set(target.label, [...(runs.get(target.label) ?? []), await measure(target.url)]);
  }
  const ceilingRps = median(ceiling.map((result) => result.rps));
  const rows: BenchRow[] = [];
  const ratios = new Map<string, number>();
  for (const target of targets) {
    const results = runs.get(target.label) ?? [];
    const rps = median(results.map((result) => result.rps));
    ratios.set(target.label, rps / ceilingRps);
    rows.push({
      label: target.label,
      scenario: `GET /shares/:id, ${bench.messages}-message snapshot (cached), no token`,
      rps,
      p50: median(results.map((result) => result.p50)),
      p99: median(results.map((result) => result.p99)),
      errors: results.reduce((sum, result) => sum + result.errors, 0),
      note: `${(target.bytes / 1024).toFixed(0)} KiB a response; × bare in these rounds ${(rps / ceilingRps).toFixed(2)} (bare ${ceilingRps.toFixed(0)} req/s)`,
      figures: { 'response, KiB': target.bytes / 1024, '× bare, same rounds': rps / ceilingRps },
    });
    await target.stop();
  }
  return { rows, ceiling, ratios };
}
