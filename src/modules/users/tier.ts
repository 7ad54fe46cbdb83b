import { eq, sql, type SQL } from 'drizzle-orm';
import type { PgColumn } from 'drizzle-orm/pg-core';
import type { Executor } from '../../infra/db/client.js';
import { subscriptions, users } from '../../infra/db/schema.js';

/*
 * A user's plan is a property of the user, read wherever the user is (every authenticated request,
 * the allowance, the send), so it lives here, below auth and billing. It is derived from the
 * subscriptions billing records; billing writes them and reads the rule from here, never the reverse.
 */

export type Tier = 'basic' | 'pro';

/** active and trialing are Pro; past_due stays Pro until the paid period ends; everything else is Basic. */
export function grantsPro(row: { status: string; currentPeriodEnd: Date | null }, now: Date): boolean {
  if (row.status === 'active' || row.status === 'trialing') return true;
  return row.status === 'past_due' && row.currentPeriodEnd !== null && row.currentPeriodEnd > now;
}

/** The same rule in SQL, for the query that authenticates every request. */
export const tierOf = (userId: PgColumn | SQL, now: Date) => sql<Tier>`case when exists (
  select 1 from ${subscriptions} s where s.user_id = ${userId}
    and (s.status in ('active', 'trialing') or (s.status = 'past_due' and s.current_period_end > ${now.toISOString()}::timestamptz))
) then 'pro' else 'basic' end`;

/** When the tier that `tierOf` gives changes without any event: the earliest end of a past_due period still running. */
export const tierChangesAt = (userId: PgColumn | SQL, now: Date) =>
  sql<Date | null>`(
  select min(s.current_period_end) from ${subscriptions} s
  where s.user_id = ${userId} and s.status = 'past_due' and s.current_period_end > ${now.toISOString()}::timestamptz
)`.mapWith(subscriptions.currentPeriodEnd);

export async function findTier(db: Executor, userId: string, now: Date): Promise<Tier> {
  const [row] = await db.select({ tier: tierOf(users.id, now) }).from(users).where(eq(users.id, userId));
  return row?.tier ?? 'basic';
}
