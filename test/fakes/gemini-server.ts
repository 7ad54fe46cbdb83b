/**
 * A local stand-in for the Gemini API (generativelanguage.googleapis.com, v1beta) that speaks the
 * real wire protocol, so the official `@google/genai` SDK works against it unmodified:
 *
 *   new GoogleGenAI({ apiKey: 'test-key', httpOptions: { baseUrl: fake.url } })
 *
 * Tests script the model per request with steps (reply, error, blocked prompt, hang) and read back
 * what the SDK sent. It also keeps files as the Files API does (`ai.files.upload`'s resumable upload,
 * `ai.files.get`), and refuses a request naming a file it does not have, as Gemini does.
 * node:http only, so it runs anywhere the tests do.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { createFakeFilesApi, isRefusal, type FileProcessing, type FileRefusal, type RecordedUpload } from './gemini-files.js';

export type { FileProcessing, RecordedUpload } from './gemini-files.js';

export type GeminiStep =
  | {
      kind: 'reply';
      chunks: string[];
      /** Thought-summary chunks, sent before the answer's as parts `{ text, thought: true }`, as Gemini does with includeThoughts. */
      thoughts?: string[];
      /** Wait before each chunk (stream); the non-stream answer waits for the sum. */
      chunkDelayMs?: number;
      finishReason?: string;
      /**
       * groundingMetadata as Gemini sends it with Google Search (webSearchQueries, groundingChunks,
       * groundingSupports with UTF-8 byte offsets, searchEntryPoint), on the last chunk's candidate.
       */
      groundingMetadata?: Record<string, unknown>;
      /** usageMetadata as Gemini sends it; the total defaults to prompt + candidates + thoughts. */
      usage?: { promptTokenCount: number; candidatesTokenCount: number; thoughtsTokenCount?: number; cachedContentTokenCount?: number; totalTokenCount?: number };
      /**
       * Wait for this before the first chunk (stream) or the answer (a test holds the model until it is
       * ready). A function is called as each request arrives (the bench's barrier: every reply of a
       * round starts together).
       */
      gate?: Promise<void> | (() => Promise<void>);
      /** Rewrites each chunk's text the moment it is written (the bench stamps its send time in it). */
      stamp?: (text: string, index: number) => string;
      /** Stream: after this many chunks, stop writing and keep the response open (until the client goes). */
      hangAfter?: number;
      /** Stream: after `chunks` chunks, wait for `until` before writing the rest (the test holds the model mid-reply). */
      holdAfter?: { chunks: number; until: Promise<void> };
    }
  | { kind: 'error'; status: number; message?: string }
  | { kind: 'blocked'; blockReason?: string } // default 'SAFETY'
  | { kind: 'hang' }; // accept the request, never answer (until close or the client aborts)

export interface GeminiPart {
  text?: string;
  [field: string]: unknown;
}

export interface GeminiContent {
  role?: string;
  parts?: GeminiPart[];
}

/** The request body as the SDK sends it; loosely typed because the fake only reads the texts. */
export interface GeminiRequestBody {
  contents?: GeminiContent[];
  systemInstruction?: GeminiContent;
  generationConfig?: Record<string, unknown>;
  [field: string]: unknown;
}

export interface RecordedGeminiRequest {
  model: string; // e.g. 'gemini-2.5-flash'
  method: 'generateContent' | 'streamGenerateContent';
  apiKey: string | undefined;
  body: GeminiRequestBody;
  /** Text chunks written so far. */
  chunksSent: number;
  /** The response was written to its end. */
  ended: boolean;
  /** The client closed the connection before the response ended (an aborted call). */
  closedEarly: boolean;
}

/** What happened, in order: a request arriving, or its response ending or being cut by the client. */
export interface GeminiHappening {
  request: number; // index into `requests`
  what: 'received' | 'ended' | 'closed early';
}

