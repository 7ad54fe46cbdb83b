import { and, desc, eq, gt, inArray, isNull, lt, lte, ne, sql } from 'drizzle-orm';
import type { Executor } from '../../infra/db/client.js';
import { otpCodes } from '../../infra/db/schema.js';

export type OtpPurpose = (typeof otpCodes.$inferSelect)['purpose'];
export type OtpRow = typeof otpCodes.$inferSelect;

export interface NewOtp {
  userId: string;
  purpose: OtpPurpose;
  requestedFrom: string;
  codeHash: string;
  sentAt: Date;
  expiresAt: Date;
  pendingPasswordHash: string | null;
  pendingEmail: string | null;
}

/**
 * Replaces the code this address holds for the user and purpose unless it was sent after
 * `cooldownCutoff`. One statement, so two racing sends cannot both pass the cooldown. Codes other
 * addresses hold are untouched. False = still cooling down.
 */
export async function replaceOtpUnlessCoolingDown(db: Executor, otp: NewOtp, cooldownCutoff: Date): Promise<boolean> {
  const rows = await db
    .insert(otpCodes)
    .values({ ...otp, attempts: 0 })
    .onConflictDoUpdate({
      target: [otpCodes.userId, otpCodes.purpose, otpCodes.requestedFrom],
      set: {
        codeHash: otp.codeHash,
        sentAt: otp.sentAt,
        expiresAt: otp.expiresAt,
        attempts: 0,
        consumedAt: null,
        pendingPasswordHash: otp.pendingPasswordHash,
        pendingEmail: otp.pendingEmail,
      },
      setWhere: lte(otpCodes.sentAt, cooldownCutoff),
    })
    .returning({ id: otpCodes.id });
  return rows.length > 0;
}

export async function findOtpOf(db: Executor, userId: string, purpose: OtpPurpose, requestedFrom: string): Promise<OtpRow | undefined> {
  const [row] = await db
    .select()
    .from(otpCodes)
    .where(and(eq(otpCodes.userId, userId), eq(otpCodes.purpose, purpose), eq(otpCodes.requestedFrom, requestedFrom)));
  return row;
}

export async function findOtpsOf(db: Executor, userId: string, purposes: OtpPurpose[], requestedFrom: string): Promise<OtpRow[]> {
  return db
    .select()
    .from(otpCodes)
    .where(and(eq(otpCodes.userId, userId), inArray(otpCodes.purpose, purposes), eq(otpCodes.requestedFrom, requestedFrom)));
}

const isLive = (now: Date) => and(isNull(otpCodes.consumedAt), gt(otpCodes.expiresAt, now));

/**
 * Keeps the `keep` newest live codes of the user and purpose and deletes older live ones: it bounds
 * how many codes one guess is compared with. Only a new address's code pushes one out.
 */
export async function trimLiveOtps(db: Executor, userId: string, purpose: OtpPurpose, keep: number, now: Date): Promise<void> {
  const surplus = await db
    .select({ id: otpCodes.id })
    .from(otpCodes)
    .where(and(eq(otpCodes.userId, userId), eq(otpCodes.purpose, purpose), isLive(now)))
    .orderBy(desc(otpCodes.sentAt))
    .offset(keep);
  if (surplus.length > 0) await db.delete(otpCodes).where(inArray(otpCodes.id, surplus.map((row) => row.id)));
}

/**
 * Spends one try on the live codes this address asked for, before any comparison, so parallel
 * guesses cannot exceed the limit. Returns the codes that had a try left.
 */
export async function claimOtpAttempts(
  db: Executor,
  userId: string,
  purposes: OtpPurpose[],
  requestedFrom: string,
  maxAttempts: number,
  now: Date,
): Promise<OtpRow[]> {
  return db
    .update(otpCodes)
    .set({ attempts: sql`${otpCodes.attempts} + 1` })
    .where(
      and(
        eq(otpCodes.userId, userId),
        inArray(otpCodes.purpose, purposes),
        eq(otpCodes.requestedFrom, requestedFrom),
        isLive(now),
        lt(otpCodes.attempts, maxAttempts),
      ),
    )
    .returning();
}

/** Live codes other addresses asked for that still have tries left: a code works from any address. */
export async function findOtherLiveOtps(
  db: Executor,
  userId: string,
  purposes: OtpPurpose[],
  requestedFrom: string,
  maxAttempts: number,
  now: Date,
): Promise<OtpRow[]> {
  return db
    .select()
    .from(otpCodes)
    .where(
      and(
        eq(otpCodes.userId, userId),
        inArray(otpCodes.purpose, purposes),
        ne(otpCodes.requestedFrom, requestedFrom),
        isLive(now),
        lt(otpCodes.attempts, maxAttempts),
      ),
    );
}

/** False when another request used the code first. */
export async function consumeOtp(db: Executor, id: string, now: Date): Promise<boolean> {
  const rows = await db
    .update(otpCodes)
    .set({ consumedAt: now, pendingPasswordHash: null, pendingEmail: null })
    .where(and(eq(otpCodes.id, id), isNull(otpCodes.consumedAt)))
    .returning({ id: otpCodes.id });
  return rows.length > 0;
}

/** Once a code of these purposes was used, the user's other codes of them are spent too. */
export async function consumeOtherOtps(db: Executor, userId: string, purposes: OtpPurpose[], now: Date): Promise<void> {
  await db
    .update(otpCodes)
    .set({ consumedAt: now, pendingPasswordHash: null, pendingEmail: null })
    .where(and(eq(otpCodes.userId, userId), inArray(otpCodes.purpose, purposes), isNull(otpCodes.consumedAt)));
}
