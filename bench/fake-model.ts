/**
 * The fake Gemini of the tests (test/fakes/gemini-server.ts: the real wire protocol) in a process of
 * its own, so that its work is not counted in the server's or the load generator's CPU.
 *   BENCH_MODEL_CHUNK_DELAY_MS = 0 (instant) or the pause before each chunk (a slow model, for SSE).
 */
import { startFakeGemini } from '../test/fakes/gemini-server.js';

const chunkDelayMs = Number(process.env.BENCH_MODEL_CHUNK_DELAY_MS ?? 0);
const chunks = Number(process.env.BENCH_MODEL_CHUNKS ?? 3);
const gemini = await startFakeGemini();
gemini.setDefault({ kind: 'reply', chunks: Array.from({ length: chunks }, (_, i) => `chunk ${i} `), chunkDelayMs });
// Requests are recorded by the fake; a long run must not grow memory without bound.
setInterval(() => gemini.requests.splice(0), 1000).unref();
console.log(JSON.stringify({ ready: true, url: gemini.url }));
process.on('SIGTERM', () => {
  void gemini.close().then(() => process.exit(0));
});
