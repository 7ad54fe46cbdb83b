/**
 * The fake Gemini of the tests (test/fakes/gemini-server.ts: the real wire protocol) in a process of
 * its own, so that its work is not counted in the server's or the load generator's CPU.
 *   BENCH_MODEL_CHUNK_DELAY_MS = 0 (instant) or the pause before each chunk (a slow model, for SSE).
 *   BENCH_MODEL_CHUNKS         = chunks per reply (3).
 *   BENCH_MODEL_STAMP=1        each chunk's text is its stamp (bench/chunk-stamp.ts): its index and
 *                              the moment it was written, for the client to measure the delay.
 *   BENCH_MODEL_BARRIER = n    replies are held until n calls have arrived, then all start at once
 *                              (n at a time, round after round; released anyway once no call has
 *                              arrived for BARRIER_IDLE_MS, so that a lost send cannot hang a round).
 */
import { startFakeGemini } from '../test/fakes/gemini-server.js';
import { stampChunk } from './chunk-stamp.js';

const chunkDelayMs = Number(process.env.BENCH_MODEL_CHUNK_DELAY_MS ?? 0);
const chunks = Number(process.env.BENCH_MODEL_CHUNKS ?? 3);
const stamped = process.env.BENCH_MODEL_STAMP === '1';
const barrierSize = Number(process.env.BENCH_MODEL_BARRIER ?? 0);
const BARRIER_IDLE_MS = 20_000;

/** A gate that opens for everyone once `size` have arrived (or none has arrived for a while). */
function barrier(size: number): () => Promise<void> {
  let waiting: (() => void)[] = [];
  let idle: NodeJS.Timeout | undefined;
  const release = (why: string) => {
    clearTimeout(idle);
    if (waiting.length < size) console.error(`fake model: released ${waiting.length} of ${size} held replies (${why})`);
    for (const open of waiting) open();
    waiting = [];
  };
  return () =>
    new Promise<void>((resolve) => {
      waiting.push(resolve);
      clearTimeout(idle);
      if (waiting.length >= size) release('all arrived');
      else idle = setTimeout(() => release(`no call for ${BARRIER_IDLE_MS} ms`), BARRIER_IDLE_MS);
    });
}

const gemini = await startFakeGemini();
gemini.setDefault({
  kind: 'reply',
  chunks: Array.from({ length: chunks }, (_, i) => `chunk ${i} `),
  chunkDelayMs,
  ...(stamped ? { stamp: (_text: string, index: number) => stampChunk(index) } : {}),
  ...(barrierSize > 0 ? { gate: barrier(barrierSize) } : {}),
});
// Requests are recorded by the fake; a long run must not grow memory without bound.
setInterval(() => {
  gemini.requests.splice(0);
  gemini.happenings.splice(0);
}, 1000).unref();
console.log(JSON.stringify({ ready: true, url: gemini.url }));
process.on('SIGTERM', () => {
  void gemini.close().then(() => process.exit(0));
});
