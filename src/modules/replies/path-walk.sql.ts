import { sql, type SQL } from 'drizzle-orm';

/**
 * The path of a conversation: from a message up through its parents to the root, as the `with
 * recursive path` that starts a query. Every query that walks it does so one primary-key lookup per
 * step and stops as soon as it has what it needs, so that the cost follows the rows asked for, not
 * the length of the chat. Each step is a LATERAL subquery with `limit 1`, which the planner cannot
 * flatten into a join: as a join it chose to scan the whole table at every step while the table was
 * small or its statistics stale (a 600-message chat cost 55 ms per walk; this way, 0.6 ms).
 *
 * `counted` is a condition on the row `m`; the walk stops once `limit` rows that meet it are in
 * (undefined: walk to the root). The result is a relation `path` with the columns of `messages`.
 */
export function walkUp(tipId: string, counted: SQL, limit: number | undefined): SQL {
  const more = limit === undefined ? sql`true` : sql`path.counted < ${limit}`;
  return sql`with recursive path as (
    select m.*, (${counted})::int as counted from messages m where m.id = ${tipId}
    union all
    select m.*, path.counted + (${counted})::int
    from path cross join lateral (select * from messages where messages.id = path.parent_id limit 1) m
    where ${more}
  )`;
}