export interface FakeGemini {
  url: string; // 'http://127.0.0.1:<port>'
  requests: RecordedGeminiRequest[];
  /** Every request's arrival and end, in the order they happened. */
  happenings: GeminiHappening[];
  /** The text of the last user turn of each request, in arrival order. */
  prompts(): string[];
  /** Files uploaded through the Files API, in the order their uploads finished. Not in `requests`. */
  uploads: RecordedUpload[];
  /** How files uploaded from now on are processed (default: ACTIVE at once). */
  setFileProcessing(processing: FileProcessing): void;
  /**
   * The file at `uri` expires or is deleted on Gemini's side: a request naming it is then refused
   * with 403 PERMISSION_DENIED, as Gemini does. Throws for a uri the fake never made.
   */
  forgetFile(uri: string): void;
  /** Upload starts answer this HTTP status (an outage, a quota) until set back to null. */
  refuseUploads(status: number | null): void;
  /** Steps are consumed one per request, in order; when none are queued the default step answers. */
  enqueue(...steps: GeminiStep[]): void;
  setDefault(step: GeminiStep): void; // initial default: { kind: 'reply', chunks: ['Hello', ' from', ' fake Gemini.'] }
  reset(): void; // clear queue, requests and files, restore the initial default
  close(): Promise<void>; // ends hanging requests too; must not hang
}

const INITIAL_DEFAULT: GeminiStep = { kind: 'reply', chunks: ['Hello', ' from', ' fake Gemini.'] };

// google.rpc.Code names the real API puts in error.status next to the HTTP code.
const STATUS_NAMES: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

// The SDK builds `{baseUrl}/v1beta/models/{model}:{method}`; streaming adds `?alt=sse`.
const ROUTE = /^\/v1beta\/models\/([^/:]+):(generateContent|streamGenerateContent)$/;
// ai.files.upload: POST here starts a resumable upload; the chunks go to the URL it answers (`?upload_id=`).
const UPLOAD_ROUTE = '/upload/v1beta/files';
// ai.files.get
const FILE_ROUTE = /^\/v1beta\/files\/([a-z0-9-]+)$/;

interface Usage {
  promptTokenCount: number;
  candidatesTokenCount: number;
  thoughtsTokenCount?: number;
  cachedContentTokenCount?: number;
  totalTokenCount: number;
}

