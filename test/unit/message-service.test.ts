import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/http/app-error.js';
import { allowancePolicy } from '../../src/modules/billing/allowance.js';
import type { ChatroomRow } from '../../src/modules/chatrooms/chatroom.repository.js';
import type { MessageStore } from '../../src/modules/messages/message-store.js';
import { createMessageService } from '../../src/modules/messages/message.service.js';
import type { NewGeneration, WriteOutcome } from '../../src/modules/messages/send.repository.js';
import type { MessageRow } from '../../src/modules/replies/reply-state.js';
import { messageRow } from './fakes/message-row.js';

const NOW = new Date('2026-12-05T10:00:00Z');
const unused = () => {
  throw new Error('not expected in this test');
};

const row = (fields: Partial<MessageRow> & Pick<MessageRow, 'role'>): MessageRow => messageRow({ createdAt: NOW, updatedAt: NOW, ...fields });

/**
 * The message service over a store in memory: one chatroom of one user. `write` decides what the
 * send's statement answers; the transaction keeps what is claimed or recorded only if it commits.
 */
function setUp({ write, messages = [] as MessageRow[], finished }: { write?: (generation: NewGeneration) => WriteOutcome; messages?: MessageRow[]; finished?: (reply: MessageRow) => MessageRow | undefined } = {}) {
  const roomId = randomUUID();
  const room = { id: roomId, userId: 'user', title: 'New chat', currentMessageId: null } as ChatroomRow;
  const keys = new Map<string, { requestHash: string; userMessageId: string | null; replyId: string | null }>();
  const byId = new Map<string, MessageRow>(messages.map((message) => [message.id, { ...message, chatroomId: roomId }]));
  const scheduled: string[] = [];
  const store = {
    lockSenderAndChatroom: (_tx: unknown, userId: string, chatroomId: string) => Promise.resolve(userId === 'user' && chatroomId === roomId ? room : undefined),
    claimIdempotencyKey: (_tx: unknown, _userId: string, key: string, requestHash: string) =>
      Promise.resolve(keys.has(key) ? false : (keys.set(key, { requestHash, userMessageId: null, replyId: null }), true)),
    findIdempotencyKey: (_db: unknown, _userId: string, key: string) => Promise.resolve(keys.get(key)),
    recordIdempotentOutcome: (_tx: unknown, _userId: string, key: string, userMessageId: string, replyId: string) =>
      Promise.resolve(void keys.set(key, { ...(keys.get(key) as { requestHash: string }), userMessageId, replyId })),
    writeGeneration: (_tx: unknown, generation: NewGeneration) => {
      const outcome = write?.(generation) ?? unused();
      if (outcome.kind === 'written') for (const message of [outcome.userMessage, outcome.reply]) byId.set(message.id, message);
      return Promise.resolve(outcome);
    },
    findMessage: (_db: unknown, id: string) => Promise.resolve(byId.get(id)),
    findOwnedMessage: (_db: unknown, userId: string, chatroomId: string, id: string) =>
      Promise.resolve([byId.get(id)].find((message) => message?.userId === userId && message.chatroomId === chatroomId)),
    siblingIdsOf: (_db: unknown, rows: MessageRow[]) => Promise.resolve(new Map(rows.map((message) => [message.id, [message.id]]))),
    promptsUsed: () => Promise.resolve(5),
    // The user's files: none, so every attachment id is unknown.
    lockAttachableFiles: () => Promise.resolve([]),
    attachFiles: unused,
    attachmentsOf: () => Promise.resolve(new Map()),
  } as unknown as MessageStore;
  const service = createMessageService({
    // A transaction that rolls back what it claimed when it throws.
    database: {
      db: {} as never,
      transaction: async (work) => {
        const before = new Map(keys);
        try {
          return await work({} as never);
        } catch (error) {
          keys.clear();
          for (const [key, value] of before) keys.set(key, value);
          throw error;
        }
      },
    },
    store,
    chatrooms: { requireOwned: () => Promise.resolve(room), listChanged: () => Promise.resolve() },
    scheduler: { scheduleNext: unused, enqueueHead: (id: string) => Promise.resolve(void scheduled.push(id)) },
    follower: { waitUntilFinished: (reply) => Promise.resolve(finished?.(reply)) },
    stopper: { stop: unused },
    policy: allowancePolicy({ basicDailyLimit: 5, proDailyLimit: 0 }),
    maxUnfinishedReplies: { basic: 5, pro: 25 },
    clock: { now: () => NOW },
    log: pino({ level: 'silent' }),
  });
  const written = (generation: NewGeneration): WriteOutcome => {
    const prompt = row({ role: 'user', chatroomId: roomId, content: 'write' in generation.prompt ? generation.prompt.write.content : '' });
    const reply = row({ id: generation.replyId, role: 'model', chatroomId: roomId, parentId: prompt.id, status: 'pending' });
    return { kind: 'written', userMessage: prompt, reply, siblingIds: { userMessage: [prompt.id], reply: [reply.id] }, used: 1, earlierUnfinished: 0, chatroomWasIdle: true };
  };
  return { service, roomId, keys, scheduled, written, user: { id: 'user', tier: 'basic' as const } };
}

