import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { JobInterrupted, type JobRun } from '../../src/infra/queue/generation-queue.js';
import type { ReplyEvent } from '../../src/infra/reply-stream.js';
import { ModelError, type ChatModel, type ChatTurn } from '../../src/integrations/gemini/model.js';
import { createGenerationJob } from '../../src/modules/generation/generation.job.js';
import { createRetryPolicy } from '../../src/modules/generation/retry-policy.js';
import { createScheduler } from '../../src/modules/generation/scheduling.js';
import { StopRequested } from '../../src/modules/replies/running-replies.js';
import { memoryReplyStore } from './fakes/reply-store.js';

const log = pino({ level: 'silent' });
const clock = { now: () => new Date(1_000) };
const metrics = { generationDuration: { observe: () => undefined }, modelTokens: { inc: () => undefined }, queueWait: { observe: () => undefined } } as never;
// The in-memory store's turns carry no files.
const unusedFile = (): never => {
  throw new Error('no turn of these tests has a file');
};

type Step = { chunks: string[]; then?: 'stop' | Error };

/** A model that answers each call with the next step: its chunks, then an ending (done, a thrown error, or a stop of its own). */
function scriptedModel(steps: Step[]) {
  const calls: ChatTurn[][] = [];
  const model: ChatModel = {
    name: 'scripted',
    async generate(turns, onDelta, signal) {
      calls.push(turns);
      const step = steps.shift() ?? { chunks: ['ok'] };
      for (const chunk of step.chunks) {
        signal.throwIfAborted();
        await onDelta(chunk);
      }
      if (step.then === 'stop') stopNow?.();
      signal.throwIfAborted();
      if (step.then instanceof Error) throw step.then;
      return { finishReason: 'STOP', usage: { promptTokens: 3, outputTokens: step.chunks.length, thoughtsTokens: 0, cachedTokens: 0, totalTokens: 3 + step.chunks.length }, grounding: null };
    },
    proposeTitle: () => Promise.resolve(''),
  };
  let stopNow: (() => void) | undefined;
  return { model, calls, onStop: (stop: () => void) => (stopNow = stop) };
}

function setUp(steps: Step[], { maxAttempts = 3, stream = { failAt: (_write: number) => false } }: { maxAttempts?: number; stream?: { failAt: (write: number) => boolean } } = {}) {
  const replies = memoryReplyStore();
  const events: ReplyEvent[] = [];
  let writes = 0;
  const enqueued: { id: string; priority: number }[] = [];
  const scheduler = createScheduler({ replies: replies.store, queue: { enqueue: (id, { priority }) => Promise.resolve(void enqueued.push({ id, priority })) } });
  const scripted = scriptedModel(steps);
  const controllers = new Map<string, AbortController>();
  const done: string[] = [];
  const job = createGenerationJob({
    replies: replies.store,
    model: scripted.model,
    stream: {
      append(_id, event) {
        writes += 1;
        if (stream.failAt(writes)) return Promise.reject(new Error('stream down'));
        events.push(event);
        return Promise.resolve(String(writes));
      },
    },
    scheduler,
    running: {
      register(replyId) {
        const controller = new AbortController();
        controllers.set(replyId, controller);
        scripted.onStop(() => controller.abort(new StopRequested('stopped')));
        return Promise.resolve({ signal: controller.signal, dispose: () => controllers.delete(replyId) });
      },
    },
    policy: createRetryPolicy({ maxAttempts, baseDelayMs: 100 }),
    clock,
    log,
    context: { tokens: 10_000, defaultInstruction: undefined },
    modelFiles: { toModelFile: unusedFile },
    metrics,
    onReplyDone: (reply) => Promise.resolve(void done.push(reply.id)),
  });
  const run = (attempt = 1, signal = new AbortController().signal): JobRun => ({ attempt, signal });
  return { replies, events, enqueued, job, run, calls: scripted.calls, done };
}

