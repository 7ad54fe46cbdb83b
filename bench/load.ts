/**
 * The load generator, run as a process of its own so that its CPU is not the server's. Takes one
 * task as JSON on stdin (500 streaming clients' tokens are too long for argv), prints one result as
 * JSON on stdout.
 *   http      autocannon against one URL                      → { rps, p50, p99, errors }
 *   messages  senders, each in its own chatroom, each sending one prompt after another and waiting
 *             for the stored reply (POST …/message, the waiting form)  → { count, rps, p50, p99, errors }
 *   sse       listeners of one reply's stream                  → { opened, completed, errors }
 *   streaming clients, each sending one prompt in its own chatroom, all at once, and reading its
 *             reply as an event stream (POST …/message, Accept: text/event-stream) from a model
 *             that stamps its chunks (bench/chunk-stamp.ts)  → delays and chunk counts (below)
 *   uploads, prompt-latency  the upload scenario's tasks (bench/upload-load.ts)
 *   search    searchers sending GET /search one after another (bench/search-load.ts)
 */
import autocannon from 'autocannon';
import { request } from 'node:http';
import { nowMs, readStamps } from './chunk-stamp.js';
import { promptLatency, uploads, type PromptLatencyTask, type UploadsTask } from './upload-load.js';
import { searchLoad, type SearchLoadTask } from './search-load.js';
import { createSseReader } from './sse-events.js';

type Task =
  | { kind: 'http'; url: string; headers: Record<string, string>; connections: number; seconds: number }
  | { kind: 'messages'; base: string; senders: { token: string; room: string }[]; seconds: number }
  | { kind: 'sse'; url: string; token: string; listeners: number }
  | { kind: 'streaming'; base: string; clients: { token: string; room: string }[]; chunks: number }
  | UploadsTask
  | PromptLatencyTask
  | SearchLoadTask;

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;

async function http(task: Extract<Task, { kind: 'http' }>) {
  const result = await autocannon({ url: task.url, headers: task.headers, connections: task.connections, duration: task.seconds });
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, errors: result.errors + result.timeouts + result.non2xx };
}

async function messages(task: Extract<Task, { kind: 'messages' }>) {
  const latencies: number[] = [];
  let errors = 0;
  const until = Date.now() + task.seconds * 1000;
  await Promise.all(
    task.senders.map(async ({ token, room }) => {
      while (Date.now() < until) {
        const started = performance.now();
        const response = await fetch(`${task.base}/chatroom/${room}/message`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ content: 'How fast is the reply path?' }),
        }).catch(() => undefined);
        const body = (await response?.json().catch(() => undefined)) as { reply?: { status?: string } } | undefined;
        if (response?.status === 201 && body?.reply?.status === 'done') latencies.push(performance.now() - started);
        else errors++;
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  return { count: latencies.length, rps: latencies.length / task.seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99), errors };
}

async function sse(task: Extract<Task, { kind: 'sse' }>) {
  let opened = 0;
  let completed = 0;
  let errors = 0;
  await Promise.all(
    Array.from({ length: task.listeners }, async () => {
      try {
        const response = await fetch(task.url, { headers: { accept: 'text/event-stream', authorization: `Bearer ${task.token}` } });
        if (response.status !== 200 || !response.body) {
          errors++;
          await response.body?.cancel();
          return;
        }
        opened++;
        const reader = createSseReader();
        let done = false;
        for await (const chunk of response.body.pipeThrough(new TextDecoderStream())) {
          if (reader.push(chunk).some(({ event }) => event === 'done')) done = true;
        }
        if (done) completed++;
        else errors++;
      } catch {
        errors++;
      }
    }),
  );
  return { opened, completed, errors };
}

/** What one streaming client saw. */
interface StreamTally {
  delaysMs: number[];
  /** Chunk indexes read, each with how many times. */
  seen: Map<number, number>;
  completed: boolean;
  resets: number;
  failure?: string;
}

