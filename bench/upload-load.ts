/**
 * The load generator's tasks for the upload scenario (bench/uploads.ts), run inside bench/load.ts's
 * process. node:http with a connection per request, the same client for every target.
 */
import { request } from 'node:http';
import { benchFile, multipartAround, type BenchFileKind } from './bench-files.js';
import { nowMs, readStamps } from './chunk-stamp.js';
import { createSseReader } from './sse-events.js';

/** Where uploads go: POST /files of a deployment (token given: its files are deleted after each round, untimed), or a bare server. */
export interface UploadTarget {
  name: string;
  url: string;
  token?: string;
}

export interface UploadsTask {
  kind: 'uploads';
  targets: UploadTarget[];
  file: { kind: BenchFileKind; bytes: number };
  /** Uploads sent at once to a target, in each round. */
  concurrent: number;
  rounds: number;
  /** A first round that is not counted (a cold client and server). */
  warmup: boolean;
}

/** By target, one entry per counted round: the time of each upload of the round, and of the round (from the first sent to the last answered). */
export type UploadsResult = {
  rounds: Record<string, { uploadsMs: number[]; wallMs: number }[]>;
  errors: number;
  firstFailure?: string;
};

interface Sent {
  ms: number;
  status: number;
  body: string;
}

function upload(target: UploadTarget, file: ReturnType<typeof benchFile>, body: ReturnType<typeof multipartAround>): Promise<Sent> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = request(target.url, {
      method: 'POST',
      agent: false,
      headers: {
        'content-type': body.contentType,
        'content-length': body.length,
        ...(target.token ? { authorization: `Bearer ${target.token}` } : {}),
      },
    });
    req.on('error', reject);
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ ms: performance.now() - started, status: res.statusCode ?? 0, body: text }));
      res.on('error', reject);
    });
    req.write(body.head);
    req.write(file.bytes);
    req.end(body.tail);
  });
}

export async function uploads(task: UploadsTask): Promise<UploadsResult> {
  const file = benchFile(task.file.kind, task.file.bytes);
  const body = multipartAround(file);
  const result: UploadsResult = { rounds: Object.fromEntries(task.targets.map((target) => [target.name, []])), errors: 0 };
  const fail = (why: string) => {
    result.errors++;
    result.firstFailure ??= why;
  };
  const total = task.rounds + (task.warmup ? 1 : 0);
  for (let round = 0; round < total; round++) {
    // The targets take turns at going first, so that none always follows the same one.
    const order = task.targets.map((_, i) => task.targets[(i + round) % task.targets.length] as UploadTarget);
    for (const target of order) {
      const started = performance.now();
      const sent = await Promise.all(Array.from({ length: task.concurrent }, () => upload(target, file, body).catch((error: unknown) => ({ ms: NaN, status: 0, body: String(error) }))));
      const wallMs = performance.now() - started;
      for (const { status, body: answer } of sent) if (status !== 201) fail(`${target.name}: ${status} ${answer.slice(0, 200)}`);
      if (target.token) {
        for (const { status, body: answer } of sent) {
          if (status !== 201) continue;
          const { id } = JSON.parse(answer) as { id: string };
          const deleted = await fetch(`${target.url}/${id}`, { method: 'DELETE', headers: { authorization: `Bearer ${target.token}` } });
          if (deleted.status !== 204) fail(`${target.name}: DELETE ${deleted.status}`);
        }
      }
      if (task.warmup && round === 0) continue;
      result.rounds[target.name]?.push({ uploadsMs: sent.map((s) => s.ms), wallMs });
    }
  }
  return result;
}

export interface PromptLatencyTask {
  kind: 'prompt-latency';
  base: string;
  token: string;
  /** Sent one after another, each in a chatroom of its own (a chatroom's later prompts would carry its files again). */
  prompts: { tag: string; room: string; attachmentIds: string[] }[];
}

/**
 * For each prompt: from the send to the moment the model started its answer (the stamp of its first
 * chunk, bench/chunk-stamp.ts: written once the fake has read the whole request), and to the client's
 * first `delta` event.
 */
export interface PromptLatencyResult {
  prompts: { tag: string; toModelMs: number; toFirstDeltaMs: number }[];
  errors: number;
  firstFailure?: string;
}

function promptOnce(base: string, token: string, prompt: PromptLatencyTask['prompts'][number]): Promise<{ toModelMs: number; toFirstDeltaMs: number }> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ content: 'What is in this picture?', attachmentIds: prompt.attachmentIds });
    const sentAtMs = nowMs();
    const req = request(`${base}/chatroom/${prompt.room}/message`, {
      method: 'POST',
      headers: { accept: 'text/event-stream', authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    });
    req.on('error', reject);
    req.end(body);
    req.on('response', (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        return reject(new Error(`status ${res.statusCode}`));
      }
      res.setEncoding('utf8');
      const reader = createSseReader();
      let text = '';
      let toFirstDeltaMs = NaN;
      let toModelMs = NaN;
      let done = false;
      res.on('data', (chunk: string) => {
        const readAtMs = nowMs();
        for (const { event, data } of reader.push(chunk)) {
          if (event === 'delta') {
            if (Number.isNaN(toFirstDeltaMs)) toFirstDeltaMs = readAtMs - sentAtMs;
            text += (JSON.parse(data) as { text: string }).text;
            const first = readStamps(text).stamps.find((stamp) => stamp.index === 0);
            if (first && Number.isNaN(toModelMs)) toModelMs = first.sentAtMs - sentAtMs;
          } else if (event === 'done') done = true;
          else if (event === 'error') return reject(new Error(`error event ${data}`));
        }
      });
      res.on('end', () => (done && Number.isFinite(toModelMs) ? resolve({ toModelMs, toFirstDeltaMs }) : reject(new Error('the stream ended without done or without the first chunk'))));
      res.on('error', reject);
    });
  });
}

export async function promptLatency(task: PromptLatencyTask): Promise<PromptLatencyResult> {
  const result: PromptLatencyResult = { prompts: [], errors: 0 };
  for (const prompt of task.prompts) {
    try {
      result.prompts.push({ tag: prompt.tag, ...(await promptOnce(task.base, task.token, prompt)) });
    } catch (error) {
      result.errors++;
      result.firstFailure ??= `${prompt.tag}: ${String(error)}`;
    }
  }
  return result;
}
