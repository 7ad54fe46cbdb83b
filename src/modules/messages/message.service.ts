import { createHash } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../../infra/clock.js';
import type { Database } from '../../infra/db/client.js';
import { deadline, withTimeout } from '../../infra/deadline.js';
import { isUuid } from '../../infra/ids.js';
import { AppError } from '../../http/app-error.js';
import { decodeSeqCursor, encodeSeqCursor, toPage } from '../../http/pagination.js';
import { allowanceState, promptsUsed, spendPrompt, usageDay, type AllowancePolicy, type AllowanceState, type Tier } from '../billing/allowance.js';
import { allowanceHeaders } from '../billing/allowance-headers.js';
import { chatroomNotFound, type ChatroomService } from '../chatrooms/chatroom.service.js';
import { lockOwnedChatroom } from '../chatrooms/chatroom.repository.js';
import type { ReplyFollower } from '../generation/reply-follower.js';
import { unfinishedRepliesOf } from '../generation/reply.repository.js';
import type { Scheduler } from '../generation/scheduling.js';
import { StopUnavailable, type ReplyStopper } from '../generation/stopping.js';
import { claimIdempotencyKey, findIdempotencyKey, recordIdempotentOutcome } from './idempotency.repository.js';
import { findMessage, findOwnedMessage, insertMessage, listMessagesBefore, type MessageRow } from './message.repository.js';
import { toMessageDto, type MessageDto } from './message.schemas.js';

type Deps = {
  database: Pick<Database, 'db' | 'transaction'>;
  chatrooms: Pick<ChatroomService, 'requireOwned'>;
  scheduler: Pick<Scheduler, 'scheduleNext'>;
  follower: Pick<ReplyFollower, 'waitUntilFinished'>;
  stopper: Pick<ReplyStopper, 'stop'>;
  policy: AllowancePolicy;
  /** Replies a user may have waiting or being generated at once, by tier. */
  maxUnfinishedReplies: Record<Tier, number>;
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
const isFinished = (message: MessageRow) => message.status === 'done' || message.status === 'failed';

const PLAN_NAMES: Record<Tier, string> = { basic: 'Basic', pro: 'Pro' };
const SCHEDULE_TIMEOUT_MS = 3_000;

export const messageNotFound = (chatroomId: string, messageId: string) =>
  new AppError('MESSAGE_NOT_FOUND', 404, `Message '${messageId}' was not found in chatroom '${chatroomId}'`);

export type MessageService = ReturnType<typeof createMessageService>;

export function createMessageService({ database, chatrooms, scheduler, follower, stopper, policy, maxUnfinishedReplies, clock, log }: Deps) {
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

  const tooManyUnfinished = (tier: Tier, cap: number) =>
    new AppError(
      'TOO_MANY_PENDING_REPLIES',
      429,
      `${PLAN_NAMES[tier]} plan allows ${cap} replies waiting or being generated at once; wait for one to finish (or stop one) and send again`,
    );

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

  /** A message of a chatroom the user owns; 404 for anything else. */
  async function getMessage(userId: string, chatroomId: string, messageId: string): Promise<MessageRow> {
    await chatrooms.requireOwned(userId, chatroomId);
    const message = isUuid(messageId) ? await findOwnedMessage(db, userId, chatroomId, messageId) : undefined;
    if (!message) throw messageNotFound(chatroomId, messageId);
    return message;
  }

  return {
    allowanceOf,
    getMessage,

    /**
     * Stores the prompt and a pending reply and spends one prompt of today's allowance, all in one
     * transaction; schedules the generation after commit.
     */
    async send(user: Sender, chatroomId: string, content: string, idempotencyKey?: string): Promise<SendOutcome> {
      const now = clock.now();
      const day = usageDay(now);
      const limit = policy.limitFor(user.tier);
      const cap = maxUnfinishedReplies[user.tier];
      const requestHash = requestHashOf(chatroomId, content);
      if (!isUuid(chatroomId)) throw chatroomNotFound(chatroomId);

      const created = await database.transaction(async (tx) => {
        if (!(await lockOwnedChatroom(tx, user.id, chatroomId))) throw chatroomNotFound(chatroomId);
        if (idempotencyKey !== undefined && !(await claimIdempotencyKey(tx, user.id, idempotencyKey, requestHash, now))) {
          return undefined; // an earlier request holds the key: replay it below, outside this transaction
        }
        // Spending locks the user's allowance row until commit, so the user's sends take turns
        // here and the count below sees every earlier one: the cap cannot be raced past.
        const used = await spendPrompt(tx, user.id, day, limit);
        if (used === undefined) throw quotaExceeded(user.tier, limit ?? 0, now); // rolls back the key claim too
        if ((await unfinishedRepliesOf(tx, user.id)) >= cap) throw tooManyUnfinished(user.tier, cap);
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
        await withTimeout(scheduler.scheduleNext(chatroomId), SCHEDULE_TIMEOUT_MS, 'the queue');
      } catch (error) {
        // The reply is safe in the database: the recovery sweep schedules it once the queue is back.
        log.error({ err: error, replyId: created.reply.id }, 'could not schedule the generation; recovery will retry');
      }
      return {
        userMessage: created.userMessage,
        reply: created.reply,
        allowance: allowanceState(created.used, limit, now),
        replayed: false,
      };
    },

    /** The reply once finished, or as it is when `timeoutMs` runs out (or `signal` aborts). */
    async waitForReply(replyId: string, timeoutMs: number, signal?: AbortSignal): Promise<MessageRow> {
      const current = await findMessage(db, replyId);
      if (!current) throw new Error(`reply ${replyId} vanished`);
      if (isFinished(current) || timeoutMs <= 0) return current;
      const until = deadline(timeoutMs, signal);
      try {
        return (await follower.waitUntilFinished(replyId, until.signal)) ?? current;
      } finally {
        until.dispose();
      }
    },

    /** Stops a reply of the user's (404 otherwise) and answers it as it ended; a finished one unchanged. */
    async stop(userId: string, chatroomId: string, replyId: string): Promise<MessageRow> {
      const reply = await getMessage(userId, chatroomId, replyId);
      try {
        return await stopper.stop(reply);
      } catch (error) {
        if (error instanceof StopUnavailable) {
          throw new AppError('SERVICE_UNAVAILABLE', 503, `Reply '${replyId}' could not be stopped right now; try again shortly`, { cause: error });
        }
        throw error;
      }
    },

    /** Newest first, paginating backwards in time. */
    async listMessages(userId: string, chatroomId: string, limit: number, cursor: string | undefined) {
      const beforeSeq = cursor === undefined ? undefined : decodeSeqCursor(cursor);
      await chatrooms.requireOwned(userId, chatroomId);
      const rows = await listMessagesBefore(db, chatroomId, limit + 1, beforeSeq);
      return toPage(rows, limit, toMessageDto, (row) => encodeSeqCursor(row.seq));
    },

    /** A chatroom the user owns with its latest `count` messages, oldest first. */
    async conversation(userId: string, chatroomId: string, count: number) {
      const room = await chatrooms.requireOwned(userId, chatroomId);
      const rows = await listMessagesBefore(db, room.id, count + 1);
      const messages: MessageDto[] = rows.slice(0, count).reverse().map(toMessageDto);
      return { room, messages, hasMoreMessages: rows.length > count };
    },
  };
}
