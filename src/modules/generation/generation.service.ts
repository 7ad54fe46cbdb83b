import { createHash } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../../infra/clock.js';
import type { Database } from '../../infra/db/client.js';
import { deadline, withTimeout } from '../../infra/deadline.js';
import { isUuid } from '../../infra/ids.js';
import type { GenerationQueue } from '../../infra/queue/generation-queue.js';
import type { ReplyStream } from '../../infra/reply-stream.js';
import { AppError } from '../../http/app-error.js';
import { decodeSeqCursor, encodeSeqCursor, toPage } from '../../http/pagination.js';
import { allowanceState, promptsUsed, spendPrompt, usageDay, type AllowancePolicy, type AllowanceState, type Tier } from '../billing/allowance.js';
import { allowanceHeaders } from '../billing/allowance-headers.js';
import { chatroomNotFound, type ChatroomService } from '../chatrooms/chatroom.service.js';
import { lockOwnedChatroom } from '../chatrooms/chatroom.repository.js';
import { claimIdempotencyKey, findIdempotencyKey, recordIdempotentOutcome } from './idempotency.repository.js';
import { findMessage, findOwnedMessage, insertMessage, listMessagesBefore, type MessageRow } from './message.repository.js';
import { toMessageDto, type MessageDto } from './message.schemas.js';

type Deps = {
  database: Pick<Database, 'db' | 'transaction'>;
  chatrooms: Pick<ChatroomService, 'requireOwned'>;
  queue: Pick<GenerationQueue, 'enqueue'>;
  stream: ReplyStream;
  policy: AllowancePolicy;
  clock: Clock;
  log: FastifyBaseLogger;
};

export interface Sender {
  id: string;
  tier: Tier;
}

export interface SendOutcome {
  userMessage: MessageRow;
  reply: MessageRow;
  allowance: AllowanceState;
  /** True when an Idempotency-Key matched an earlier request: nothing new was stored or spent. */
  replayed: boolean;
}

const requestHashOf = (chatroomId: string, content: string) => createHash('sha256').update(`${chatroomId}\n${content}`).digest('hex');
export const isFinished = (message: MessageRow) => message.status === 'done' || message.status === 'failed';

const PLAN_NAMES: Record<Tier, string> = { basic: 'Basic', pro: 'Pro' };
const ENQUEUE_TIMEOUT_MS = 3_000;

export type GenerationService = ReturnType<typeof createGenerationService>;

