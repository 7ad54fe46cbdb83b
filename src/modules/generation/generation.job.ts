import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../../infra/clock.js';
import { withTimeout } from '../../infra/deadline.js';
import { lazyChildLogger } from '../../infra/lazy-logger.js';
import type { Metrics } from '../../infra/metrics.js';
import { FINISHED, JobInterrupted, type JobHandler, type JobRun, type JobVerdict } from '../../infra/queue/generation-queue.js';
import type { ReplyStream } from '../../infra/reply-stream.js';
import { ModelError, type ChatModel, type ModelOutcome } from '../../integrations/gemini/model.js';
import { textTokens } from '../files/file-tokens.js';
import { tokensOf, type ModelFiles } from '../files/model-files.js';
import type { ClaimedTurn, HistoryTurn } from '../replies/reply.repository.js';
import type { ReplyStore } from '../replies/reply-store.js';
import { isFinished, type MessageRow } from '../replies/reply-state.js';
import { StopRequested, type RunningReplies } from '../replies/running-replies.js';
import { contextWindow } from './context-window.js';
import { createListenerFeed, type ListenerFeed } from './listener-feed.js';
import { decideAfterFailure, StorageError, type Failure, type FailureCode, type FailureSource, type RetryPolicy } from './retry-policy.js';
import type { Scheduler } from './scheduling.js';

type Deps = {
  replies: Pick<ReplyStore, 'find' | 'claimTurn' | 'complete' | 'release' | 'endStopped' | 'endFailed'>;
  model: ChatModel;
  stream: Pick<ReplyStream, 'append'>;
  scheduler: Pick<Scheduler, 'blockerOf' | 'scheduleNext'>;
  running: Pick<RunningReplies, 'register'>;
  policy: RetryPolicy;
  clock: Clock;
  log: FastifyBaseLogger;
  /** What a reply's context may hold (GENERATION_CONTEXT_TOKENS), and the server's system instruction, which takes its share. */
  context: { tokens: number; defaultInstruction: string | undefined };
  /** The files of a turn as the model reads them. */
  modelFiles: Pick<ModelFiles, 'toModelFile'>;
  metrics: Pick<Metrics, 'generationDuration' | 'modelTokens' | 'queueWait'>;
  /** Told after a reply is done and its listeners have ended, with its chatroom's title then (automatic titles); must not throw. */
  onReplyDone?: (reply: MessageRow, chatroomTitle: string) => Promise<void>;
};

/** At most this many earlier turns are read as a reply's context (the token budget usually cuts sooner). */
const MAX_CONTEXT_TURNS = 100;
/** How long a reply whose turn has not come waits before its job looks again (a safety net: the head schedules it). */
const DEFER_MS = 1_000;
const SAVE_TRIES = 3;
const SCHEDULE_TIMEOUT_MS = 3_000;

/** What the client is told when a reply fails; the raw error stays in the log. */
const FAILURE_MESSAGES: Record<FailureCode, string> = {
  MODEL_RATE_LIMITED: 'The model is over capacity; the prompt was given back, please try again shortly',
  MODEL_UNAVAILABLE: 'The model is unavailable; the prompt was given back, please try again shortly',
  MODEL_TIMEOUT: 'The model did not answer in time; the prompt was given back',
  MODEL_NETWORK_ERROR: 'The model could not be reached; the prompt was given back',
  MODEL_REJECTED: 'The model rejected the request; the prompt was given back',
  PROMPT_BLOCKED: 'The model declined to answer this prompt for safety reasons; the prompt was given back',
  RESPONSE_BLOCKED: 'The model withheld its answer for safety reasons; the prompt was given back',
  STORAGE_UNAVAILABLE: 'The reply could not be saved; the prompt was given back, please try again shortly',
  GENERATION_FAILED: 'The reply could not be generated; the prompt was given back',
};

/** Step 1, the claim: the reply's turn, or why there is none. */
type Claim =
  | { kind: 'claimed'; turn: ClaimedTurn }
  | { kind: 'deferred'; blockedBy: string }
  | { kind: 'skipped'; reason: 'finished' | 'gone' | 'not a reply' };

/** Step 2, the generation: how the model call ended. */
type Generation =
  | { kind: 'completed'; text: string; thoughts: string; result: ModelOutcome; turns: number; contextTruncated: boolean }
  | { kind: 'stopped'; text: string; thoughts: string }
  | { kind: 'interrupted'; error: unknown }
  | { kind: 'errored'; error: unknown };

