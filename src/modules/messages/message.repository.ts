import { and, desc, eq, lt } from 'drizzle-orm';
import type { Executor } from '../../infra/db/client.js';
import { messages } from '../../infra/db/schema.js';
import type { MessageRow } from '../replies/reply-state.js';

type NewMessage = Pick<typeof messages.$inferInsert, 'chatroomId' | 'userId' | 'parentId' | 'role' | 'content' | 'status' | 'allowanceDay'>;

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