export async function startFakeGemini(): Promise<FakeGemini> {
  const requests: RecordedGeminiRequest[] = [];
  const happenings: GeminiHappening[] = [];
  let queue: GeminiStep[] = [];
  let defaultStep = INITIAL_DEFAULT;
  let uploadRefusal: number | null = null;

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      // A bug in the fake must fail loudly in the test, not leave the SDK waiting.
      if (!res.headersSent) sendError(res, 500, `fake Gemini crashed: ${String(error)}`);
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Lets a delayed reply stop writing once the client has gone (abort, timeout, close()).
    const gone = new AbortController();
    res.on('close', () => gone.abort());
    // A write racing the client's disconnect must not crash the test process with an unhandled 'error'.
    res.on('error', () => undefined);

    const { pathname, searchParams } = new URL(req.url ?? '/', 'http://fake');
    if (pathname === UPLOAD_ROUTE && req.method === 'POST') return handleUpload(req, res, searchParams.get('upload_id'));
    const fileRoute = FILE_ROUTE.exec(pathname);
    if (fileRoute?.[1] !== undefined && req.method === 'GET') return handleFileGet(req, res, fileRoute[1]);
    const route = ROUTE.exec(pathname);
    const model = route?.[1];
    const method = route?.[2] as RecordedGeminiRequest['method'] | undefined;
    if (req.method !== 'POST' || model === undefined || method === undefined) {
      req.resume();
      return sendError(res, 404, `Not found: ${req.method ?? ''} ${pathname}`);
    }

    let body: GeminiRequestBody;
    try {
      body = JSON.parse((await readBody(req)).toString('utf8')) as GeminiRequestBody;
    } catch {
      return sendError(res, 400, 'Invalid JSON payload received.');
    }

    const apiKey = header(req, 'x-goog-api-key');
    const recorded: RecordedGeminiRequest = { model, method, apiKey, body, chunksSent: 0, ended: false, closedEarly: false };
    const index = requests.push(recorded) - 1;
    happenings.push({ request: index, what: 'received' });
    res.on('finish', () => {
      recorded.ended = true;
      happenings.push({ request: index, what: 'ended' });
    });
    res.on('close', () => {
      if (recorded.ended) return;
      recorded.closedEarly = true;
      happenings.push({ request: index, what: 'closed early' });
    });
    // Rejected before any step is consumed, as the real API rejects before reaching a model.
    if (!apiKey) return sendError(res, 403, 'Method doesn\'t allow unregistered callers. Please use an API key.');
    const refusal = fileUris(body).map((uri) => filesApi.refusalFor(uri)).find((found) => found !== undefined);
    if (refusal) return sendRefusal(res, refusal);

    const step = queue.shift() ?? defaultStep;

    switch (step.kind) {
      case 'error':
        return sendError(res, step.status, step.message ?? `Fake Gemini error ${step.status}`);
      case 'hang':
        // Never answer: the socket stays open until the client aborts or close() destroys it.
        return;
      case 'blocked': {
        const blocked = {
          promptFeedback: { blockReason: step.blockReason ?? 'SAFETY' },
          usageMetadata: { promptTokenCount: promptTokens(body), totalTokenCount: promptTokens(body) },
          modelVersion: model,
        };
        return method === 'streamGenerateContent' ? sendEvents(res, [blocked]) : sendJson(res, 200, blocked);
      }
      case 'reply':
        return method === 'streamGenerateContent'
          ? streamReply(res, step, model, usageFor(step, body), gone.signal, recorded)
          : unaryReply(res, step, model, usageFor(step, body), gone.signal);
    }
  }

  /** A resumable upload: `start` (no upload id yet), then chunks with `upload`, the last with `upload, finalize`. */
  async function handleUpload(req: IncomingMessage, res: ServerResponse, uploadId: string | null): Promise<void> {
    const bytes = await readBody(req);
    const command = header(req, 'x-goog-upload-command') ?? '';
    if (uploadId === null) {
      if (!header(req, 'x-goog-api-key')) return sendError(res, 403, 'Method doesn\'t allow unregistered callers. Please use an API key.');
      if (uploadRefusal !== null) return sendError(res, uploadRefusal, `Fake Gemini error ${uploadRefusal}`);
      if (header(req, 'x-goog-upload-protocol') !== 'resumable' || command !== 'start') {
        return sendError(res, 400, 'Expected X-Goog-Upload-Protocol: resumable and X-Goog-Upload-Command: start');
      }
      const declared = (JSON.parse(bytes.toString('utf8') || '{}') as { file?: { displayName?: string; mimeType?: string } }).file ?? {};
      const mimeType = header(req, 'x-goog-upload-header-content-type') ?? declared.mimeType;
      const declaredBytes = Number(header(req, 'x-goog-upload-header-content-length'));
      if (!mimeType || !Number.isInteger(declaredBytes)) return sendError(res, 400, 'Missing X-Goog-Upload-Header-Content-Type or -Length');
      const id = filesApi.start({ displayName: declared.displayName, mimeType, declaredBytes });
      res.writeHead(200, {
        'x-goog-upload-status': 'active',
        'x-goog-upload-url': `${filesApi.baseUrl}${UPLOAD_ROUTE}?upload_id=${id}&upload_protocol=resumable`,
        'x-goog-upload-chunk-granularity': String(8 * 1024 * 1024),
      });
      res.end();
      return;
    }
    const commands = command.split(',').map((word) => word.trim());
    if (!commands.includes('upload')) return sendError(res, 400, `Unexpected X-Goog-Upload-Command: ${command}`);
    const made = filesApi.chunk(uploadId, Number(header(req, 'x-goog-upload-offset')), bytes, commands.includes('finalize'));
    if (isRefusal(made)) return sendRefusal(res, made);
    if (made === null) {
      res.writeHead(200, { 'x-goog-upload-status': 'active' });
      res.end();
      return;
    }
    res.writeHead(200, { 'x-goog-upload-status': 'final', 'content-type': 'application/json; charset=UTF-8' });
    res.end(JSON.stringify({ file: made }));
  }

  async function handleFileGet(req: IncomingMessage, res: ServerResponse, id: string): Promise<void> {
    req.resume();
    if (!header(req, 'x-goog-api-key')) return sendError(res, 403, 'Method doesn\'t allow unregistered callers. Please use an API key.');
    const file = filesApi.get(id);
    return isRefusal(file) ? sendRefusal(res, file) : sendJson(res, 200, file);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  // Made once the port is known, as a file's uri names this server; nothing asks for files before.
  const filesApi = createFakeFilesApi(url);

  return {
    url,
    requests,
    happenings,
    prompts: () => requests.map((r) => r.body.contents?.at(-1)?.parts?.map((p) => p.text ?? '').join('') ?? ''),
    uploads: filesApi.uploads,
    setFileProcessing: (processing) => filesApi.setProcessing(processing),
    forgetFile: (uri) => filesApi.forget(uri),
    refuseUploads: (status) => {
      uploadRefusal = status;
    },
    enqueue: (...steps) => {
      queue.push(...steps);
    },
    setDefault: (step) => {
      defaultStep = step;
    },
    reset: () => {
      queue = [];
      requests.length = 0; // keep the array identity: tests may hold `fake.requests`
      happenings.length = 0;
      defaultStep = INITIAL_DEFAULT;
      filesApi.reset();
      uploadRefusal = null;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // Hanging requests and the SDK's keep-alive sockets would otherwise hold close() open.
        server.closeAllConnections();
      }),
  };
}

