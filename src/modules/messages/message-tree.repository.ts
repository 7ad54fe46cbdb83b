import { and, asc, eq, or, sql, type SQL } from 'drizzle-orm';
import type { Executor } from '../../infra/db/client.js';
import { messages } from '../../infra/db/schema.js';
import type { MessageRow } from '../replies/reply-state.js';

/** A group of siblings: the messages of a chatroom with the same parent (none, at the root) and role. */
export interface SiblingGroup {
  chatroomId: string;
  parentId: string | null;
  role: MessageRow['role'];
}

const groupKey = ({ chatroomId, parentId, role }: SiblingGroup) => `${chatroomId}:${parentId ?? 'root'}:${role}`;

/** The one statement of who is a sibling of whom (a root's parent is null, so the chatroom tells roots apart). */
const inGroup = ({ chatroomId, parentId, role }: SiblingGroup): SQL =>
  sql`${messages.chatroomId} = ${chatroomId} and ${parentId === null ? sql`${messages.parentId} is null` : sql`${messages.parentId} = ${parentId}`} and ${messages.role} = ${role}`;

/** The ids of a group, oldest first, as a json array: for a statement that answers them along with its own work. */
export const siblingIdsSql = (group: SiblingGroup): SQL =>
  sql`coalesce((select json_agg(${messages.id} order by ${messages.seq}) from ${messages} where ${inGroup(group)}), '[]'::json)`;

/**
 * For each row, the ids of all messages of its group (same chatroom, parent and role), oldest
 * first, itself included. One query for any number of rows (of one or more chatrooms).
 */
export async function siblingIdsOf(db: Executor, rows: MessageRow[]): Promise<Map<string, string[]>> {
  const result = new Map<string, string[]>();
  if (rows.length === 0) return result;
  const groups = new Map(rows.map((row) => [groupKey(row), row as SiblingGroup]));
  const members = await db
    .select({ id: messages.id, parentId: messages.parentId, role: messages.role, chatroomId: messages.chatroomId })
    .from(messages)
    .where(or(...[...groups.values()].map(inGroup)))
    .orderBy(asc(messages.seq));
  const ids = new Map<string, string[]>();
  for (const member of members) ids.set(groupKey(member), [...(ids.get(groupKey(member)) ?? []), member.id]);
  for (const row of rows) result.set(row.id, ids.get(groupKey(row)) ?? [row.id]);
  return result;
}

export type TokenTotals = Record<'promptTokens' | 'outputTokens' | 'thoughtsTokens' | 'cachedTokens' | 'totalTokens', number>;

/** Tokens of every reply of the chatroom, on every branch. */
export async function tokenTotalsOf(db: Executor, chatroomId: string): Promise<TokenTotals> {
  const [row] = await db
    .select({
      promptTokens: sql<string>`coalesce(sum(${messages.promptTokens}), 0)`,
      outputTokens: sql<string>`coalesce(sum(${messages.outputTokens}), 0)`,
      thoughtsTokens: sql<string>`coalesce(sum(${messages.thoughtsTokens}), 0)`,
      cachedTokens: sql<string>`coalesce(sum(${messages.cachedTokens}), 0)`,
      // Replies stored before the total was kept count their two figures.
      totalTokens: sql<string>`coalesce(sum(coalesce(${messages.totalTokens}, ${messages.promptTokens} + coalesce(${messages.outputTokens}, 0))), 0)`,
    })
    .from(messages)
    .where(and(eq(messages.chatroomId, chatroomId), eq(messages.role, 'model')));
  return {
    promptTokens: Number(row?.promptTokens ?? 0),
    outputTokens: Number(row?.outputTokens ?? 0),
    thoughtsTokens: Number(row?.thoughtsTokens ?? 0),
    cachedTokens: Number(row?.cachedTokens ?? 0),
    totalTokens: Number(row?.totalTokens ?? 0),
  };
}
