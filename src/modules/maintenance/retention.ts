import { and, isNotNull, isNull, lt, or } from 'drizzle-orm';
import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../../infra/clock.js';
import type { Database } from '../../infra/db/client.js';
import type { FileService } from '../files/file.service.js';
import { idempotencyKeys, otpCodes, refreshTokens, sessions, stripeEvents, users } from '../../infra/db/schema.js';

const HOUR_MS = 3600_000;
const DAY_MS = 24 * HOUR_MS;

/**
 * How long rows are kept once they are past use, and why (README "Data retention").
 * - Idempotency keys: a client retries a POST within seconds or minutes; a day covers any sane retry.
 * - Stripe event ids: Stripe retries a delivery for up to 3 days; 30 days leaves room for a replay by hand.
 * - Sessions: 7 days after they expired or were revoked (their refresh tokens go with them).
 * - Spent refresh tokens of live sessions: once older than the refresh lifetime they are past any
 *   replay worth detecting.
 * - OTP codes: an hour after they expired (used or not).
 * - Numbers signed up and never proved: 7 days (they cannot log in; signing up again starts over).
 */
export interface RetentionPeriods {
  idempotencyKeysMs: number;
  stripeEventsMs: number;
  endedSessionsMs: number;
  spentRefreshTokensMs: number;
  expiredOtpMs: number;
  unprovedUsersMs: number;
}

export const retentionPeriods = (refreshTtlSeconds: number): RetentionPeriods => ({
  idempotencyKeysMs: DAY_MS,
  stripeEventsMs: 30 * DAY_MS,
  endedSessionsMs: 7 * DAY_MS,
  spentRefreshTokensMs: refreshTtlSeconds * 1000,
  expiredOtpMs: HOUR_MS,
  unprovedUsersMs: 7 * DAY_MS,
});

export type RetentionCounts = Record<'idempotencyKeys' | 'stripeEvents' | 'sessions' | 'refreshTokens' | 'otpCodes' | 'unprovedUsers', number>;

/** Deletes what is past use, one statement per table. */
export async function sweepRetention(database: Pick<Database, 'db'>, periods: RetentionPeriods, now: Date): Promise<RetentionCounts> {
  const { db } = database;
  const before = (ms: number) => new Date(now.getTime() - ms);
  const count = (rows: unknown[]) => rows.length;
  return {
    idempotencyKeys: count(
      await db.delete(idempotencyKeys).where(lt(idempotencyKeys.createdAt, before(periods.idempotencyKeysMs))).returning({ key: idempotencyKeys.key }),
    ),
    stripeEvents: count(await db.delete(stripeEvents).where(lt(stripeEvents.receivedAt, before(periods.stripeEventsMs))).returning({ id: stripeEvents.id })),
    sessions: count(
      await db
        .delete(sessions)
        .where(or(lt(sessions.expiresAt, before(periods.endedSessionsMs)), lt(sessions.revokedAt, before(periods.endedSessionsMs))))
        .returning({ id: sessions.id }),
    ),
    refreshTokens: count(
      await db
        .delete(refreshTokens)
        .where(and(isNotNull(refreshTokens.usedAt), lt(refreshTokens.usedAt, before(periods.spentRefreshTokensMs))))
        .returning({ id: refreshTokens.id }),
    ),
    otpCodes: count(await db.delete(otpCodes).where(lt(otpCodes.expiresAt, before(periods.expiredOtpMs))).returning({ id: otpCodes.id })),
    unprovedUsers: count(
      await db
        .delete(users)
        .where(and(isNull(users.mobileVerifiedAt), lt(users.createdAt, before(periods.unprovedUsersMs))))
        .returning({ id: users.id }),
    ),
  };
}

type Deps = {
  database: Pick<Database, 'db'>;
  clock: Clock;
  log: FastifyBaseLogger;
  periods: RetentionPeriods;
  intervalSeconds: number;
  /** Uploaded files past use: their rows and their bytes (files module). */
  files: Pick<FileService, 'sweep'>;
};

/** Runs the sweep at start and then every `intervalSeconds` (the worker role). */
export function startRetention({ database, clock, log, periods, intervalSeconds, files }: Deps): { stop(): void } {
  const sweep = async () => {
    try {
      const deleted = { ...(await sweepRetention(database, periods, clock.now())), ...(await files.sweep()) };
      if (Object.values(deleted).some((n) => n > 0)) log.info({ deleted }, 'retention: removed rows past use');
    } catch (error) {
      log.error({ err: error }, 'retention sweep failed; will try again');
    }
  };
  void sweep();
  const timer = setInterval(() => void sweep(), intervalSeconds * 1000);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
