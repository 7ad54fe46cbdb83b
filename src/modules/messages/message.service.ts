import { createHash, randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../../infra/clock.js';
import type { Database, Executor, Tx } from '../../infra/db/client.js';
import { deadline, withTimeout } from '../../infra/deadline.js';
import { isUuid } from '../../infra/ids.js';
import { AppError, validationError } from '../../http/app-error.js';
import { decodeSeqCursor, encodeSeqCursor, toPage } from '../../http/pagination.js';
import { allowanceState, usageDay, type AllowancePolicy, type AllowanceState } from '../billing/allowance.js';
import type { Tier } from '../users/tier.js';
import { allowanceHeaders } from '../billing/allowance-headers.js';
import { chatroomNotFound, type ChatroomService } from '../chatrooms/chatroom.service.js';
import type { ChatroomRow } from '../chatrooms/chatroom.repository.js';
import { toChatroomDto } from '../chatrooms/chatroom.schemas.js';
import type { ReplyFollower } from '../replies/reply-follower.js';
import type { Scheduler } from '../generation/scheduling.js';
import { StopUnavailable, type ReplyStopper } from '../replies/reply-stopper.js';
import { isFinished, type MessageRow } from '../replies/reply-state.js';
import { fileNotFound } from '../files/file.service.js';
import type { FileRow } from '../files/file.repository.js';
import type { PromptOf, WriteOutcome } from './send.repository.js';
import type { MessageStore } from './message-store.js';
import { toMessageDto, type ConversationDto, type MessageDto } from './message.schemas.js';

type Written = Extract<WriteOutcome, { kind: 'written' }>;

type Deps = {
  database: Pick<Database, 'db' | 'transaction'>;
  /** The statements it runs (message-store.ts), each on the executor it is handed. */
  store: MessageStore;
  chatrooms: Pick<ChatroomService, 'requireOwned' | 'listChanged'>;
  scheduler: Pick<Scheduler, 'scheduleNext' | 'enqueueHead'>;
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

/** A prompt as a client sends it. */
export interface NewPrompt {
  content: string;
  /** Absent: continue from the current message; a reply: branch from it; null: a new first prompt. */
  parentId?: string | null | undefined;
  attachmentIds?: string[] | undefined;
}

export interface SendOutcome {
  userMessage: MessageRow;
  reply: MessageRow;
  /** Each one's sibling ids, when the send knew them (a replayed send reads them when presented). */
  siblingIds?: { userMessage: string[]; reply: string[] };
  /** The prompt's files, when the send wrote them (otherwise read when presented). */
  promptFiles?: FileRow[];
  allowance: AllowanceState;
  /** True when an Idempotency-Key matched an earlier request: nothing new was stored or spent. */
  replayed: boolean;
}

/** A prompt and its reply, as a send answers them. */
export interface Exchange {
  userMessage: MessageDto;
  reply: MessageDto;
}

/** What an Idempotency-Key is bound to: the same key with another request is refused. */
const requestHashOf = (...parts: string[]) => createHash('sha256').update(parts.join('\n')).digest('hex');
const sendHash = (chatroomId: string, content: string, parentId: string | null | undefined, attachmentIds: string[]) =>
  // A send without parentId or files hashes as it always did, so keys stored before them still match.
  requestHashOf(
    chatroomId,
    content,
    ...(parentId === undefined ? [] : [`parent:${parentId ?? 'root'}`]),
    ...(attachmentIds.length === 0 ? [] : [`files:${attachmentIds.join(',')}`]),
  );

const PLAN_NAMES: Record<Tier, string> = { basic: 'Basic', pro: 'Pro' };
const SCHEDULE_TIMEOUT_MS = 3_000;
/** How many of the latest messages of the current branch a chatroom is answered with (older ones: GET …/messages). */
const CONVERSATION_MESSAGES = 50;

export const messageNotFound = (chatroomId: string, messageId: string) =>
  new AppError('MESSAGE_NOT_FOUND', 404, `Message '${messageId}' was not found in chatroom '${chatroomId}'`);

export type MessageService = ReturnType<typeof createMessageService>;

export function createMessageService({ database, store, chatrooms, scheduler, follower, stopper, policy, maxUnfinishedReplies, clock, log }: Deps) {
  const { db } = database;

  /** The path of a chatroom as a client reads it: newest first, `limit` of them older than `beforeSeq`. */
  const pathPage = (executor: Executor, room: ChatroomRow, limit: number, beforeSeq?: number) =>
    room.currentMessageId === null ? Promise.resolve([]) : store.latestOnPath(executor, room.currentMessageId, limit, beforeSeq);

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
    const prior = await store.findIdempotencyKey(db, userId, key);
    if (prior?.requestHash !== requestHash) {
      throw new AppError('IDEMPOTENCY_KEY_REUSED', 422, `Idempotency-Key '${key}' was already used for a different request`);
    }
    const userMessage = prior.userMessageId ? await store.findMessage(db, prior.userMessageId) : undefined;
    const reply = prior.replyId ? await store.findMessage(db, prior.replyId) : undefined;
    return userMessage && reply ? { userMessage, reply } : undefined;
  }

  /** Today's allowance of a user. */
  async function allowanceOf(user: Sender): Promise<AllowanceState> {
    const now = clock.now();
    return allowanceState(await store.promptsUsed(db, user.id, usageDay(now)), policy.limitFor(user.tier), now);
  }

  /** A message of a chatroom the user owns; 404 for anything else. */
  async function getMessage(userId: string, chatroomId: string, messageId: string): Promise<MessageRow> {
    await chatrooms.requireOwned(userId, chatroomId);
    const message = isUuid(messageId) ? await store.findOwnedMessage(db, userId, chatroomId, messageId) : undefined;
    if (!message) throw messageNotFound(chatroomId, messageId);
    return message;
  }

  /**
   * The parent of a new prompt: a reply of this chatroom (a user message as parent is a 400), null
   * for a new first prompt, or, when the client names none, the chatroom's current message.
   */
  async function parentForPrompt(tx: Tx, userId: string, room: ChatroomRow, parentId: string | null | undefined): Promise<string | null> {
    if (parentId === undefined) return room.currentMessageId;
    if (parentId === null) return null;
    const parent = isUuid(parentId) ? await store.findOwnedMessage(tx, userId, room.id, parentId) : undefined;
    if (!parent) throw messageNotFound(room.id, parentId);
    if (parent.role !== 'model') {
      throw validationError('parentId', `'${parentId}' is a prompt; a prompt follows a reply (or null for a new first prompt)`);
    }
    return parent.id;
  }

  /**
   * The user's live files of these ids, in this order, locked until the send commits (a delete waits);
   * 404 FILE_NOT_FOUND for the first that is unknown, foreign or deleted, before anything is spent.
   */
  async function attachable(tx: Tx, userId: string, ids: string[]): Promise<FileRow[]> {
    const found = new Map((await store.lockAttachableFiles(tx, userId, ids.filter(isUuid))).map((file) => [file.id, file]));
    return ids.map((id) => {
      const file = found.get(id);
      if (!file) throw fileNotFound(id);
      return file;
    });
  }

  /**
   * What sending and regenerating share, one way for both: in one transaction, the sender and the
   * chatroom locked (a user's sends take turns, and so do a chatroom's generations), the
   * Idempotency-Key claimed, `prompt` validating (before anything is spent), then one statement that
   * spends the allowance, checks the cap, writes the messages and makes the reply the current
   * message. After commit: the list cache told and the generation scheduled, together. A plain send
   * is four round trips with BEGIN and COMMIT.
   */
  async function startGeneration(
    user: Sender,
    chatroomId: string,
    request: { hash: string; idempotencyKey: string | undefined },
    prompt: (tx: Tx, room: ChatroomRow) => Promise<PromptOf & { files?: FileRow[] }>,
  ): Promise<SendOutcome> {
    const now = clock.now();
    const dailyLimit = policy.limitFor(user.tier);
    const cap = maxUnfinishedReplies[user.tier];
    const { hash, idempotencyKey } = request;
    if (!isUuid(chatroomId)) throw chatroomNotFound(chatroomId);

    const started = await database.transaction(async (tx): Promise<(Written & { promptFiles?: FileRow[] }) | { kind: 'replay'; key: string }> => {
      const room = await store.lockSenderAndChatroom(tx, user.id, chatroomId);
      if (!room) throw chatroomNotFound(chatroomId);
      if (idempotencyKey !== undefined && !(await store.claimIdempotencyKey(tx, user.id, idempotencyKey, hash, now))) {
        return { kind: 'replay', key: idempotencyKey }; // an earlier request holds the key: replayed below, outside this transaction
      }
      const { files, ...promptOf } = await prompt(tx, room);
      const written = await store.writeGeneration(tx, { chatroomId, userId: user.id, prompt: promptOf, replyId: randomUUID(), day: usageDay(now), dailyLimit, now, maxUnfinished: cap });
      // Throwing rolls the key's claim back too.
      if (written.kind === 'quota exceeded') throw quotaExceeded(user.tier, dailyLimit ?? 0, now);
      if (written.kind === 'too many unfinished') throw tooManyUnfinished(user.tier, cap);
      if (files && files.length > 0) await store.attachFiles(tx, written.userMessage.id, files.map((file) => file.id));
      if (idempotencyKey !== undefined) await store.recordIdempotentOutcome(tx, user.id, idempotencyKey, written.userMessage.id, written.reply.id);
      return { ...written, promptFiles: files };
    });

    if (started.kind === 'replay') {
      const prior = await replay(user.id, started.key, hash);
      if (!prior) throw chatroomNotFound(chatroomId);
      return { ...prior, allowance: await allowanceOf(user), replayed: true };
    }
    const created = started;
    // An idle chatroom's new reply is its head: enqueued at once. Otherwise the head schedules it
    // when it ends, and scheduleNext here covers a head that ended while this send was committing.
    const schedule = created.chatroomWasIdle
      ? scheduler.enqueueHead(created.reply.id, created.earlierUnfinished)
      : scheduler.scheduleNext(chatroomId);
    await Promise.all([
      chatrooms.listChanged(user.id), // the list shows each chatroom's current message
      withTimeout(schedule, SCHEDULE_TIMEOUT_MS, 'the queue').catch((error: unknown) =>
        // The reply is safe in the database: the recovery sweep schedules it once the queue is back.
        log.error({ err: error, replyId: created.reply.id }, 'could not schedule the generation; recovery will retry'),
      ),
    ]);
    return {
      userMessage: created.userMessage,
      reply: created.reply,
      siblingIds: created.siblingIds,
      ...(created.promptFiles ? { promptFiles: created.promptFiles } : {}),
      allowance: allowanceState(created.used, dailyLimit, now),
      replayed: false,
    };
  }

  /** The files of the prompts among `rows` (replies carry none): one query, none without prompts. */
  const promptFilesOf = (rows: MessageRow[]) => store.attachmentsOf(db, rows.filter((row) => row.role === 'user').map((row) => row.id));

  /** Message DTOs with their siblings and files (one query for each, for all of them). */
  async function present(rows: MessageRow[]): Promise<MessageDto[]> {
    const [siblings, files] = await Promise.all([store.siblingIdsOf(db, rows), promptFilesOf(rows)]);
    return rows.map((row) => toMessageDto(row, siblings.get(row.id), files.get(row.id)));
  }

  /**
   * Presentations of one message in progress, by its state: a thousand listeners of one reply all
   * present it at its end, at once, and share one query for its siblings instead of a thousand.
   */
  const presenting = new Map<string, Promise<MessageDto>>();

  function presentOne(row: MessageRow): Promise<MessageDto> {
    const key = `${row.id}:${row.status}:${row.updatedAt.getTime()}:${row.content.length}`;
    let shared = presenting.get(key);
    if (!shared) {
      shared = present([row]).then(([dto]) => dto ?? toMessageDto(row));
      presenting.set(key, shared);
      const forget = () => presenting.delete(key);
      shared.then(forget, forget);
    }
    return shared;
  }

  /**
   * The reply once finished, or as stored when `timeoutMs` runs out (or `signal` aborts). `reply`
   * is the row as the caller just wrote or read it, so waiting starts without reading it again.
   */
  async function waitForReply(reply: MessageRow, timeoutMs: number, signal?: AbortSignal): Promise<MessageRow> {
    if (isFinished(reply) || timeoutMs <= 0) return reply;
    const until = deadline(timeoutMs, signal);
    try {
      return (await follower.waitUntilFinished(reply, until.signal)) ?? reply;
    } finally {
      until.dispose();
    }
  }

  async function presentExchange({
    userMessage,
    reply,
    siblingIds,
    promptFiles,
  }: Pick<SendOutcome, 'userMessage' | 'reply' | 'siblingIds' | 'promptFiles'>): Promise<Exchange> {
    if (siblingIds && promptFiles) {
      return { userMessage: toMessageDto(userMessage, siblingIds.userMessage, promptFiles), reply: toMessageDto(reply, siblingIds.reply) };
    }
    const [userDto, replyDto] = await present([userMessage, reply]);
    if (!userDto || !replyDto) throw new Error('presenting an exchange lost a message');
    return { userMessage: siblingIds ? { ...userDto, siblingIds: siblingIds.userMessage } : userDto, reply: siblingIds ? { ...replyDto, siblingIds: siblingIds.reply } : replyDto };
  }

  /** A chatroom the user owns with the latest messages of its current path, oldest first (GET /chatroom/:id). */
  async function conversation(userId: string, chatroomId: string): Promise<ConversationDto> {
    const room = await chatrooms.requireOwned(userId, chatroomId);
    const rows = await pathPage(db, room, CONVERSATION_MESSAGES + 1);
    const messages = await present(rows.slice(0, CONVERSATION_MESSAGES).reverse());
    return { ...toChatroomDto(room), messages, hasMoreMessages: rows.length > CONVERSATION_MESSAGES, tokenTotals: await store.tokenTotalsOf(db, room.id) };
  }

  return {
    allowanceOf,
    getMessage,
    present,
    presentOne,
    presentExchange,
    conversation,

    /**
     * Stores the prompt and a pending reply and spends one prompt of today's allowance, all in one
     * transaction; schedules the generation after commit. `parentId` absent continues from the
     * current message; a reply of the chatroom branches from there; null starts a new first prompt.
     */
    send(user: Sender, chatroomId: string, prompt: NewPrompt, idempotencyKey?: string): Promise<SendOutcome> {
      const { content, parentId, attachmentIds = [] } = prompt;
      const request = { hash: sendHash(chatroomId, content, parentId, attachmentIds), idempotencyKey };
      return startGeneration(user, chatroomId, request, async (tx, room) => ({
        write: { id: randomUUID(), parentId: await parentForPrompt(tx, user.id, room, parentId), content },
        files: await attachable(tx, user.id, attachmentIds),
      }));
    },

    /** A new reply to the prompt of a finished reply: its sibling, paid for like a send, and the current message. */
    regenerate(user: Sender, chatroomId: string, replyId: string, idempotencyKey?: string): Promise<SendOutcome> {
      const request = { hash: requestHashOf(chatroomId, 'regenerate', replyId), idempotencyKey };
      return startGeneration(user, chatroomId, request, async (tx, room) => {
        const earlier = isUuid(replyId) ? await store.findOwnedMessage(tx, user.id, room.id, replyId) : undefined;
        if (!earlier) throw messageNotFound(chatroomId, replyId);
        if (earlier.role !== 'model' || earlier.parentId === null) throw validationError('replyId', `'${replyId}' is a prompt, not a reply`);
        if (!isFinished(earlier)) {
          throw new AppError('REPLY_IN_PROGRESS', 409, `Reply '${replyId}' is still being generated; stop it or wait for it to finish`);
        }
        const existing = await store.findMessage(tx, earlier.parentId);
        if (!existing) throw messageNotFound(chatroomId, earlier.parentId);
        return { existing };
      });
    },

    /**
     * A send answered when its reply is finished: 201 with the exchange once done, 202 with the
     * reply as it stands when `timeoutMs` runs out or `signal` aborts (the client left), and a 502
     * problem when the reply failed (its prompt was given back: the problem's headers say so). The
     * reply keeps the siblings it was born with.
     */
    async awaitExchange(user: Sender, outcome: SendOutcome, timeoutMs: number, signal: AbortSignal): Promise<{ status: 201 | 202; exchange: Exchange }> {
      const [exchange, final] = await Promise.all([presentExchange(outcome), waitForReply(outcome.reply, timeoutMs, signal)]);
      if (final.status === 'failed') {
        throw new AppError('MODEL_FAILED', 502, final.errorMessage ?? 'The model failed to reply', {
          headers: allowanceHeaders(await allowanceOf(user), clock.now()),
          extensions: { replyId: final.id, error: { code: final.errorCode, message: final.errorMessage } },
        });
      }
      return { status: final.status === 'done' ? 201 : 202, exchange: { ...exchange, reply: toMessageDto(final, exchange.reply.siblingIds) } };
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

    /** The current path, newest first, paginating backwards (the same cursors as before branches). */
    async listMessages(userId: string, chatroomId: string, limit: number, cursor: string | undefined) {
      const beforeSeq = cursor === undefined ? undefined : decodeSeqCursor(cursor);
      const room = await chatrooms.requireOwned(userId, chatroomId);
      const rows = await pathPage(db, room, limit + 1, beforeSeq);
      const page = toPage(rows, limit, (row) => row, (row) => encodeSeqCursor(row.seq));
      return { items: await present(page.items), nextCursor: page.nextCursor };
    },

    /**
     * Switches branch: the current message becomes the newest message at the end of the branch
     * through `messageId`. Answers the chatroom with its new path.
     */
    async switchBranch(userId: string, chatroomId: string, messageId: string): Promise<ConversationDto> {
      if (!isUuid(chatroomId)) throw chatroomNotFound(chatroomId);
      await database.transaction(async (tx) => {
        // Locked like a send, so a send at the same moment continues from one branch or the other, never a mix.
        if (!(await store.lockOwnedChatroom(tx, userId, chatroomId))) throw chatroomNotFound(chatroomId);
        const target = isUuid(messageId) ? await store.findOwnedMessage(tx, userId, chatroomId, messageId) : undefined;
        if (!target) throw messageNotFound(chatroomId, messageId);
        const tip = (await store.newestDescendantOf(tx, target.id)) ?? target;
        await store.setCurrentMessage(tx, chatroomId, tip.id);
      });
      await chatrooms.listChanged(userId);
      return conversation(userId, chatroomId);
    },

    /** The current branch whole, oldest first, for export. */
    async exportBranch(userId: string, chatroomId: string) {
      const room = await chatrooms.requireOwned(userId, chatroomId);
      const rows = room.currentMessageId === null ? [] : await store.wholePath(db, room.currentMessageId);
      return { chatroom: toChatroomDto(room), messages: await present(rows) };
    },
  };
}