function candidate(text: string, finishReason?: string, thoughts: string[] = [], groundingMetadata?: Record<string, unknown>) {
  const parts = [...thoughts.map((thought) => ({ text: thought, thought: true })), ...(text || thoughts.length === 0 ? [{ text }] : [])];
  return { content: { role: 'model', parts }, ...(finishReason ? { finishReason } : {}), ...(groundingMetadata ? { groundingMetadata } : {}), index: 0 };
}

/** Waits for the step's gate, if any; or until the client has gone. */
async function passGate(step: Extract<GeminiStep, { kind: 'reply' }>, gone: AbortSignal): Promise<void> {
  const gate = typeof step.gate === 'function' ? step.gate() : step.gate;
  if (gate) await Promise.race([gate, new Promise((resolve) => gone.addEventListener('abort', resolve, { once: true }))]);
}

async function unaryReply(res: ServerResponse, step: Extract<GeminiStep, { kind: 'reply' }>, model: string, usage: Usage, gone: AbortSignal) {
  await passGate(step, gone);
  if (!(await pause((step.chunkDelayMs ?? 0) * step.chunks.length, gone))) return;
  const texts = step.stamp ? step.chunks.map(step.stamp) : step.chunks;
  sendJson(res, 200, {
    candidates: [candidate(texts.join(''), step.finishReason ?? 'STOP', step.thoughts, step.groundingMetadata)],
    usageMetadata: usage,
    modelVersion: model,
  });
}

