import { and, asc, eq, inArray, isNull, or, sql } from 'drizzle-orm';
import type { Executor } from '../../infra/db/client.js';
import { messages } from '../../infra/db/schema.js';
import type { MessageRow } from '../replies/reply-state.js';

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