export function createGenerationService({ database, chatrooms, queue, stream, policy, clock, log }: Deps) {
  const { db } = database;

  function quotaExceeded(tier: Tier, limit: number, now: Date) {
    const state = allowanceState(limit, limit, now);
    const retryAfter = Math.max(1, Math.ceil((state.resetsAt.getTime() - now.getTime()) / 1000));
    return new AppError(
      'QUOTA_EXCEEDED',
      429,
      `${PLAN_NAMES[tier]} plan allows ${limit} prompts a day; resets at ${state.resetsAt.toISOString()}`,
      { headers: { 'retry-after': String(retryAfter), ...allowanceHeaders(state, now) } },
    );
  }

  async function replay(userId: string, key: string, requestHash: string) {
    const prior = await findIdempotencyKey(db, userId, key);
    if (prior?.requestHash !== requestHash) {
      throw new AppError('IDEMPOTENCY_KEY_REUSED', 422, `Idempotency-Key '${key}' was already used for a different request`);
    }
    const userMessage = prior.userMessageId ? await findMessage(db, prior.userMessageId) : undefined;
    const reply = prior.replyId ? await findMessage(db, prior.replyId) : undefined;
    return userMessage && reply ? { userMessage, reply } : undefined;
  }

  /** Today's allowance of a user. */
  async function allowanceOf(user: Sender): Promise<AllowanceState> {
    const now = clock.now();
    return allowanceState(await promptsUsed(db, user.id, usageDay(now)), policy.limitFor(user.tier), now);
  }

  return {
    allowanceOf,

    /**
     * Stores the prompt and a pending reply and spends one prompt of today's allowance, all in one
     * transaction; enqueues the generation after commit.
     */
    async send(user: Sender, chatroomId: string, content: string, idempotencyKey?: string): Promise<SendOutcome> {
      const now = clock.now();
      const day = usageDay(now);
      const limit = policy.limitFor(user.tier);
      const requestHash = requestHashOf(chatroomId, content);
      if (!isUuid(chatroomId)) throw chatroomNotFound(chatroomId);

      const created = await database.transaction(async (tx) => {
        if (!(await lockOwnedChatroom(tx, user.id, chatroomId))) throw chatroomNotFound(chatroomId);
        if (idempotencyKey !== undefined && !(await claimIdempotencyKey(tx, user.id, idempotencyKey, requestHash, now))) {
          return undefined; // an earlier request holds the key: replay it below, outside this transaction
        }
        const used = await spendPrompt(tx, user.id, day, limit);
        if (used === undefined) throw quotaExceeded(user.tier, limit ?? 0, now); // rolls back the key claim too
        const userMessage = await insertMessage(tx, { chatroomId, userId: user.id, role: 'user', content, status: 'done' }, now);
        const reply = await insertMessage(tx, { chatroomId, userId: user.id, role: 'model', status: 'pending', allowanceDay: day }, now);
        if (idempotencyKey !== undefined) await recordIdempotentOutcome(tx, user.id, idempotencyKey, userMessage.id, reply.id);
        return { userMessage, reply, used };
      });

      if (!created) {
        const prior = await replay(user.id, idempotencyKey as string, requestHash);
        if (!prior) throw chatroomNotFound(chatroomId);
        return { ...prior, allowance: await allowanceOf(user), replayed: true };
      }
      try {
        await withTimeout(queue.enqueue(created.reply.id), ENQUEUE_TIMEOUT_MS, 'the queue');
      } catch (error) {
        // The reply is safe in the database: the recovery sweep enqueues it once the queue is back.
        log.error({ err: error, replyId: created.reply.id }, 'could not enqueue generation; recovery will retry');
      }
      return {
        userMessage: created.userMessage,
        reply: created.reply,
        allowance: allowanceState(created.used, limit, now),
        replayed: false,
      };
    },

    currentReply: (replyId: string) => findMessage(db, replyId),

    /** The reply once finished, or as it is when `timeoutMs` runs out (or `signal` aborts). */
    async waitForReply(replyId: string, timeoutMs: number, signal?: AbortSignal): Promise<MessageRow> {
      const current = await findMessage(db, replyId);
      if (!current) throw new Error(`reply ${replyId} vanished`);
      if (isFinished(current) || timeoutMs <= 0) return current;
      const until = deadline(timeoutMs, signal);
      try {
        for await (const event of stream.read(replyId, until.signal)) {
          if (event.type === 'end') break;
        }
      } catch (error) {
        // The stream is how we learn of the end, not where the reply lives: answer with what is stored.
        log.warn({ err: error, replyId }, 'reply stream unavailable while waiting');
      } finally {
        until.dispose();
      }
      return (await findMessage(db, replyId)) ?? current;
    },

    async getMessage(userId: string, chatroomId: string, messageId: string): Promise<MessageRow> {
      await chatrooms.requireOwned(userId, chatroomId);
      const message = isUuid(messageId) ? await findOwnedMessage(db, userId, chatroomId, messageId) : undefined;
      if (!message) throw new AppError('MESSAGE_NOT_FOUND', 404, `Message '${messageId}' was not found in chatroom '${chatroomId}'`);
      return message;
    },

    /** Newest first, paginating backwards in time. */
    async listMessages(userId: string, chatroomId: string, limit: number, cursor: string | undefined) {
      const beforeSeq = cursor === undefined ? undefined : decodeSeqCursor(cursor);
      await chatrooms.requireOwned(userId, chatroomId);
      const rows = await listMessagesBefore(db, chatroomId, limit + 1, beforeSeq);
      return toPage(rows, limit, toMessageDto, (row) => encodeSeqCursor(row.seq));
    },

    /** The latest messages of a chatroom the caller owns (checked by the caller), oldest first. */
    async latestMessages(chatroomId: string, count: number): Promise<{ messages: MessageDto[]; hasMoreMessages: boolean }> {
      const rows = await listMessagesBefore(db, chatroomId, count + 1);
      return { messages: rows.slice(0, count).reverse().map(toMessageDto), hasMoreMessages: rows.length > count };
    },
  };
}
