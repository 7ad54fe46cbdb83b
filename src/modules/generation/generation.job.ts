import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../../infra/clock.js';
import type { Database } from '../../infra/db/client.js';
import { withTimeout } from '../../infra/deadline.js';
import { JobInterrupted, type JobHandler, type JobRun } from '../../infra/queue/generation-queue.js';
import type { ReplyStream } from '../../infra/reply-stream.js';
import type { ChatModel, ModelOutcome } from '../../integrations/gemini/model.js';
import { refundPrompt } from '../billing/allowance.js';
import { contextWindow } from './context-window.js';
import { claimTurn, completeReply, failReply, findReply, releaseReply, type ClaimedTurn, type MessageRow } from './reply.repository.js';
import { classifyFailure, StorageError, type Failure, type FailureCode, type FailureSource, type RetryPolicy } from './retry-policy.js';
import type { Scheduler } from './scheduling.js';
import { lazyChildLogger } from '../../infra/lazy-logger.js';
import type { Metrics } from '../../infra/metrics.js';
import { endStopped, StopRequested, type createRunningReplies } from './stopping.js';

type Deps = {
  database: Pick<Database, 'db' | 'transaction'>;
  model: ChatModel;
  stream: Pick<ReplyStream, 'append'>;
  scheduler: Pick<Scheduler, 'blockerOf' | 'scheduleNext'>;
  running: Pick<ReturnType<typeof createRunningReplies>, 'register'>;
  policy: Pick<RetryPolicy, 'retries'>;
  clock: Clock;
  log: FastifyBaseLogger;
  historyCharBudget: number;
  metrics: Pick<Metrics, 'generationDuration'>;
  /** Told after a reply is done and its listeners have ended, with its chatroom's title then (automatic titles); must not throw. */
  onReplyDone?: (reply: MessageRow, chatroomTitle: string) => Promise<void>;
};

/** At most this many earlier turns are read as a reply's context (the character budget usually cuts sooner). */
const MAX_CONTEXT_TURNS = 100;
/** How long a reply whose turn has not come waits before its job looks again (a safety net: the head schedules it). */
const DEFER_MS = 1_000;
const SAVE_TRIES = 3;
/** A stream write that takes longer is given up (a Redis outage can hold a command for long): the generation goes on. */
const STREAM_WRITE_TIMEOUT_MS = 1_000;
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

/** How one run of the job ended: logged in one place (and the place to count it). */
type JobOutcome =
  | { kind: 'done'; finishReason: string | null; chars: number; turns: number }
  | { kind: 'stopped'; chars: number }
  | { kind: 'failed'; failure: Failure; error: unknown }
  | { kind: 'retrying'; failure: Failure; error: unknown }
  | { kind: 'interrupted' }
  | { kind: 'deferred'; blockedBy: string }
  | { kind: 'skipped'; reason: 'finished' | 'gone' | 'not a reply' };

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

/**
 * The worker's job: generate one reply. Idempotent: a reply already finished is left alone, so a
 * duplicate or re-run job changes nothing.
 */
