import { sql, type SQL } from 'drizzle-orm';
import type { Executor } from '../../infra/db/client.js';
import { executeRaw } from '../../infra/db/raw-rows.js';

/** Where the previous page ended, exactly as the database ordered it (rank as real's text, time to the µs). */
export interface SearchPosition {
  rank: string;
  createdAt: string;
  id: string;
}

export interface SearchRow {
  id: string;
  isTitle: boolean;
  rank: string;
  /** created_at to the microsecond, in UTC (for the cursor). */
  createdAtExact: string;
  createdAt: Date;
  chatroomId: string;
  chatroomTitle: string;
  role: 'user' | 'model' | null;
  /** The message's text, or the title for a title hit. */
  text: string;
}

/**
 * The owner's matches, best first: messages of every branch (message_search, kept by triggers)
 * and chatroom titles. `user_id = $owner` picks the one partition of message_search that holds the
 * owner's rows (hash-partitioned by user_id, migration 0014) and is an index condition of both GIN
 * indexes (btree_gin puts the owner's id beside the lexemes), so the scan itself reads only the
 * owner's entries. Rank is
 * computed for every match (it orders them), from the stored vector; the page's rows alone are then
 * joined to their messages and chatrooms.
 */
export async function searchOwned(db: Executor, userId: string, tsquery: string, limit: number, after?: SearchPosition): Promise<SearchRow[]> {
  const rows = await executeRaw(db, searchStatement(userId, tsquery, limit, after));
  return rows.map((row) => ({
    id: String(row.id),
    isTitle: row.is_title === true,
    rank: String(row.rank),
    createdAtExact: String(row.created_at_exact),
    createdAt: row.created_at instanceof Date ? row.created_at : new Date(String(row.created_at)),
    chatroomId: String(row.chatroom_id),
    chatroomTitle: String(row.chatroom_title),
    role: row.role === 'user' || row.role === 'model' ? row.role : null,
    text: String(row.text),
  }));
}

/** The statement searchOwned runs (the bench explains it as it is). */
export function searchStatement(userId: string, tsquery: string, limit: number, after?: SearchPosition): SQL {
  const query = sql`to_tsquery('chat_search', ${tsquery})`;
  const titleVector = sql`to_tsvector('chat_search', c.title)`;
  return sql`with hits as (
      select s.message_id as id, false as is_title, ts_rank(s.vector, ${query}) as rank, s.created_at
      from message_search s
      where s.user_id = ${userId} and s.vector @@ ${query}
      union all
      select c.id, true, ts_rank(${titleVector}, ${query}), c.created_at
      from chatrooms c
      where c.user_id = ${userId} and ${titleVector} @@ ${query}
    ), page as (
      select * from hits
      ${after ? sql`where (rank, created_at, id) < (${after.rank}::real, ${after.createdAt}::timestamptz, ${after.id}::uuid)` : sql``}
      order by rank desc, created_at desc, id desc
      limit ${limit}
    )
    select page.id, page.is_title, page.rank::text as rank, page.created_at,
      to_char(page.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as created_at_exact,
      c.id as chatroom_id, c.title as chatroom_title, m.role, coalesce(m.content, c.title) as text
    from page
    left join messages m on not page.is_title and m.id = page.id
    join chatrooms c on c.id = coalesce(m.chatroom_id, page.id) and c.user_id = ${userId}
    order by page.rank desc, page.created_at desc, page.id desc`;
}
