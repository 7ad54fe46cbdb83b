import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeGemini, type FakeGemini } from './fakes/gemini-server.js';
import { SpanKind, startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from './fakes/otlp-receiver.js';
import { makeMobile } from './helpers/factories.js';
import { provisionFreshBackends, testMode, type FreshBackends } from './helpers/mode.js';
import { roleDeployment, startProcess, startRole, terminateWithin, waitForStatus, type RunningProcess } from './helpers/processes.js';
import { waitFor } from './helpers/wait.js';

/*
 * Tracing needs its hooks in place before the app's modules load, so it is tested on real processes
 * started as a deployment starts them (`node src/main.ts <role>`), exporting to a local OTLP/HTTP
 * receiver: embedded, one process (role `all`, in-process queue); with services, an api process and a
 * worker process (BullMQ carries the trace between them).
 */

const MODEL = 'gemini-2.5-flash';
/** How long a process may take to exit after SIGTERM: its own bound is SHUTDOWN_GRACE_MS + 10 s (below). */
const STOP_DEADLINE_MS = 30_000;

interface Deployment {
  base: string;
  processes: RunningProcess[];
  /** Everything the processes wrote, one JSON log line each. */
  logLines(): Record<string, unknown>[];
  /** service.name of the api's spans, and of the worker's. */
  services: { api: string; worker: string };
}

async function deploy(backends: FreshBackends, geminiUrl: string, receiverUrl: string): Promise<Deployment> {
  const tracingEnv = {
    OTEL_EXPORTER_OTLP_ENDPOINT: receiverUrl,
    // Spans go out within a tenth of a second, so the test waits for them instead of for a shutdown.
    OTEL_BSP_SCHEDULE_DELAY: '100',
    LOG_LEVEL: 'info',
    // Nothing is in flight when the test stops the processes: their own bound (grace + 10 s) stays well under the test's.
    SHUTDOWN_GRACE_MS: '5000',
  };
  const embedded = testMode === 'embedded';
  const extra = embedded ? { ...tracingEnv, DATABASE_URL: '', REDIS_URL: '', DATA_DIR: mkdtempSync(join(tmpdir(), 'gc-tracing-')) } : tracingEnv;
  const { base, env } = await roleDeployment('tracing', backends.env, geminiUrl, extra);
  const processes = embedded
    ? [startProcess(process.execPath, ['--import', 'tsx', 'src/main.ts', 'all'], env)]
    : [startRole('api', env), startRole('worker', env)];
  const logLines = () =>
    processes
      .flatMap((running) => running.output().split('\n'))
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  const services = embedded ? { api: 'gemini-chat', worker: 'gemini-chat' } : { api: 'gemini-chat-api', worker: 'gemini-chat-worker' };
  await waitForStatus(`${base}/readyz`, 200, processes[0] as RunningProcess, 90_000);
  return { base, processes, logLines, services };
}

async function signIn(base: string): Promise<string> {
  const post = (path: string, body: unknown) => fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const mobile = makeMobile();
  expect((await post('/auth/signup', { mobile })).status).toBe(201);
  const { otp } = (await (await post('/auth/send-otp', { mobile })).json()) as { otp: string };
  const { accessToken } = (await (await post('/auth/verify-otp', { mobile, otp })).json()) as { accessToken: string };
  return accessToken;
}

/** The chain of spans from `span` up to its trace's root, `span` first. */
function ancestry(span: ReceivedSpan, spans: ReceivedSpan[]): ReceivedSpan[] {
  const chain = [span];
  for (let parentId = span.parentSpanId; parentId !== undefined; ) {
    const parent = spans.find((candidate) => candidate.spanId === parentId && candidate.traceId === span.traceId);
    if (!parent) break;
    chain.push(parent);
    parentId = parent.parentSpanId;
  }
  return chain;
}

describe('OpenTelemetry tracing (OTEL_EXPORTER_OTLP_ENDPOINT set)', () => {
  let backends: FreshBackends;
  let gemini: FakeGemini;
  let receiver: OtlpReceiver;
  let deployment: Deployment;
  let token: string;
  let chatroomId: string;
  beforeAll(async () => {
    [backends, gemini, receiver] = await Promise.all([provisionFreshBackends(), startFakeGemini(), startOtlpReceiver()]);
    deployment = await deploy(backends, gemini.url, receiver.url);
    token = await signIn(deployment.base);
    const created = await fetch(`${deployment.base}/chatroom`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    chatroomId = ((await created.json()) as { id: string }).id;
  }, 120_000);
  afterAll(async () => {
    const processes = deployment?.processes ?? [];
    const stops = await Promise.all(processes.map((running) => terminateWithin(running.child, STOP_DEADLINE_MS)));
    await Promise.all([gemini?.close(), receiver?.close(), backends?.dispose()]);
    processes.forEach((running, index) => {
      const { code, hung } = stops[index] ?? { code: null };
      /*
       * A process that logged its clean shutdown has done all the app does: what is left is Node's own
       * exit (process.exit(0) with the tsx and import-in-the-middle loader threads). One CI run saw a
       * process outlive the 60 s this hook had, with nothing to show where: that case is now reported
       * with its threads, and anything short of a clean shutdown fails the test.
       */
      if (hung !== undefined && running.output().includes('"msg":"shut down cleanly"')) {
        console.warn(`[tracing] a process shut down cleanly but had not exited ${STOP_DEADLINE_MS} ms after SIGTERM; its threads:\n${hung}`);
        return;
      }
      const why = hung === undefined ? `exited ${code}` : `still running ${STOP_DEADLINE_MS} ms after SIGTERM; its threads:\n${hung}`;
      expect(code, `${why}\n${running.output()}`).toBe(0);
    });
  }, STOP_DEADLINE_MS + 30_000);

  const send = (content: string, query = '') =>
    fetch(`${deployment.base}/chatroom/${chatroomId}/message${query}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ content }),
    });

  /**
   * The model span of a reply, once it and every span up to its trace's root are exported (each
   * process exports on its own: the api's request span may come after the worker's spans).
   */
  async function modelSpanOf(replyId: string) {
    return waitFor(
      () => {
        const consumer = receiver.spans.find((span) => span.kind === SpanKind.CONSUMER && Object.values(span.attributes).includes(replyId));
        const model = consumer && receiver.spans.find((span) => span.name === `chat ${MODEL}` && span.parentSpanId === consumer.spanId);
        return model && ancestry(model, receiver.spans).at(-1)?.parentSpanId === undefined ? model : undefined;
      },
      `the model span of reply ${replyId} and its ancestors up to the root are exported`,
      { timeoutMs: 20_000, detail: () => receiver.spans.map((span) => `${span.service} ${span.name} ${span.traceId}`).join('\n') },
    );
  }

  it('follows a prompt in one trace, POST → queue → worker → model call, and its log lines carry the trace id', async () => {
    gemini.enqueue({ kind: 'reply', chunks: ['Traced ', 'answer'], usage: { promptTokenCount: 11, candidatesTokenCount: 7 } });
    const sent = await send('Follow me');
    expect(sent.status).toBe(201);
    const { reply } = (await sent.json()) as { reply: { id: string; status: string } };
    expect(reply.status).toBe('done');

    const model = await modelSpanOf(reply.id);
    const { api, worker } = deployment.services;
    // Up from the model call: the worker's job run, the enqueue, the api's request; one trace, no gap.
    const chain = ancestry(model, receiver.spans);
    expect(chain.map((span) => [span.service, span.kind])).toEqual([
      [worker, SpanKind.CLIENT],
      [worker, SpanKind.CONSUMER],
      [api, SpanKind.PRODUCER],
      [api, SpanKind.SERVER],
    ]);
    const [, consumer, producer, request] = chain as [ReceivedSpan, ReceivedSpan, ReceivedSpan, ReceivedSpan];
    expect(request).toMatchObject({ name: 'POST /chatroom/:id/message', parentSpanId: undefined });
    expect(request.attributes).toMatchObject({ 'http.route': '/chatroom/:id/message', 'http.response.status_code': 201 });
    expect(producer.name).toMatch(/^add generation/);
    expect(consumer.name).toBe('process generation');

    // The model span as the GenAI semantic conventions name it.
    expect(model.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'gcp.gemini',
      'gen_ai.system': 'gcp.gemini',
      'gen_ai.request.model': MODEL,
      'gen_ai.usage.input_tokens': 11,
      'gen_ai.usage.output_tokens': 7,
      'gen_ai.response.finish_reasons': ['STOP'],
    });
    expect(model.statusCode).toBe(0);
    // The Gemini SDK's own HTTP call (undici) is a child of the model span; it names no key.
    const { traceId } = model;
    // Other client spans share that parent (the reply stream's Redis writes happen inside the call): the HTTP one has a URL.
    const call = await waitFor(
      () => receiver.spans.find((span) => span.parentSpanId === model.spanId && span.kind === SpanKind.CLIENT && span.attributes['url.full'] !== undefined),
      'the HTTP call to Gemini is exported',
    );
    expect(String(call.attributes['url.full'])).toContain(`/models/${MODEL}:streamGenerateContent`);
    expect(JSON.stringify(receiver.spans)).not.toContain('test-key');
    // With PostgreSQL and Redis, their statements inside the trace are spans of it too.
    if (testMode === 'services') {
      const inTrace = receiver.spans.filter((span) => span.traceId === traceId);
      expect(inTrace.some((span) => span.attributes['db.system.name'] === 'postgresql')).toBe(true);
      expect(inTrace.some((span) => span.attributes['db.system.name'] === 'redis')).toBe(true);
    }

    // The api's request line and the worker's job line, both in the trace.
    const logLine = (what: string, matches: (line: Record<string, unknown>) => boolean) =>
      waitFor(() => deployment.logLines().find(matches), `the log line ${what} is written`);
    const requestLine = await logLine('of the POST', (line) => line.msg === 'request completed' && line.trace_id === traceId);
    const jobLine = await logLine('of the job', (line) => line.msg === 'reply generated' && line.replyId === reply.id);
    expect(requestLine).toMatchObject({ span_id: request.spanId });
    expect(jobLine).toMatchObject({ trace_id: traceId, span_id: consumer.spanId });
    // Nothing but traces is sent (metrics are Prometheus', logs stdout).
    expect(receiver.refused).toEqual([]);
  });

  it('records a failed model call on its span: error status, the error type, the exception', async () => {
    gemini.enqueue({ kind: 'error', status: 400, message: 'Invalid argument' });
    // Not waited for: the answer is 202 at once, the failure shows on the span.
    const sent = await send('This one fails', '?wait=false');
    expect(sent.status).toBe(202);
    const { reply } = (await sent.json()) as { reply: { id: string } };

    const model = await modelSpanOf(reply.id);
    expect(model.statusCode).toBe(2);
    expect(model.attributes).toMatchObject({ 'error.type': 'MODEL_REJECTED', 'gen_ai.request.model': MODEL });
    expect(model.events).toContain('exception');
  });

  it("keeps the simulated checkout's capability ids out of traces, as out of logs", async () => {
    const capability = 'cs_sim_0123456789abcdef';
    await fetch(`${deployment.base}/subscribe/simulated/${capability}`);
    const span = await waitFor(() => receiver.spans.find((candidate) => candidate.name === 'GET /subscribe/simulated/:sessionId'), 'the checkout page request is exported');
    expect(span.attributes['url.path']).toBe('/subscribe/simulated/[redacted]');
    expect(JSON.stringify(receiver.spans)).not.toContain(capability);
  });
});
