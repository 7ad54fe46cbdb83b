import { and, asc, desc, eq, inArray, lt, lte, sql } from 'drizzle-orm';
import type { Executor } from '../../infra/db/client.js';
import { messages } from '../../infra/db/schema.js';

export type MessageRow = typeof messages.$inferSelect;
type NewMessage = Pick<typeof messages.$inferInsert, 'chatroomId' | 'userId' | 'role' | 'content' | 'status' | 'allowanceDay'>;

export async function insertMessage(db: Executor, message: NewMessage, now: Date): Promise<MessageRow> {
  const done = message.status === 'done';
  const [row] = await db
    .insert(messages)
    .values({ ...message, createdAt: now, updatedAt: now, completedAt: done ? now : null })
    .returning();
  if (!row) throw new Error('insert into messages returned no row');
  return row;
}

export async function findMessage(db: Executor, id: string): Promise<MessageRow | undefined> {
  const [row] = await db.select().from(messages).where(eq(messages.id, id));
  return row;
}

/** The message if it is in this chatroom and belongs to this user. */
export async function findOwnedMessage(db: Executor, userId: string, chatroomId: string, id: string): Promise<MessageRow | undefined> {
  const [row] = await db
    .select()
    .from(messages)
    .where(and(eq(messages.id, id), eq(messages.chatroomId, chatroomId), eq(messages.userId, userId)));
  return row;
}

/** Newest first, `limit` messages older than `beforeSeq`. */
export function listMessagesBefore(db: Executor, chatroomId: string, limit: number, beforeSeq?: number): Promise<MessageRow[]> {
  return db
    .select()
    .from(messages)
    .where(and(eq(messages.chatroomId, chatroomId), beforeSeq === undefined ? undefined : lt(messages.seq, beforeSeq)))
    .orderBy(desc(messages.seq))
    .limit(limit);
}

/**
 * The turns before a reply that can serve as context, newest first: the user's prompts, and the
 * model's finished replies (failed and unfinished ones have nothing to say).
 */
export function historyBefore(db: Executor, chatroomId: string, beforeSeq: number, maxTurns: number) {
  return db
    .select({ role: messages.role, content: messages.content })
    .from(messages)
    .where(
      and(
        eq(messages.chatroomId, chatroomId),
        lt(messages.seq, beforeSeq),
        sql`(${messages.role} = 'user' or ${messages.status} = 'done')`,
      ),
    )
    .orderBy(desc(messages.seq))
    .limit(maxTurns);
}

/** Claims an unfinished reply for an attempt: its text starts over. Undefined if it is already finished. */
export async function startReply(db: Executor, id: string, now: Date): Promise<MessageRow | undefined> {
  const [row] = await db
    .update(messages)
    .set({ status: 'streaming', content: '', updatedAt: now })
    .where(and(eq(messages.id, id), inArray(messages.status, ['pending', 'streaming'])))
    .returning();
  return row;
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

/**
 * Marks an unfinished reply failed. Returns the row only for the one call that made the change,
 * so that the caller gives the prompt back exactly once.
 */
export async function failReply(db: Executor, id: string, error: { code: string; message: string }, now: Date) {
  const [row] = await db
    .update(messages)
    .set({ status: 'failed', errorCode: error.code, errorMessage: error.message, updatedAt: now, completedAt: now })
    .where(and(eq(messages.id, id), inArray(messages.status, ['pending', 'streaming'])))
    .returning();
  return row;
}

/** Replies not finished and not touched after `before`: candidates for the recovery sweep. */
export async function findStaleReplies(db: Executor, before: Date, limit: number): Promise<string[]> {
  const rows = await db
    .select({ id: messages.id })
    .from(messages)
    .where(and(inArray(messages.status, ['pending', 'streaming']), lte(messages.updatedAt, before)))
    .orderBy(asc(messages.updatedAt))
    .limit(limit);
  return rows.map((row) => row.id);
}