/** Step 3, the persistence, and so the run: how it ended. Logged in one place, and told to the queue. */
type JobOutcome =
  | { kind: 'done'; reply: MessageRow | undefined; finishReason: string | null; chars: number; turns: number }
  | { kind: 'stopped'; reply: MessageRow | undefined; chars: number }
  | { kind: 'failed'; reply: MessageRow | undefined; failure: Failure; error: unknown }
  | { kind: 'retrying'; failure: Failure; error: unknown; delayMs: number }
  | Exclude<Claim, { kind: 'claimed' }>;

/** What the queue does with the job after `outcome`. */
function verdictOf(outcome: JobOutcome): JobVerdict {
  switch (outcome.kind) {
    case 'retrying':
      return { kind: 'retry', delayMs: outcome.delayMs };
    case 'deferred':
      return { kind: 'defer', delayMs: DEFER_MS };
    case 'done':
    case 'stopped':
    case 'failed':
    case 'skipped':
      return FINISHED;
  }
}

/** An abort controller that follows every parent signal. */
function linkedAbort(...parents: AbortSignal[]) {
  const controller = new AbortController();
  const follow = (parent: AbortSignal) => () => controller.abort(parent.reason);
  const listeners = parents.map((parent) => {
    const listener = follow(parent);
    if (parent.aborted) listener();
    else parent.addEventListener('abort', listener, { once: true });
    return [parent, listener] as const;
  });
  return {
    signal: controller.signal,
    dispose: () => listeners.forEach(([parent, listener]) => parent.removeEventListener('abort', listener)),
  };
}

/** A storage failure of ours, told apart from the model's; tried `tries` times. */
async function store<T>(what: () => Promise<T>, tries = 1): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await what();
    } catch (error) {
      if (attempt >= tries) throw new StorageError('database', error);
      await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
    }
  }
}

/**
 * The worker's job: generate one reply, as claim → generate → persist, each step a function that
 * answers how it ended. Idempotent: a reply already finished is left alone, so a duplicate or
 * re-run job changes nothing. The job decides retries (the policy) and tells the queue its verdict.
 */
/** What a turn costs in the model's context: its text, and its files as estimated at upload. */
const turnTokens = (turn: HistoryTurn) => textTokens(turn.text) + turn.files.reduce((sum, file) => sum + tokensOf(file), 0);

