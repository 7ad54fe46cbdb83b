import { sql, type SQL } from 'drizzle-orm';
import type { Executor } from '../../infra/db/client.js';
import { executeRaw, selectRowsOf } from '../../infra/db/raw-rows.js';
import { messages } from '../../infra/db/schema.js';
import type { MessageRow } from '../generation/reply.repository.js';

/**
 * The path of a conversation: from a message up through its parents to the root. Every query here
 * walks it one primary-key lookup per step and stops as soon as it has what it needs, so that the
 * cost follows the rows asked for, not the length of the chat. Each step is a LATERAL subquery with
 * `limit 1`, which the planner cannot flatten into a join: as a join it chose to scan the whole table
 * at every step while the table was small or its statistics stale (a 600-message chat cost 55 ms
 * per walk; this way, 0.6 ms).
 *
 * `counted` is a condition on the row `m`; the walk stops once `limit` rows that meet it are in
 * (undefined: walk to the root). The result is a relation `path` with the columns of `messages`.
 */
function walkUp(tipId: string, counted: SQL, limit: number | undefined): SQL {
  const more = limit === undefined ? sql`true` : sql`path.counted < ${limit}`;
  return sql`with recursive path as (
    select m.*, (${counted})::int as counted from messages m where m.id = ${tipId}
    union all
    select m.*, path.counted + (${counted})::int
    from path cross join lateral (select * from messages where messages.id = path.parent_id limit 1) m
    where ${more}
  )`;
}

/** Newest first, `limit` messages of the path from the root to `tipId` older than `beforeSeq`. */
export function latestOnPath(db: Executor, tipId: string, limit: number, beforeSeq?: number): Promise<MessageRow[]> {
  const older = beforeSeq === undefined ? sql`true` : sql`m.seq < ${beforeSeq}`;
  const olderInPath = beforeSeq === undefined ? sql`true` : sql`seq < ${beforeSeq}`;
  return selectRowsOf(
    db,
    messages,
    sql`${walkUp(tipId, older, limit)} select * from path where ${olderInPath} order by seq desc limit ${limit}`,
  );
}

/** The whole path from the root to `tipId`, oldest first (export). */
export function wholePath(db: Executor, tipId: string): Promise<MessageRow[]> {
  return selectRowsOf(db, messages, sql`${walkUp(tipId, sql`true`, undefined)} select * from path order by seq asc`);
}

/**
 * The turns before `reply` on its path that can serve as its context, newest first, at most
 * `maxTurns`: the prompts, and the model's finished replies (failed and unfinished ones have nothing
 * to say). Sibling branches are never on the path.
 */
export async function contextTurnsBefore(
  db: Executor,
  reply: Pick<MessageRow, 'id' | 'seq'>,
  maxTurns: number,
): Promise<Pick<MessageRow, 'role' | 'content'>[]> {
  const usable = sql`m.seq < ${reply.seq} and (m.role = 'user' or m.status = 'done')`;
  const rows = await executeRaw(
    db,
    sql`${walkUp(reply.id, usable, maxTurns)}
      select role, content from path where seq < ${reply.seq} and (role = 'user' or status = 'done') order by seq desc limit ${maxTurns}`,
  );
  return rows.map((row) => ({ role: row.role === 'model' ? 'model' : 'user', content: String(row.content) }));
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
    select * from subtree order by seq desc limit 1`,
  );
  return row;
}
