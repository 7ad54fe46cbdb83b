import { and, eq } from 'drizzle-orm';
import type { Executor } from '../../infra/db/client.js';
import { idempotencyKeys } from '../../infra/db/schema.js';

export type IdempotencyRow = typeof idempotencyKeys.$inferSelect;

/**
 * Claims the key for this request. On PostgreSQL a concurrent claim of the same key waits for the
 * first transaction and then finds the key taken. False = a request with this key came before.
 */
export async function claimIdempotencyKey(db: Executor, userId: string, key: string, requestHash: string, now: Date): Promise<boolean> {
  const rows = await db
    .insert(idempotencyKeys)
    .values({ userId, key, requestHash, createdAt: now })
    .onConflictDoNothing()
    .returning({ key: idempotencyKeys.key });
  return rows.length > 0;
}

export async function findIdempotencyKey(db: Executor, userId: string, key: string): Promise<IdempotencyRow | undefined> {
  const [row] = await db
    .select()
    .from(idempotencyKeys)
    .where(and(eq(idempotencyKeys.userId, userId), eq(idempotencyKeys.key, key)));
  return row;
}

export async function recordIdempotentOutcome(db: Executor, userId: string, key: string, userMessageId: string, replyId: string) {
  await db
    .update(idempotencyKeys)
    .set({ userMessageId, replyId })
    .where(and(eq(idempotencyKeys.userId, userId), eq(idempotencyKeys.key, key)));
}
