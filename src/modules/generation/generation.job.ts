import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../../infra/clock.js';
import type { Database } from '../../infra/db/client.js';
import type { JobHandler } from '../../infra/queue/generation-queue.js';
import type { ReplyStream } from '../../infra/reply-stream.js';
import { ModelError, type ChatModel } from '../../integrations/gemini/model.js';
import { refundPrompt } from '../billing/allowance.js';
import { contextWindow } from './context-window.js';
import { completeReply, failReply, findMessage, historyBefore, startReply } from './message.repository.js';

type Deps = {
  database: Pick<Database, 'db' | 'transaction'>;
  model: ChatModel;
  stream: Pick<ReplyStream, 'append'>;
  clock: Clock;
  log: FastifyBaseLogger;
  historyCharBudget: number;
};

const MAX_CONTEXT_TURNS = 100;

/** What the client is told when a reply fails; the model's raw error stays in the log. */
const FAILURE_MESSAGES: Record<ModelError['code'] | 'GENERATION_FAILED', string> = {
  MODEL_RATE_LIMITED: 'The model is over capacity; the prompt was given back, please try again shortly',
  MODEL_UNAVAILABLE: 'The model is unavailable; the prompt was given back, please try again shortly',
  MODEL_TIMEOUT: 'The model did not answer in time; the prompt was given back',
  MODEL_NETWORK_ERROR: 'The model could not be reached; the prompt was given back',
  MODEL_REJECTED: 'The model rejected the request; the prompt was given back',
  PROMPT_BLOCKED: 'The model declined to answer this prompt for safety reasons; the prompt was given back',
  RESPONSE_BLOCKED: 'The model withheld its answer for safety reasons; the prompt was given back',
  GENERATION_FAILED: 'The reply could not be generated; the prompt was given back',
};

/**
 * The worker's job: generate one reply. Idempotent: a reply already finished is left alone, so a
 * duplicate or re-run job changes nothing.
 */
export function createGenerationJob({ database, model, stream, clock, log, historyCharBudget }: Deps): JobHandler {
  const { db } = database;

  /** Marks the reply failed and gives its prompt back, in one transaction, exactly once. */
  async function fail(replyId: string, code: keyof typeof FAILURE_MESSAGES) {
    await database.transaction(async (tx) => {
      const failed = await failReply(tx, replyId, { code, message: FAILURE_MESSAGES[code] }, clock.now());
      if (failed?.allowanceDay) await refundPrompt(tx, failed.userId, failed.allowanceDay);
    });
  }

  return async (replyId, run) => {
    const reply = await findMessage(db, replyId);
    if (!reply && run.attempt > 1) {
      // Deleted (with its chatroom) between attempts: close the stream the first attempt opened, so it expires.
      await stream.append(replyId, { type: 'end' });
      return;
    }
    if (reply?.role !== 'model' || reply.status === 'done' || reply.status === 'failed') return;
    const jobLog = log.child({ replyId, chatroomId: reply.chatroomId, attempt: run.attempt });

    const started = await startReply(db, replyId, clock.now());
    if (!started) return;
    // An earlier attempt may have streamed part of a text that this one replaces.
    if (reply.status === 'streaming' || run.attempt > 1) await stream.append(replyId, { type: 'reset' });

    const history = await historyBefore(db, reply.chatroomId, reply.seq, MAX_CONTEXT_TURNS);
    const turns = contextWindow(
      history.map((turn) => ({ role: turn.role, text: turn.content })),
      historyCharBudget,
    );

    let text = '';
    try {
      const outcome = await model.generate(
        turns,
        async (delta) => {
          text += delta;
          await stream.append(replyId, { type: 'delta', text: delta });
        },
        run.signal,
      );
      await completeReply(
        db,
        replyId,
        {
          content: text,
          finishReason: outcome.finishReason,
          promptTokens: outcome.usage?.promptTokens ?? null,
          outputTokens: outcome.usage?.outputTokens ?? null,
        },
        clock.now(),
      );
      jobLog.info({ finishReason: outcome.finishReason, chars: text.length, turns: turns.length }, 'reply generated');
    } catch (error) {
      const modelError = error instanceof ModelError ? error : undefined;
      const retryable = modelError?.retryable ?? true; // an unexpected error (database, network) may pass
      if (run.signal.aborted || (retryable && run.attempt < run.maxAttempts)) {
        jobLog.warn({ err: error, code: modelError?.code }, 'generation attempt failed; will retry');
        throw error;
      }
      jobLog.error({ err: error, code: modelError?.code }, 'generation failed for good');
      await fail(replyId, modelError?.code ?? 'GENERATION_FAILED');
    }
    await stream.append(replyId, { type: 'end' });
  };
}