/** A chatroom with a prompt and its pending reply. */
function exchange(replies: ReturnType<typeof memoryReplyStore>, chatroomId = 'room-1', text = 'hello') {
  const prompt = replies.add({ chatroomId, role: 'user', content: text });
  return replies.add({ chatroomId, role: 'model', parentId: prompt.id });
}

describe('the generation job (over an in-memory store)', () => {
  it('stores the whole reply, ends the stream with it as stored, and moves the chatroom on', async () => {
    const t = setUp([{ chunks: ['Hel', 'lo'] }]);
    const reply = exchange(t.replies);
    const next = t.replies.add({ chatroomId: 'room-1', role: 'model', parentId: reply.id });

    expect(await t.job(reply.id, t.run())).toEqual({ kind: 'finished' });

    expect(t.replies.get(reply.id)).toMatchObject({ status: 'done', content: 'Hello', finishReason: 'STOP', outputTokens: 2 });
    expect(t.events.map((event) => event.type)).toEqual(['delta', 'delta', 'end']);
    expect(t.events.at(-1)).toMatchObject({ type: 'end', final: { id: reply.id, status: 'done', content: 'Hello' } });
    expect(t.enqueued).toEqual([{ id: next.id, priority: 1 }]); // the next reply; nothing else of the user's is unfinished before it
    expect(t.calls[0]).toEqual([{ role: 'user', text: 'hello' }]);
    expect(t.done).toEqual([reply.id]);
  });

  it('defers a reply whose turn has not come, and schedules the head instead', async () => {
    const t = setUp([]);
    const first = exchange(t.replies);
    const second = t.replies.add({ chatroomId: 'room-1', role: 'model', parentId: first.id });

    expect(await t.job(second.id, t.run())).toEqual({ kind: 'defer', delayMs: expect.any(Number) });

    expect(t.replies.get(second.id)?.status).toBe('pending');
    expect(t.calls).toHaveLength(0);
    expect(t.enqueued.map((job) => job.id)).toEqual([first.id]);
  });

  it('leaves a finished reply alone (a re-run changes nothing) and ends the stream of a reply that is gone', async () => {
    const t = setUp([]);
    const reply = exchange(t.replies);
    await t.replies.store.endFailed(reply.id, { code: 'X', message: 'x' }, new Date());

    expect(await t.job(reply.id, t.run())).toEqual({ kind: 'finished' });
    expect(await t.job('no-such-reply', t.run())).toEqual({ kind: 'finished' });

    expect(t.calls).toHaveLength(0);
    expect(t.replies.get(reply.id)?.status).toBe('failed');
    expect(t.events).toEqual([{ type: 'end', final: undefined }]);
  });

  it('gives a retryable failure another attempt: the reply goes back to pending and the queue is told when', async () => {
    const t = setUp([{ chunks: ['par'], then: new ModelError('MODEL_UNAVAILABLE', '503') }], { maxAttempts: 3 });
    const reply = exchange(t.replies);

    const verdict = await t.job(reply.id, t.run(1));

    expect(verdict).toMatchObject({ kind: 'retry' });
    expect(verdict.kind === 'retry' && verdict.delayMs).toBeGreaterThanOrEqual(50); // base 100 ms with jitter in [0.5, 1)
    expect(t.replies.get(reply.id)?.status).toBe('pending');
    expect(t.events.map((event) => event.type)).toEqual(['delta']); // no end: the listeners wait for the next attempt
    expect(t.replies.refundsOf('user-1')).toBe(0);
  });

  it('starts the text over on the next attempt, telling listeners to drop what they had', async () => {
    const t = setUp([{ chunks: ['again'] }]);
    const reply = exchange(t.replies);

    await t.job(reply.id, t.run(2));

    expect(t.events.map((event) => event.type)).toEqual(['reset', 'delta', 'end']);
    expect(t.replies.get(reply.id)?.content).toBe('again');
  });

  it('fails for good on the last attempt, with a message for the client, and gives the prompt back once', async () => {
    const t = setUp([{ chunks: [], then: new ModelError('MODEL_UNAVAILABLE', 'upstream said 503 at host x') }], { maxAttempts: 2 });
    const reply = exchange(t.replies);

    expect(await t.job(reply.id, t.run(2))).toEqual({ kind: 'finished' });

    const failed = t.replies.get(reply.id);
    expect(failed).toMatchObject({ status: 'failed', errorCode: 'MODEL_UNAVAILABLE' });
    expect(failed?.errorMessage).not.toContain('host x'); // the raw error stays in the log
    expect(t.replies.refundsOf('user-1')).toBe(1);
    expect(t.events.at(-1)).toMatchObject({ type: 'end', final: { status: 'failed' } });
  });

  it('does not retry what fails the same way again (a blocked prompt)', async () => {
    const t = setUp([{ chunks: [], then: new ModelError('PROMPT_BLOCKED', 'blocked') }], { maxAttempts: 5 });
    const reply = exchange(t.replies);

    expect(await t.job(reply.id, t.run(1))).toEqual({ kind: 'finished' });
    expect(t.replies.get(reply.id)).toMatchObject({ status: 'failed', errorCode: 'PROMPT_BLOCKED' });
  });

  it('keeps the text so far when its owner stops it, and refunds nothing for a reply that had text', async () => {
    const t = setUp([{ chunks: ['Once upon'], then: 'stop' }]);
    const reply = exchange(t.replies);

    expect(await t.job(reply.id, t.run())).toEqual({ kind: 'finished' });

    expect(t.replies.get(reply.id)).toMatchObject({ status: 'done', content: 'Once upon', finishReason: 'STOPPED' });
    expect(t.replies.refundsOf('user-1')).toBe(0);
    expect(t.done).toEqual([]); // no title for a stopped reply
  });

  it('hands the job back at shutdown: the reply is pending again and no attempt is spent', async () => {
    const t = setUp([{ chunks: ['a', 'b'] }]);
    const reply = exchange(t.replies);
    const shutdown = new AbortController();
    shutdown.abort(new JobInterrupted('shutting down'));

    await expect(t.job(reply.id, t.run(1, shutdown.signal))).rejects.toBeInstanceOf(JobInterrupted);

    expect(t.replies.get(reply.id)?.status).toBe('pending');
    expect(t.events.filter((event) => event.type === 'end')).toHaveLength(0);
  });

  it('is not failed by its reply stream: once the stream takes writes again, listeners get the whole text', async () => {
    const t = setUp([{ chunks: ['a', 'b', 'c'] }], { stream: { failAt: (n) => n === 2 } });
    const reply = exchange(t.replies);

    expect(await t.job(reply.id, t.run())).toEqual({ kind: 'finished' });

    expect(t.replies.get(reply.id)).toMatchObject({ status: 'done', content: 'abc' });
    expect(t.events).toEqual([
      { type: 'delta', text: 'a' },
      { type: 'reset' },
      { type: 'delta', text: 'abc' },
      { type: 'end', final: expect.objectContaining({ content: 'abc' }) },
    ]);
  });

  it('sends the model only the path to the reply: prompts and finished replies, oldest first', async () => {
    const t = setUp([{ chunks: ['x'] }]);
    const p1 = t.replies.add({ chatroomId: 'room-1', role: 'user', content: 'one' });
    const r1 = t.replies.add({ chatroomId: 'room-1', role: 'model', parentId: p1.id, status: 'done', content: 'uno' });
    const failed = t.replies.add({ chatroomId: 'room-1', role: 'model', parentId: p1.id, status: 'failed', content: '' });
    const p2 = t.replies.add({ chatroomId: 'room-1', role: 'user', parentId: r1.id, content: 'two' });
    const reply = t.replies.add({ chatroomId: 'room-1', role: 'model', parentId: p2.id });

    await t.job(reply.id, t.run());

    expect(failed.status).toBe('failed');
    expect(t.calls[0]).toEqual([
      { role: 'user', text: 'one' },
      { role: 'model', text: 'uno' },
      { role: 'user', text: 'two' },
    ]);
  });
});