export function createGenerationJob(deps: Deps): JobHandler {
  const { replies, model, stream, scheduler, running, policy, clock, log, context, modelFiles, metrics, onReplyDone } = deps;

  /** What the model was paid for, by model and kind, once per stored reply. */
  function countTokens(modelName: string, usage: ModelOutcome['usage']) {
    if (!usage) return;
    const kinds = { prompt: usage.promptTokens, output: usage.outputTokens, thoughts: usage.thoughtsTokens, cached: usage.cachedTokens } as const;
    for (const [kind, tokens] of Object.entries(kinds)) if (tokens > 0) metrics.modelTokens.inc({ model: modelName, kind }, tokens);
  }

  function record(replyId: string, run: JobRun, startedAt: number, outcome: JobOutcome | { kind: 'interrupted' }) {
    const durationMs = Date.now() - startedAt;
    const fields = { replyId, attempt: run.attempt, outcome: outcome.kind, durationMs };
    switch (outcome.kind) {
      case 'failed':
      case 'retrying': {
        const { source, code } = outcome.failure;
        metrics.generationDuration.observe({ outcome: outcome.kind, code }, durationMs / 1000);
        const message = outcome.kind === 'failed' ? 'generation failed for good' : 'generation attempt failed; will retry';
        log[outcome.kind === 'failed' ? 'error' : 'warn']({ ...fields, source, code, err: outcome.error }, message);
        return;
      }
      case 'done':
        metrics.generationDuration.observe({ outcome: outcome.kind, code: '' }, durationMs / 1000);
        log.info({ ...fields, finishReason: outcome.finishReason, chars: outcome.chars, turns: outcome.turns }, 'reply generated');
        return;
      case 'stopped':
        metrics.generationDuration.observe({ outcome: outcome.kind, code: '' }, durationMs / 1000);
        log.info({ ...fields, chars: outcome.chars }, 'reply stopped');
        return;
      case 'interrupted':
      case 'deferred':
      case 'skipped':
        log.debug({ ...fields, ...outcome }, 'generation job ended without generating');
        return;
    }
  }

  /** Why a reply could not be claimed; `free` when its turn came between the claim and this look. */
  async function whyUnclaimed(replyId: string, jobLog: FastifyBaseLogger): Promise<Exclude<Claim, { kind: 'claimed' }> | { kind: 'free' }> {
    const reply = await store(() => replies.find(replyId));
    if (!reply) {
      // Deleted with its chatroom: end the stream, so that anyone still following it stops.
      await createListenerFeed(stream, replyId, jobLog).end();
      return { kind: 'skipped', reason: 'gone' };
    }
    if (reply.role !== 'model') return { kind: 'skipped', reason: 'not a reply' };
    if (isFinished(reply)) {
      // A re-run of a finished reply (its worker died after saving it): make sure the chatroom moves on.
      await scheduleNext(reply.chatroomId, jobLog);
      return { kind: 'skipped', reason: 'finished' };
    }
    const blocker = await store(() => scheduler.blockerOf(reply));
    if (!blocker) return { kind: 'free' };
    await scheduler.scheduleNext(reply.chatroomId);
    return { kind: 'deferred', blockedBy: blocker.id };
  }

  /** Step 1: the reply's turn, claimed in one statement; a second try when the reply ahead finished meanwhile. */
  async function claim(replyId: string, jobLog: FastifyBaseLogger): Promise<Claim> {
    for (let tries = 1; ; tries++) {
      const turn = await store(() => replies.claimTurn(replyId, clock.now(), MAX_CONTEXT_TURNS, model.name));
      if (turn) return { kind: 'claimed', turn };
      const why = await whyUnclaimed(replyId, jobLog);
      if (why.kind !== 'free') return why;
      if (tries === 2) return { kind: 'deferred', blockedBy: 'a reply that just finished' };
    }
  }

  /** Step 2: the model call, its text streamed to the listeners. Never throws: every ending is an answer. */
  async function generate(turn: ClaimedTurn, run: JobRun, feed: ListenerFeed, stopSignal: AbortSignal): Promise<Generation> {
    const call = linkedAbort(run.signal, stopSignal);
    try {
      if (turn.previousStatus === 'streaming' || run.attempt > 1) await feed.restart();
      call.signal.throwIfAborted();
      // What the model sees: the newest turns of the path to the reply, oldest first, that fit the
      // token budget beside the system instruction; each with its files.
      const instruction = turn.settings.systemInstruction ?? context.defaultInstruction ?? '';
      const window = contextWindow(turn.history, context.tokens - textTokens(instruction), turnTokens);
      const turns = window.turns.map(({ role, text, files }) =>
        files.length === 0 ? { role, text } : { role, text, files: files.map((file) => modelFiles.toModelFile(file)) },
      );
      const result = await model.generate(turns, (delta) => feed.delta(delta), call.signal, turn.settings, (thought) => feed.thought(thought));
      // The sources come once the answer is whole (their offsets point into it): told before the end.
      if (result.grounding) await feed.grounding(result.grounding);
      return { kind: 'completed', text: feed.text, thoughts: feed.thoughts, result, turns: turns.length, contextTruncated: window.truncated || turn.historyCut };
    } catch (error) {
      if (!call.signal.aborted) return { kind: 'errored', error };
      // A stop keeps the text so far; a shutdown hands the job back with the reply unfinished.
      return call.signal.reason instanceof StopRequested ? { kind: 'stopped', text: feed.text, thoughts: feed.thoughts } : { kind: 'interrupted', error };
    } finally {
      call.dispose();
    }
  }

  /** Step 3: the reply as the generation left it, stored; or given back to the queue for another attempt. */
  async function persist(
    replyId: string,
    turn: ClaimedTurn,
    generation: Generation,
    run: JobRun,
    jobLog: FastifyBaseLogger,
  ): Promise<Extract<JobOutcome, { kind: 'done' | 'stopped' | 'failed' | 'retrying' }>> {
    let error: unknown;
    switch (generation.kind) {
      case 'interrupted':
        await release(replyId, jobLog);
        throw new JobInterrupted('the worker is shutting down', { cause: generation.error });
      case 'completed': {
        const { text, thoughts, result, turns, contextTruncated } = generation;
        const saved = {
          content: text,
          thoughts: thoughts || null,
          grounding: result.grounding,
          finishReason: result.finishReason,
          promptTokens: result.usage?.promptTokens ?? null,
          outputTokens: result.usage?.outputTokens ?? null,
          thoughtsTokens: result.usage?.thoughtsTokens ?? null,
          cachedTokens: result.usage?.cachedTokens ?? null,
          totalTokens: result.usage?.totalTokens ?? null,
          contextTruncated,
        };
        try {
          const reply = await store(() => replies.complete(replyId, saved, clock.now()), SAVE_TRIES);
          countTokens(turn.settings.model, result.usage);
          return { kind: 'done', reply, finishReason: result.finishReason, chars: text.length, turns };
        } catch (storeError) {
          error = storeError;
        }
        break;
      }
      case 'stopped':
        try {
          const reply = await store(() => replies.endStopped(replyId, generation.text, ['streaming'], clock.now(), generation.thoughts || null), SAVE_TRIES);
          return { kind: 'stopped', reply, chars: generation.text.length };
        } catch (storeError) {
          error = storeError;
        }
        break;
      case 'errored':
        error = generation.error;
        break;
    }
    const verdict = decideAfterFailure(policy, error, run.attempt);
    if (verdict.kind === 'retry') {
      await release(replyId, jobLog);
      return { kind: 'retrying', failure: verdict.failure, error, delayMs: verdict.delayMs };
    }
    const failure = {
      code: verdict.failure.code,
      message: FAILURE_MESSAGES[verdict.failure.code],
      // A withheld answer says why (SAFETY, RECITATION, …), as the contract asks.
      finishReason: error instanceof ModelError ? (error.finishReason ?? null) : null,
    };
    const reply = await replies.endFailed(replyId, failure, clock.now());
    return { kind: 'failed', reply, failure: verdict.failure, error };
  }

  /** Back to the queue: nobody generates it until the next attempt takes it (a stop ends it at once meanwhile). */
  async function release(replyId: string, jobLog: FastifyBaseLogger) {
    await replies.release(replyId, clock.now()).catch((error: unknown) =>
      jobLog.warn({ err: error, source: 'storage' satisfies FailureSource }, 'could not mark the reply pending again'),
    );
  }

  async function scheduleNext(chatroomId: string, jobLog: FastifyBaseLogger) {
    await withTimeout(scheduler.scheduleNext(chatroomId), SCHEDULE_TIMEOUT_MS, 'the queue').catch((error: unknown) =>
      // The recovery sweep schedules it later; the reply itself is safe.
      jobLog.error({ err: error, source: 'storage' satisfies FailureSource }, 'could not schedule the next reply of the chatroom'),
    );
  }

  async function runJob(replyId: string, run: JobRun, jobLog: FastifyBaseLogger): Promise<JobOutcome> {
    const claimed = await claim(replyId, jobLog);
    if (claimed.kind !== 'claimed') return claimed;
    const { turn } = claimed;
    // What the user waited before the first token could come: queue, model budget and the chatroom's
    // earlier replies. Later attempts wait on the retry policy's backoff, not on capacity.
    if (run.attempt === 1 && turn.previousStatus === 'pending') {
      metrics.queueWait.observe(Math.max(0, clock.now().getTime() - turn.reply.createdAt.getTime()) / 1000);
    }
    const feed = createListenerFeed(stream, replyId, jobLog);
    const registration = await running.register(replyId);
    let outcome: Awaited<ReturnType<typeof persist>>;
    try {
      outcome = await persist(replyId, turn, await generate(turn, run, feed, registration.signal), run, jobLog);
    } finally {
      registration.dispose();
    }
    if (outcome.kind === 'retrying') return outcome;
    // The reply is finished: its listeners end with it as stored (a thousand followers need not
    // read it back), and the next reply of its chatroom gets its turn.
    await feed.end(outcome.reply);
    await scheduleNext(turn.reply.chatroomId, jobLog);
    if (outcome.kind === 'done') await onReplyDone?.(turn.reply, turn.chatroomTitle);
    return outcome;
  }

  return async (replyId, run) => {
    const startedAt = Date.now();
    const jobLog = lazyChildLogger(log, { replyId, attempt: run.attempt });
    let outcome: JobOutcome;
    try {
      outcome = await runJob(replyId, run, jobLog);
    } catch (error) {
      if (error instanceof JobInterrupted) record(replyId, run, startedAt, { kind: 'interrupted' });
      throw error;
    }
    record(replyId, run, startedAt, outcome);
    return verdictOf(outcome);
  };
}