export function createGenerationJob({ database, model, stream, scheduler, running, policy, clock, log, historyCharBudget, metrics, onReplyDone }: Deps): JobHandler {
  const { db } = database;

  function record(replyId: string, run: JobRun, startedAt: number, outcome: JobOutcome) {
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
      case 'stopped':
        metrics.generationDuration.observe({ outcome: outcome.kind, code: '' }, durationMs / 1000);
        log.info({ ...fields, ...outcome, kind: undefined }, outcome.kind === 'done' ? 'reply generated' : 'reply stopped');
        return;
      case 'interrupted':
      case 'deferred':
      case 'skipped':
        log.debug({ ...fields, ...outcome }, 'generation job ended without generating');
        return;
    }
  }

  /** The stream is how listeners learn of progress, not where the reply lives: its failures never fail the reply. */
  async function tellListeners(replyId: string, event: Parameters<ReplyStream['append']>[1], jobLog: FastifyBaseLogger): Promise<boolean> {
    try {
      await withTimeout(stream.append(replyId, event), STREAM_WRITE_TIMEOUT_MS, 'the reply stream');
      return true;
    } catch (error) {
      jobLog.warn({ err: error, source: 'storage' satisfies FailureSource, code: 'REPLY_STREAM_UNAVAILABLE' }, 'could not write to the reply stream');
      return false;
    }
  }

  /** A storage failure of ours, told apart from the model's. */
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

  /** Marks the reply failed and gives its prompt back, in one transaction, exactly once. */
  async function fail(replyId: string, code: FailureCode): Promise<MessageRow | undefined> {
    return database.transaction(async (tx) => {
      const failed = await failReply(tx, replyId, { code, message: FAILURE_MESSAGES[code] }, clock.now());
      if (failed?.allowanceDay) await refundPrompt(tx, failed.userId, failed.allowanceDay);
      return failed;
    });
  }

  /** Why a reply could not be claimed, and what to do about it; `retry` when its turn came meanwhile. */
  async function unclaimed(replyId: string, jobLog: FastifyBaseLogger): Promise<JobOutcome | 'retry'> {
    const reply = await store(() => findReply(db, replyId));
    if (!reply) {
      // Deleted with its chatroom: end the stream, so that anyone still following it stops.
      await tellListeners(replyId, { type: 'end' }, jobLog);
      return { kind: 'skipped', reason: 'gone' };
    }
    if (reply.role !== 'model') return { kind: 'skipped', reason: 'not a reply' };
    if (reply.status === 'done' || reply.status === 'failed') {
      // A re-run of a finished reply (its worker died after saving it): make sure the chatroom moves on.
      await finishScheduling(reply.chatroomId, jobLog);
      return { kind: 'skipped', reason: 'finished' };
    }
    const blocker = await store(() => scheduler.blockerOf(reply));
    if (!blocker) return 'retry';
    await scheduler.scheduleNext(reply.chatroomId);
    return { kind: 'deferred', blockedBy: blocker.id };
  }

  async function generate(replyId: string, run: JobRun, jobLog: FastifyBaseLogger, retried = false): Promise<JobOutcome> {
    // Registered for stop requests while the claim runs: a stop lands in the registry or in its check.
    const registering = running.register(replyId);
    let claim: ClaimedTurn | undefined;
    try {
      claim = await store(() => claimTurn(db, replyId, clock.now(), MAX_CONTEXT_TURNS));
    } finally {
      if (!claim) (await registering).dispose();
    }
    if (!claim) {
      const outcome = await unclaimed(replyId, jobLog);
      if (outcome !== 'retry') return outcome;
      // The reply ahead of it finished between the claim and the check.
      return retried ? { kind: 'deferred', blockedBy: 'a reply that just finished' } : generate(replyId, run, jobLog, true);
    }
    const { reply: claimed, history, previousStatus, settings, chatroomTitle } = claim;
    const registration = await registering;
    const call = linkedAbort(run.signal, registration.signal);
    let text = '';
    let outcome: JobOutcome;
    /** The reply as this job stored it in the end: its followers get it with the end of the stream. */
    let final: MessageRow | undefined;
    try {
      // An earlier attempt may have streamed part of a text that this one replaces.
      if (previousStatus === 'streaming' || run.attempt > 1) await tellListeners(replyId, { type: 'reset' }, jobLog);
      // What the model sees: the turns on the path to the reply, oldest first, cut to the character budget.
      const turns = contextWindow(history, historyCharBudget);

      let streamBroken = false;
      let result: ModelOutcome | undefined;
      try {
        call.signal.throwIfAborted();
        result = await model.generate(
          turns,
          async (delta) => {
            text += delta;
            // After a failed write the listeners may have missed text: once the stream takes
            // writes again, they drop what they have and get the whole text so far.
            if (streamBroken) {
              streamBroken = !((await tellListeners(replyId, { type: 'reset' }, jobLog)) && (await tellListeners(replyId, { type: 'delta', text }, jobLog)));
            } else {
              streamBroken = !(await tellListeners(replyId, { type: 'delta', text: delta }, jobLog));
            }
          },
          call.signal,
          settings,
        );
      } catch (error) {
        if (!call.signal.aborted) throw error;
        // Shutdown: the reply stays unfinished and its job goes back to the queue.
        if (!(call.signal.reason instanceof StopRequested)) throw new JobInterrupted('the worker is shutting down', { cause: error });
      }

      if (result) {
        const { finishReason, usage } = result;
        const saved = { content: text, finishReason, promptTokens: usage?.promptTokens ?? null, outputTokens: usage?.outputTokens ?? null };
        final = await store(() => completeReply(db, replyId, saved, clock.now()), SAVE_TRIES);
        outcome = { kind: 'done', finishReason, chars: text.length, turns: turns.length };
      } else {
        final = await store(() => endStopped(database, replyId, text, ['streaming'], clock.now()), SAVE_TRIES);
        outcome = { kind: 'stopped', chars: text.length };
      }
    } catch (error) {
      const retrying = !(error instanceof JobInterrupted) && policy.retries(classifyFailure(error), run.attempt);
      if (error instanceof JobInterrupted || retrying) {
        // Back to the queue: nobody generates it until the next attempt takes it.
        await releaseReply(db, replyId, clock.now()).catch((releaseError: unknown) =>
          jobLog.warn({ err: releaseError, source: 'storage' satisfies FailureSource }, 'could not mark the reply pending again'),
        );
      }
      if (error instanceof JobInterrupted) throw error;
      const failure = classifyFailure(error);
      if (retrying) return { kind: 'retrying', failure, error };
      final = await fail(replyId, failure.code);
      outcome = { kind: 'failed', failure, error };
    } finally {
      call.dispose();
      registration.dispose();
    }
    await finish(claimed.chatroomId, replyId, jobLog, final);
    if (outcome.kind === 'done') await onReplyDone?.(claimed, chatroomTitle);
    return outcome;
  }

  /**
   * The reply is finished: its listeners end, and the next reply of its chatroom gets its turn. The
   * end carries the reply as stored (when this job stored it), so that its followers, however many,
   * need not read it back from the database.
   */
  async function finish(chatroomId: string, replyId: string, jobLog: FastifyBaseLogger, final?: MessageRow) {
    await tellListeners(replyId, { type: 'end', final }, jobLog);
    await finishScheduling(chatroomId, jobLog);
  }

  async function finishScheduling(chatroomId: string, jobLog: FastifyBaseLogger) {
    await withTimeout(scheduler.scheduleNext(chatroomId), SCHEDULE_TIMEOUT_MS, 'the queue').catch((error: unknown) =>
      // The recovery sweep schedules it later; the reply itself is safe.
      jobLog.error({ err: error, source: 'storage' satisfies FailureSource }, 'could not schedule the next reply of the chatroom'),
    );
  }

  return async (replyId, run) => {
    const startedAt = Date.now();
    const jobLog = lazyChildLogger(log, { replyId, attempt: run.attempt });
    let outcome: JobOutcome;
    try {
      outcome = await generate(replyId, run, jobLog);
    } catch (error) {
      if (error instanceof JobInterrupted) record(replyId, run, startedAt, { kind: 'interrupted' });
      throw error;
    }
    record(replyId, run, startedAt, outcome);
    if (outcome.kind === 'retrying') throw outcome.error; // the queue runs it again after the policy's backoff
    return outcome.kind === 'deferred' ? { deferMs: DEFER_MS } : undefined;
  };
}
