import { and, asc, desc, eq, inArray, isNull, lt, or, sql } from 'drizzle-orm';
import type { Executor } from '../../infra/db/client.js';
import { messages } from '../../infra/db/schema.js';
import { pathIdsTo, type MessageRow } from '../generation/reply.repository.js';

/** Newest first, `limit` messages of the path from the root to `tipId` older than `beforeSeq`. */
export function listPathBefore(db: Executor, tipId: string, limit: number, beforeSeq?: number): Promise<MessageRow[]> {
  return db
    .select()
    .from(messages)
    .where(and(sql`${messages.id} in ${pathIdsTo(tipId)}`, beforeSeq === undefined ? undefined : lt(messages.seq, beforeSeq)))
    .orderBy(desc(messages.seq))
    .limit(limit);
}

/** The whole path from the root to `tipId`, oldest first (export). */
export function pathTo(db: Executor, tipId: string): Promise<MessageRow[]> {
  return db
    .select()
    .from(messages)
    .where(sql`${messages.id} in ${pathIdsTo(tipId)}`)
    .orderBy(asc(messages.seq));
}

const siblingKey = (parentId: string | null, role: string) => `${parentId ?? 'root'}:${role}`;

/**
 * For each row, the ids of all messages of its chatroom with the same parent and role, oldest
 * first, itself included. One query for any number of rows (of one or more chatrooms).
 */
export async function siblingIdsOf(db: Executor, rows: MessageRow[]): Promise<Map<string, string[]>> {
  const result = new Map<string, string[]>();
  if (rows.length === 0) return result;
  const parentIds = [...new Set(rows.flatMap((row) => (row.parentId === null ? [] : [row.parentId])))];
  const rootChatrooms = [...new Set(rows.filter((row) => row.parentId === null).map((row) => row.chatroomId))];
  const candidates = await db
    .select({ id: messages.id, parentId: messages.parentId, role: messages.role, chatroomId: messages.chatroomId })
    .from(messages)
    .where(
      or(
        parentIds.length > 0 ? inArray(messages.parentId, parentIds) : undefined,
        rootChatrooms.length > 0 ? and(isNull(messages.parentId), inArray(messages.chatroomId, rootChatrooms)) : undefined,
      ),
    )
    .orderBy(asc(messages.seq));
  const groups = new Map<string, string[]>();
  for (const candidate of candidates) {
    const key = `${candidate.chatroomId}:${siblingKey(candidate.parentId, candidate.role)}`;
    groups.set(key, [...(groups.get(key) ?? []), candidate.id]);
  }
  for (const row of rows) result.set(row.id, groups.get(`${row.chatroomId}:${siblingKey(row.parentId, row.role)}`) ?? [row.id]);
  return result;
}

/**
 * The newest message at the end of the branch through `messageId`: its newest descendant (itself
 * when it has none). A child is always newer than its parent, so the newest descendant is a leaf.
 */
export async function newestDescendantOf(db: Executor, messageId: string): Promise<MessageRow | undefined> {
  const subtree = sql`(
    with recursive subtree(id) as (
      select id from messages where id = ${messageId}
      union all
      select m.id from messages m join subtree on m.parent_id = subtree.id
    )
    select id from subtree
  )`;
  const [row] = await db
    .select()
    .from(messages)
    .where(sql`${messages.id} in ${subtree}`)
    .orderBy(desc(messages.seq))
    .limit(1);
  return row;
}

/** Tokens of every reply of the chatroom, on every branch. */
export async function tokenTotalsOf(db: Executor, chatroomId: string): Promise<{ promptTokens: number; outputTokens: number }> {
  const [row] = await db
    .select({
      promptTokens: sql<string>`coalesce(sum(${messages.promptTokens}), 0)`,
      outputTokens: sql<string>`coalesce(sum(${messages.outputTokens}), 0)`,
    })
    .from(messages)
    .where(and(eq(messages.chatroomId, chatroomId), eq(messages.role, 'model')));
  return { promptTokens: Number(row?.promptTokens ?? 0), outputTokens: Number(row?.outputTokens ?? 0) };
}
