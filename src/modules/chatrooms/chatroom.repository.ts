import { and, desc, eq, sql } from 'drizzle-orm';
import type { Executor } from '../../infra/db/client.js';
import { chatrooms } from '../../infra/db/schema.js';
import type { Position } from '../../http/pagination.js';

export type ChatroomRow = typeof chatrooms.$inferSelect;

const owned = (userId: string, id: string) => and(eq(chatrooms.id, id), eq(chatrooms.userId, userId));

export async function insertChatroom(db: Executor, userId: string, title: string, now: Date): Promise<ChatroomRow> {
  const [row] = await db.insert(chatrooms).values({ userId, title, createdAt: now, updatedAt: now }).returning();
  if (!row) throw new Error('insert into chatrooms returned no row');
  return row;
}

/** Newest first; `limit` rows after `after`. */
export function listChatrooms(db: Executor, userId: string, limit: number, after?: Position): Promise<ChatroomRow[]> {
  return db
    .select()
    .from(chatrooms)
    .where(
      and(
        eq(chatrooms.userId, userId),
        after ? sql`(${chatrooms.createdAt}, ${chatrooms.id}) < (${after.createdAt.toISOString()}::timestamptz, ${after.id}::uuid)` : undefined,
      ),
    )
    .orderBy(desc(chatrooms.createdAt), desc(chatrooms.id))
    .limit(limit);
}

/** The chatroom if `userId` owns it: another user's room is as absent as a missing one. */
export async function findOwnedChatroom(db: Executor, userId: string, id: string): Promise<ChatroomRow | undefined> {
  const [row] = await db.select().from(chatrooms).where(owned(userId, id));
  return row;
}

/**
 * The same, locked for the rest of the transaction: sends to one chatroom then take their turns, so a
 * prompt and its reply are adjacent in the conversation and no reply answers another send's prompt.
 */
export async function lockOwnedChatroom(db: Executor, userId: string, id: string): Promise<ChatroomRow | undefined> {
  const [row] = await db.select().from(chatrooms).where(owned(userId, id)).for('update');
  return row;
}

export async function renameChatroom(db: Executor, userId: string, id: string, title: string, now: Date): Promise<ChatroomRow | undefined> {
  const [row] = await db.update(chatrooms).set({ title, updatedAt: now }).where(owned(userId, id)).returning();
  return row;
}

/** Its messages go with it (ON DELETE CASCADE). */
export async function deleteChatroom(db: Executor, userId: string, id: string): Promise<boolean> {
  const rows = await db.delete(chatrooms).where(owned(userId, id)).returning({ id: chatrooms.id });
  return rows.length > 0;
}
