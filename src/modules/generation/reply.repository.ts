import { and, asc, count, eq, gt, inArray, lt, lte } from 'drizzle-orm';
import type { Executor } from '../../infra/db/client.js';
import { messages } from '../../infra/db/schema.js';

/** A message row; a reply is a row with role `model`. */
export type MessageRow = typeof messages.$inferSelect;

const unfinished = inArray(messages.status, ['pending', 'streaming']);

export async function findReply(db: Executor, id: string): Promise<MessageRow | undefined> {
  const [row] = await db.select().from(messages).where(eq(messages.id, id));
  return row;
}

/** The chatroom's oldest reply that is done, on any branch (the exchange a title is made from). */
export async function firstFinishedReplyOf(db: Executor, chatroomId: string): Promise<MessageRow | undefined> {
  const [row] = await db
    .select()
    .from(messages)
    .where(and(eq(messages.chatroomId, chatroomId), eq(messages.role, 'model'), eq(messages.status, 'done')))
    .orderBy(asc(messages.seq))
    .limit(1);
  return row;
}

/** The oldest unfinished reply of a chatroom: the one whose turn it is. */
export async function chatroomHead(db: Executor, chatroomId: string): Promise<MessageRow | undefined> {
  const [row] = await db
    .select()
    .from(messages)
    .where(and(eq(messages.chatroomId, chatroomId), eq(messages.role, 'model'), unfinished))
    .orderBy(asc(messages.seq))
    .limit(1);
  return row;
}

/** How many of the user's replies, asked for before this one, are still unfinished (for fair scheduling). */
export async function unfinishedRepliesBefore(db: Executor, userId: string, beforeSeq: number): Promise<number> {
  const [row] = await db
    .select({ n: count() })
    .from(messages)
    .where(and(eq(messages.userId, userId), eq(messages.role, 'model'), unfinished, lt(messages.seq, beforeSeq)));
  return row?.n ?? 0;
}

export async function unfinishedRepliesIn(db: Executor, chatroomId: string): Promise<MessageRow[]> {
  return db
    .select()
    .from(messages)
    .where(and(eq(messages.chatroomId, chatroomId), eq(messages.role, 'model'), unfinished))
    .orderBy(asc(messages.seq));
}

/** Claims an unfinished reply for an attempt: its text starts over. Undefined if it is already finished. */
export async function startReply(db: Executor, id: string, now: Date): Promise<MessageRow | undefined> {
  const [row] = await db
    .update(messages)
    .set({ status: 'streaming', content: '', updatedAt: now })
    .where(and(eq(messages.id, id), unfinished))
    .returning();
  return row;
}

/**
 * Gives a reply back to the queue (a retry later, or another worker after a shutdown): `pending`
 * means nobody is generating it, so a stop ends it at once instead of waiting for a worker.
 */
export async function releaseReply(db: Executor, id: string, now: Date): Promise<void> {
  await db
    .update(messages)
    .set({ status: 'pending', updatedAt: now })
    .where(and(eq(messages.id, id), eq(messages.status, 'streaming')));
}

export interface ReplyResult {
  content: string;
  finishReason: string | null;
  promptTokens: number | null;
  outputTokens: number | null;
}

export async function completeReply(db: Executor, id: string, result: ReplyResult, now: Date): Promise<boolean> {
  const rows = await db
    .update(messages)
    .set({ ...result, status: 'done', updatedAt: now, completedAt: now })
    .where(and(eq(messages.id, id), eq(messages.status, 'streaming')))
    .returning({ id: messages.id });
  return rows.length > 0;
}

export const STOPPED = 'STOPPED';

/**
 * Ends an unfinished reply as stopped with the text it has, if it is still in one of `from`.
 * Returns the row only for the one call that made the change, so that the caller refunds once.
 */
export async function stopReply(db: Executor, id: string, content: string, from: ('pending' | 'streaming')[], now: Date) {
  const [row] = await db
    .update(messages)
    .set({ status: 'done', content, finishReason: STOPPED, updatedAt: now, completedAt: now })
    .where(and(eq(messages.id, id), inArray(messages.status, from)))
    .returning();
  return row;
}

/**
 * Marks an unfinished reply failed. Returns the row only for the one call that made the change,
 * so that the caller gives the prompt back exactly once.
 */
export async function failReply(db: Executor, id: string, error: { code: string; message: string }, now: Date) {
  const [row] = await db
    .update(messages)
    .set({ status: 'failed', errorCode: error.code, errorMessage: error.message, updatedAt: now, completedAt: now })
    .where(and(eq(messages.id, id), unfinished))
    .returning();
  return row;
}

/**
 * One page of chatrooms that have unfinished replies untouched since `before`, with the oldest such
 * reply of each, in chatroom id order after `afterChatroomId` (keyset: a sweep walks all of them).
 */
export async function staleChatroomHeads(db: Executor, before: Date, afterChatroomId: string | undefined, limit: number) {
  return db
    .selectDistinctOn([messages.chatroomId], { chatroomId: messages.chatroomId, replyId: messages.id })
    .from(messages)
    .where(
      and(
        eq(messages.role, 'model'),
        unfinished,
        lte(messages.updatedAt, before),
        afterChatroomId === undefined ? undefined : gt(messages.chatroomId, afterChatroomId),
      ),
    )
    .orderBy(asc(messages.chatroomId), asc(messages.seq))
    .limit(limit);
}
