import { and, eq, gt, sql, type SQL } from 'drizzle-orm';
import type { Executor } from '../../infra/db/client.js';
import { dailyUsage } from '../../infra/db/schema.js';
import type { Tier } from '../users/tier.js';

export interface AllowancePolicy {
  /** Prompts a day; null = unlimited. */
  limitFor(tier: Tier): number | null;
}

export const allowancePolicy = ({ basicDailyLimit, proDailyLimit }: { basicDailyLimit: number; proDailyLimit: number }): AllowancePolicy => ({
  limitFor: (tier) => (tier === 'pro' ? (proDailyLimit === 0 ? null : proDailyLimit) : basicDailyLimit),
});

/** Allowances reset at 00:00 UTC. */
export const usageDay = (now: Date) => now.toISOString().slice(0, 10);
export const nextReset = (now: Date) => new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1));

export interface AllowanceState {
  used: number;
  limit: number | null;
  remaining: number | null;
  resetsAt: Date;
}

export const allowanceState = (used: number, limit: number | null, now: Date): AllowanceState => ({
  used,
  limit,
  remaining: limit === null ? null : Math.max(0, limit - used),
  resetsAt: nextReset(now),
});

/**
 * The statement that spends one prompt of `day`: the row is created or incremented only while
 * `used < limit` (`limit` null = unlimited), so parallel requests can never spend past the limit. It
 * returns `used` after spending, or no row when the allowance is used up. `when` is a further
 * condition for spending at all: a send spends in the statement that locks its chatroom, if it has one.
 */
export const spendOneStatement = (userId: string, day: string, limit: number | null, when: SQL = sql`true`): SQL =>
  sql`insert into daily_usage (user_id, day, used) select ${userId}::uuid, ${day}::date, 1 where ${when}
    on conflict (user_id, day) do update set used = daily_usage.used + 1
      where ${limit}::int is null or daily_usage.used < ${limit}::int
    returning used`;

/** Gives one prompt back to `day` (a reply that failed for good). The caller makes sure it happens once. */
export async function refundPrompt(db: Executor, userId: string, day: string): Promise<void> {
  await db
    .update(dailyUsage)
    .set({ used: sql`${dailyUsage.used} - 1` })
    .where(and(eq(dailyUsage.userId, userId), eq(dailyUsage.day, day), gt(dailyUsage.used, 0)));
}

export async function promptsUsed(db: Executor, userId: string, day: string): Promise<number> {
  const [row] = await db
    .select({ used: dailyUsage.used })
    .from(dailyUsage)
    .where(and(eq(dailyUsage.userId, userId), eq(dailyUsage.day, day)));
  return row?.used ?? 0;
}