const problemOf = async (promise: Promise<unknown>) => {
  const error = await promise.then(() => undefined, (caught: unknown) => caught);
  expect(error).toBeInstanceOf(AppError);
  return error as AppError;
};

describe('sending (the message service over a store in memory)', () => {
  it('stores the exchange, schedules an idle chatroom\'s reply at once and answers the allowance after it', async () => {
    const t = setUp({ write: (generation) => t.written(generation) });
    const outcome = await t.service.send(t.user, t.roomId, { content: 'hello' });
    expect(outcome.replayed).toBe(false);
    expect(outcome.allowance).toMatchObject({ used: 1, limit: 5, remaining: 4 });
    expect(t.scheduled).toEqual([outcome.reply.id]);
  });

  it('answers 429 QUOTA_EXCEEDED with Retry-After until midnight UTC, and releases the Idempotency-Key for a later try', async () => {
    const t = setUp({ write: () => ({ kind: 'quota exceeded' }) });
    const problem = await problemOf(t.service.send(t.user, t.roomId, { content: 'hello' }, 'key-1'));
    expect(problem).toMatchObject({ code: 'QUOTA_EXCEEDED', status: 429 });
    expect(problem.options.headers?.['retry-after']).toBe(String(14 * 3600)); // 10:00 → 00:00 UTC
    expect(t.keys.has('key-1')).toBe(false);
    expect(t.scheduled).toEqual([]);
  });

  it('answers 429 TOO_MANY_PENDING_REPLIES when the user has too many replies unfinished', async () => {
    const t = setUp({ write: () => ({ kind: 'too many unfinished' }) });
    expect(await problemOf(t.service.send(t.user, t.roomId, { content: 'hello' }))).toMatchObject({ code: 'TOO_MANY_PENDING_REPLIES', status: 429 });
  });

  it('replays a send with the same Idempotency-Key: the first exchange, nothing new written or scheduled', async () => {
    let writes = 0;
    const t = setUp({ write: (generation) => (writes++, t.written(generation)) });
    const first = await t.service.send(t.user, t.roomId, { content: 'hello' }, 'key-1');
    const again = await t.service.send(t.user, t.roomId, { content: 'hello' }, 'key-1');
    expect(again).toMatchObject({ replayed: true, reply: { id: first.reply.id }, userMessage: { id: first.userMessage.id } });
    expect(writes).toBe(1);
    expect(t.scheduled).toEqual([first.reply.id]);
  });

  it('refuses the same Idempotency-Key with another request (422), and a chatroom that is not the user\'s (404)', async () => {
    const t = setUp({ write: (generation) => t.written(generation) });
    await t.service.send(t.user, t.roomId, { content: 'hello' }, 'key-1');
    expect(await problemOf(t.service.send(t.user, t.roomId, { content: 'something else' }, 'key-1'))).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED', status: 422 });
    expect(await problemOf(t.service.send(t.user, randomUUID(), { content: 'hello' }))).toMatchObject({ code: 'CHATROOM_NOT_FOUND', status: 404 });
    expect(await problemOf(t.service.send(t.user, 'not-a-uuid', { content: 'hello' }))).toMatchObject({ code: 'CHATROOM_NOT_FOUND', status: 404 });
  });

  it('refuses a prompt as the parent of a prompt (400) before anything is spent', async () => {
    const prompt = row({ role: 'user', userId: 'user' });
    const t = setUp({ messages: [prompt], write: unused });
    expect(await problemOf(t.service.send(t.user, t.roomId, { content: 'hello', parentId: prompt.id }))).toMatchObject({ code: 'VALIDATION_FAILED', status: 400 });
  });

  it('refuses an attachment the user does not have (404 FILE_NOT_FOUND) before anything is written or spent, and releases the key', async () => {
    let writes = 0;
    const t = setUp({ write: (generation) => (writes++, t.written(generation)) });
    const problem = await problemOf(t.service.send(t.user, t.roomId, { content: 'look', attachmentIds: [randomUUID()] }, 'key-1'));
    expect(problem).toMatchObject({ code: 'FILE_NOT_FOUND', status: 404 });
    expect(writes).toBe(0);
    expect(t.keys.has('key-1')).toBe(false);
    expect(t.scheduled).toEqual([]);
  });

  it('refuses to regenerate a reply that is still being generated (409)', async () => {
    const prompt = row({ role: 'user', userId: 'user' });
    const reply = row({ role: 'model', userId: 'user', parentId: prompt.id, status: 'streaming' });
    const t = setUp({ messages: [prompt, reply], write: unused });
    expect(await problemOf(t.service.regenerate(t.user, t.roomId, reply.id))).toMatchObject({ code: 'REPLY_IN_PROGRESS', status: 409 });
  });
});

