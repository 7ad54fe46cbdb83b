import { and, desc, eq, lt, or, sql } from 'drizzle-orm';
import type { Executor } from '../../infra/db/client.js';
import { shares } from '../../infra/db/schema.js';
import { SHARE_ID_PATTERN } from './share.schemas.js';

export type ShareRow = typeof shares.$inferSelect;
export type NewShare = typeof shares.$inferInsert;

/** Keyset position in a chatroom's list of shares (newest first). */
export interface SharePosition {
  createdAt: Date;
  id: string;
}

export async function insertShare(db: Executor, share: NewShare): Promise<ShareRow> {
  const [row] = await db.insert(shares).values(share).returning();
  if (!row) throw new Error('insert into shares returned no row');
  return row;
}

/**
 * By id alone: the public view. One primary-key lookup, whether the share exists or not. An id that
 * is not of a share's form (a NUL byte, which PostgreSQL refuses in text, among others) names no share.
 */
export async function findShare(db: Executor, id: string): Promise<ShareRow | undefined> {
  if (!SHARE_ID_PATTERN.test(id)) return undefined;
  const [row] = await db.select().from(shares).where(eq(shares.id, id));
  return row;
}

/** What a list of shares shows of each: the snapshot's size, not the snapshot. */
export type ShareSummary = Omit<ShareRow, 'messages' | 'userId'> & { messageCount: number };

const summaryColumns = {
  id: shares.id,
  chatroomId: shares.chatroomId,
  title: shares.title,
  createdAt: shares.createdAt,
  messageCount: sql<number>`jsonb_array_length(${shares.messages})`.mapWith(Number),
};

/** A chatroom's shares, newest first, `limit` of them after `after`. */
export function listSharesOfChatroom(db: Executor, chatroomId: string, limit: number, after?: SharePosition): Promise<ShareSummary[]> {
  const older = after ? or(lt(shares.createdAt, after.createdAt), and(eq(shares.createdAt, after.createdAt), lt(shares.id, after.id))) : undefined;
  return db
    .select(summaryColumns)
    .from(shares)
    .where(and(eq(shares.chatroomId, chatroomId), older))
    .orderBy(desc(shares.createdAt), desc(shares.id))
    .limit(limit);
}

/** Revokes a share of the user's chatroom; false when there was none. */
export async function deleteShare(db: Executor, userId: string, chatroomId: string, id: string): Promise<boolean> {
  if (!SHARE_ID_PATTERN.test(id)) return false;
  const rows = await db
    .delete(shares)
    .where(and(eq(shares.id, id), eq(shares.chatroomId, chatroomId), eq(shares.userId, userId)))
    .returning({ id: shares.id });
  return rows.length > 0;
}

/** The ids of a chatroom's shares (their cached views are forgotten when it is deleted). */
export async function shareIdsOfChatroom(db: Executor, chatroomId: string): Promise<string[]> {
  const rows = await db.select({ id: shares.id }).from(shares).where(eq(shares.chatroomId, chatroomId));
  return rows.map((row) => row.id);
}