async function streamReply(
  res: ServerResponse,
  step: Extract<GeminiStep, { kind: 'reply' }>,
  model: string,
  usage: Usage,
  gone: AbortSignal,
  recorded: RecordedGeminiRequest,
) {
  startEvents(res);
  await passGate(step, gone);
  for (const thought of step.thoughts ?? []) {
    if (!(await pause(step.chunkDelayMs ?? 0, gone))) return;
    writeEvent(res, { candidates: [candidate('', undefined, [thought])], modelVersion: model });
  }
  // An empty reply still needs one event to carry finishReason and usage.
  const chunks = step.chunks.length > 0 ? step.chunks : [''];
  for (const [i, text] of chunks.entries()) {
    if (step.hangAfter !== undefined && i >= step.hangAfter) return; // keep the response open, silent
    if (step.holdAfter?.chunks === i) await Promise.race([step.holdAfter.until, new Promise((resolve) => gone.addEventListener('abort', resolve, { once: true }))]);
    if (!(await pause(step.chunkDelayMs ?? 0, gone))) return;
    const last = i === chunks.length - 1;
    writeEvent(res, {
      candidates: [candidate(step.stamp ? step.stamp(text, i) : text, last ? (step.finishReason ?? 'STOP') : undefined, [], last ? step.groundingMetadata : undefined)],
      ...(last ? { usageMetadata: usage } : {}),
      modelVersion: model,
    });
    recorded.chunksSent += 1;
  }
  res.end();
}

/** Waits `ms`; false when the client went away meanwhile, so nothing more should be written. */
async function pause(ms: number, gone: AbortSignal): Promise<boolean> {
  if (ms > 0) await sleep(ms, undefined, { signal: gone }).catch(() => undefined);
  return !gone.aborted;
}

function usageFor(step: Extract<GeminiStep, { kind: 'reply' }>, body: GeminiRequestBody): Usage {
  const promptTokenCount = step.usage?.promptTokenCount ?? promptTokens(body);
  const candidatesTokenCount = step.usage?.candidatesTokenCount ?? Math.ceil(step.chunks.join('').length / 4);
  const { thoughtsTokenCount, cachedContentTokenCount } = step.usage ?? {};
  return {
    promptTokenCount,
    candidatesTokenCount,
    ...(thoughtsTokenCount === undefined ? {} : { thoughtsTokenCount }),
    ...(cachedContentTokenCount === undefined ? {} : { cachedContentTokenCount }),
    totalTokenCount: step.usage?.totalTokenCount ?? promptTokenCount + candidatesTokenCount + (thoughtsTokenCount ?? 0),
  };
}

/** About four characters a token, over every text the request carries (system instruction included). */
function promptTokens(body: GeminiRequestBody): number {
  const contents = [...(body.contents ?? []), ...(body.systemInstruction ? [body.systemInstruction] : [])];
  const chars = contents.flatMap((c) => c.parts ?? []).reduce((n, p) => n + (typeof p.text === 'string' ? p.text.length : 0), 0);
  return Math.ceil(chars / 4);
}

function sendJson(res: ServerResponse, status: number, payload: unknown): void {
  // The SDK only parses an error body as JSON when the content type says so.
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' });
  res.end(JSON.stringify(payload));
}

function sendError(res: ServerResponse, status: number, message: string, statusName = STATUS_NAMES[status] ?? 'UNKNOWN'): void {
  sendJson(res, status, { error: { code: status, message, status: statusName } });
}

function sendRefusal(res: ServerResponse, refusal: FileRefusal): void {
  sendError(res, refusal.status, refusal.message, refusal.statusName);
}

/** The Files API uris a request's parts name (`{ fileData: { fileUri } }`). */
function fileUris(body: GeminiRequestBody): string[] {
  return (body.contents ?? [])
    .flatMap((content) => content.parts ?? [])
    .map((part) => (part.fileData as { fileUri?: unknown } | undefined)?.fileUri)
    .filter((uri): uri is string => typeof uri === 'string');
}

function startEvents(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  // Headers go out now, so the SDK's generateContentStream() resolves before the first chunk.
  res.flushHeaders();
}

/** One SSE event per response: a single `data:` line and a blank line; no `event:` lines, no [DONE]. */
function writeEvent(res: ServerResponse, payload: unknown): void {
  res.write(`data: ${JSON.stringify(payload)}\n\n`);
}

function sendEvents(res: ServerResponse, payloads: unknown[]): void {
  startEvents(res);
  for (const payload of payloads) writeEvent(res, payload);
  res.end();
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of req) parts.push(part as Buffer);
  return Buffer.concat(parts);
}