describe('a waiting send\'s answer', () => {
  it('is 201 with the stored reply once it is done', async () => {
    const t = setUp({ write: (generation) => t.written(generation), finished: (reply) => ({ ...reply, status: 'done', content: 'Hi!' }) });
    const outcome = await t.service.send(t.user, t.roomId, { content: 'hello' });
    const answered = await t.service.awaitExchange(t.user, outcome, 1_000, new AbortController().signal);
    expect(answered.status).toBe(201);
    expect(answered.exchange.reply).toMatchObject({ status: 'done', content: 'Hi!' });
  });

  it('is 202 with the reply as it stands when it is still running (time out, or the client left)', async () => {
    const t = setUp({ write: (generation) => t.written(generation), finished: (reply) => ({ ...reply, status: 'streaming', content: 'Hi' }) });
    const outcome = await t.service.send(t.user, t.roomId, { content: 'hello' });
    const answered = await t.service.awaitExchange(t.user, outcome, 1_000, new AbortController().signal);
    expect(answered.status).toBe(202);
    expect(answered.exchange.reply.status).toBe('streaming');
  });

  it('is 502 MODEL_FAILED naming the reply and its error, with the allowance as it is after the refund', async () => {
    const t = setUp({
      write: (generation) => t.written(generation),
      finished: (reply) => ({ ...reply, status: 'failed', errorCode: 'MODEL_UNAVAILABLE', errorMessage: 'The model is unavailable' }),
    });
    const outcome = await t.service.send(t.user, t.roomId, { content: 'hello' });
    const problem = await problemOf(t.service.awaitExchange(t.user, outcome, 1_000, new AbortController().signal));
    expect(problem).toMatchObject({ code: 'MODEL_FAILED', status: 502, options: { extensions: { replyId: outcome.reply.id, error: { code: 'MODEL_UNAVAILABLE' } } } });
    expect(problem.options.headers).toMatchObject({ ratelimit: expect.stringContaining('r=0') }); // 5 of 5 used, as the store says now
  });
});
