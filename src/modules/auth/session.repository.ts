import { and, eq, gt, isNull } from 'drizzle-orm';
import type { Executor } from '../../infra/db/client.js';
import { refreshTokens, sessions, users } from '../../infra/db/schema.js';
import { tierChangesAt, tierOf } from '../users/tier.js';
import type { Account } from '../users/user.repository.js';

export type SessionRow = typeof sessions.$inferSelect;

export async function insertSession(db: Executor, userId: string, now: Date, expiresAt: Date): Promise<SessionRow> {
  const [row] = await db.insert(sessions).values({ userId, createdAt: now, expiresAt }).returning();
  if (!row) throw new Error('insert into sessions returned no row');
  return row;
}

export async function insertRefreshToken(db: Executor, sessionId: string, tokenHash: string, now: Date): Promise<void> {
  await db.insert(refreshTokens).values({ sessionId, tokenHash, createdAt: now });
}

/** Marks the token spent and returns its session; undefined if it is unknown or was spent already. */
export async function spendRefreshToken(db: Executor, tokenHash: string, now: Date): Promise<string | undefined> {
  const [row] = await db
    .update(refreshTokens)
    .set({ usedAt: now })
    .where(and(eq(refreshTokens.tokenHash, tokenHash), isNull(refreshTokens.usedAt)))
    .returning({ sessionId: refreshTokens.sessionId });
  return row?.sessionId;
}

export async function findSessionOfRefreshToken(db: Executor, tokenHash: string): Promise<string | undefined> {
  const [row] = await db
    .select({ sessionId: refreshTokens.sessionId })
    .from(refreshTokens)
    .where(eq(refreshTokens.tokenHash, tokenHash));
  return row?.sessionId;
}

export async function extendSession(db: Executor, sessionId: string, expiresAt: Date): Promise<void> {
  await db.update(sessions).set({ expiresAt }).where(eq(sessions.id, sessionId));
}

export async function revokeSession(db: Executor, sessionId: string, reason: string, now: Date): Promise<void> {
  await db
    .update(sessions)
    .set({ revokedAt: now, revokedReason: reason })
    .where(and(eq(sessions.id, sessionId), isNull(sessions.revokedAt)));
}

export async function revokeUserSessions(db: Executor, userId: string, reason: string, now: Date): Promise<void> {
  await db
    .update(sessions)
    .set({ revokedAt: now, revokedReason: reason })
    .where(and(eq(sessions.userId, userId), isNull(sessions.revokedAt)));
}

/**
 * Locks the session for the rest of the transaction if it is still live. A request racing one that
 * revokes it waits for that transaction, then finds it revoked.
 */
export async function lockLiveSession(db: Executor, sessionId: string, now: Date): Promise<boolean> {
  const rows = await db
    .select({ id: sessions.id })
    .from(sessions)
    .where(and(eq(sessions.id, sessionId), isNull(sessions.revokedAt), gt(sessions.expiresAt, now)))
    .for('update');
  return rows.length > 0;
}

/**
 * The session and its user, if the session is live at `now`, with the moment this answer stops
 * being true on its own: the session's expiry, or the end of a past_due period that keeps the user
 * on Pro, whichever comes first. One query (run when the session cache does not have it).
 */
export async function findLiveSession(
  db: Executor,
  sessionId: string,
  now: Date,
): Promise<{ session: SessionRow; user: Account; validUntil: Date } | undefined> {
  const [row] = await db
    .select({ session: sessions, user: users, tier: tierOf(users.id, now), tierChangesAt: tierChangesAt(users.id, now) })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(and(eq(sessions.id, sessionId), isNull(sessions.revokedAt), gt(sessions.expiresAt, now)));
  if (!row) return undefined;
  const validUntil = row.tierChangesAt !== null && row.tierChangesAt < row.session.expiresAt ? row.tierChangesAt : row.session.expiresAt;
  return { session: row.session, user: { ...row.user, tier: row.tier }, validUntil };
}
