import { sql } from 'drizzle-orm';
import type { Executor } from '../../infra/db/client.js';
import { columnsOf, selectRowsOf } from '../../infra/db/raw-rows.js';
import { messages } from '../../infra/db/schema.js';
import type { MessageRow } from '../replies/reply-state.js';
import { walkUp } from '../replies/path-walk.sql.js';

/** Newest first, `limit` messages of the path from the root to `tipId` older than `beforeSeq`. */
export function latestOnPath(db: Executor, tipId: string, limit: number, beforeSeq?: number): Promise<MessageRow[]> {
  const older = beforeSeq === undefined ? sql`true` : sql`m.seq < ${beforeSeq}`;
  const olderInPath = beforeSeq === undefined ? sql`true` : sql`seq < ${beforeSeq}`;
  return selectRowsOf(
    db,
    messages,
    sql`${walkUp(tipId, older, limit)} select ${columnsOf(messages)} from path where ${olderInPath} order by seq desc limit ${limit}`,
  );
}

/** The whole path from the root to `tipId`, oldest first (export). */
export function wholePath(db: Executor, tipId: string): Promise<MessageRow[]> {
  return selectRowsOf(db, messages, sql`${walkUp(tipId, sql`true`, undefined)} select ${columnsOf(messages)} from path order by seq asc`);
}

/**
 * The newest message at the end of the branch through `messageId`: its newest descendant (itself
 * when it has none). A child is always newer than its parent, so the newest descendant is a leaf.
 * The walk down is built like the walk up: one index lookup of the children per step.
 */
export async function newestDescendantOf(db: Executor, messageId: string): Promise<MessageRow | undefined> {
  const [row] = await selectRowsOf(
    db,
    messages,
    sql`with recursive subtree as (
      select m.* from messages m where m.id = ${messageId}
      union all
      select c.* from subtree cross join lateral (select * from messages where messages.parent_id = subtree.id offset 0) c
    )
    select ${columnsOf(messages)} from subtree order by seq desc limit 1`,
  );
  return row;
}