/**
 * Sends one prompt as an event stream and reads it: every `delta` may carry several stamped chunks
 * (or part of one), each read at the moment its last byte arrived. node:http rather than fetch: 500
 * streams in one process, and the client's own overhead is part of every delay it measures.
 */
function streamOne(base: string, token: string, room: string): Promise<StreamTally> {
  const tally: StreamTally = { delaysMs: [], seen: new Map(), completed: false, resets: 0 };
  return new Promise((resolve) => {
    const fail = (failure: string) => {
      tally.failure ??= failure;
      resolve(tally);
    };
    const body = JSON.stringify({ content: 'Stream me a long answer.' });
    const req = request(`${base}/chatroom/${room}/message`, {
      method: 'POST',
      headers: { accept: 'text/event-stream', authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    });
    req.on('error', (error) => fail(String(error)));
    req.end(body);
    req.on('response', (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        return fail(`status ${res.statusCode}`);
      }
      res.setEncoding('utf8');
      const reader = createSseReader();
      let partialStamp = '';
      const onEvent = (event: string, data: string, readAtMs: number) => {
        if (event === 'delta') {
          const { stamps, rest } = readStamps(partialStamp + (JSON.parse(data) as { text: string }).text);
          partialStamp = rest;
          for (const { index, sentAtMs } of stamps) {
            tally.seen.set(index, (tally.seen.get(index) ?? 0) + 1);
            tally.delaysMs.push(readAtMs - sentAtMs);
          }
        } else if (event === 'reset') {
          // A retry starts the text over: what came before is dropped, and comes again.
          tally.resets++;
          tally.seen.clear();
          partialStamp = '';
        } else if (event === 'done') tally.completed = true;
        else if (event === 'error') tally.failure ??= `error event ${data}`;
      };
      res.on('data', (chunk: string) => {
        const readAtMs = nowMs();
        for (const { event, data } of reader.push(chunk)) onEvent(event, data, readAtMs);
      });
      res.on('end', () => (tally.completed ? resolve(tally) : fail('ended without done')));
      res.on('error', (error) => fail(String(error)));
    });
  });
}

async function streaming(task: Extract<Task, { kind: 'streaming' }>) {
  const tallies = await Promise.all(task.clients.map(({ token, room }) => streamOne(task.base, token, room)));
  const delays = Float64Array.from(tallies.flatMap((tally) => tally.delaysMs)).sort();
  let lost = 0;
  let duplicated = 0;
  for (const { seen } of tallies) {
    for (let index = 0; index < task.chunks; index++) {
      const times = seen.get(index) ?? 0;
      if (times === 0) lost++;
      else duplicated += times - 1;
    }
  }
  const failures = tallies.flatMap((tally) => (tally.failure ? [tally.failure] : []));
  return {
    clients: tallies.length,
    completed: tallies.filter((tally) => tally.completed).length,
    errors: failures.length,
    firstFailure: failures[0],
    resets: tallies.reduce((sum, tally) => sum + tally.resets, 0),
    chunksRead: delays.length,
    lost,
    duplicated,
    p50: delays[Math.floor(delays.length * 0.5)] ?? NaN,
    p99: delays[Math.min(delays.length - 1, Math.floor(delays.length * 0.99))] ?? NaN,
    max: delays.at(-1) ?? NaN,
  };
}

let input = '';
for await (const chunk of process.stdin) input += String(chunk);
const task = JSON.parse(input) as Task;
async function run(task: Task): Promise<unknown> {
  switch (task.kind) {
    case 'http':
      return http(task);
    case 'messages':
      return messages(task);
    case 'sse':
      return sse(task);
    case 'streaming':
      return streaming(task);
    case 'uploads':
      return uploads(task);
    case 'prompt-latency':
      return promptLatency(task);
    case 'search':
      return searchLoad(task);
  }
}
const result = await run(task);
console.log(JSON.stringify(result));
