import { and, eq, gt, isNull, lt, lte, sql } from 'drizzle-orm';
import type { Executor } from '../../infra/db/client.js';
import { otpCodes } from '../../infra/db/schema.js';

export type OtpPurpose = (typeof otpCodes.$inferSelect)['purpose'];
export type OtpRow = typeof otpCodes.$inferSelect;

export interface NewOtp {
  userId: string;
  purpose: OtpPurpose;
  codeHash: string;
  sentAt: Date;
  expiresAt: Date;
}

/**
 * Replaces the user's code for this purpose unless the last one was sent after `cooldownCutoff`.
 * One statement, so two racing sends cannot both pass the cooldown. False = still cooling down.
 */
export async function replaceOtpUnlessCoolingDown(db: Executor, otp: NewOtp, cooldownCutoff: Date): Promise<boolean> {
  const rows = await db
    .insert(otpCodes)
    .values({ ...otp, attempts: 0 })
    .onConflictDoUpdate({
      target: [otpCodes.userId, otpCodes.purpose],
      set: {
        codeHash: otp.codeHash,
        sentAt: otp.sentAt,
        expiresAt: otp.expiresAt,
        attempts: 0,
        consumedAt: null,
      },
      setWhere: lte(otpCodes.sentAt, cooldownCutoff),
    })
    .returning({ id: otpCodes.id });
  return rows.length > 0;
}

export async function findOtp(db: Executor, userId: string, purpose: OtpPurpose): Promise<OtpRow | undefined> {
  const [row] = await db
    .select()
    .from(otpCodes)
    .where(and(eq(otpCodes.userId, userId), eq(otpCodes.purpose, purpose)));
  return row;
}

/**
 * Spends one try on the live code before it is compared, so parallel guesses cannot exceed the limit.
 * Undefined when there is no live code with tries left.
 */
export async function claimOtpAttempt(
  db: Executor,
  userId: string,
  purpose: OtpPurpose,
  maxAttempts: number,
  now: Date,
): Promise<OtpRow | undefined> {
  const [row] = await db
    .update(otpCodes)
    .set({ attempts: sql`${otpCodes.attempts} + 1` })
    .where(
      and(
        eq(otpCodes.userId, userId),
        eq(otpCodes.purpose, purpose),
        isNull(otpCodes.consumedAt),
        gt(otpCodes.expiresAt, now),
        lt(otpCodes.attempts, maxAttempts),
      ),
    )
    .returning();
  return row;
}

/** False when another request used the code first. */
export async function consumeOtp(db: Executor, id: string, now: Date): Promise<boolean> {
  const rows = await db
    .update(otpCodes)
    .set({ consumedAt: now })
    .where(and(eq(otpCodes.id, id), isNull(otpCodes.consumedAt)))
    .returning({ id: otpCodes.id });
  return rows.length > 0;
}
