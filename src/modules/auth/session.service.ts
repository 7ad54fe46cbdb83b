import type { FastifyBaseLogger } from 'fastify';
import type { Database, Executor } from '../../infra/db/client.js';
import type { Clock } from '../../infra/clock.js';
import { AppError } from '../../http/app-error.js';
import { toUserDto, type UserDto } from '../users/user.presenter.js';
import type { Account, UserRow } from '../users/user.repository.js';
import { findTier } from '../users/tier.js';
import type { AccessTokenCodec } from './access-token.js';
import type { SessionCache } from './session-cache.js';
import { generateRefreshToken, hashRefreshToken } from './secrets.js';
import {
  extendSession,
  findLiveSession,
  findSessionOfRefreshToken,
  insertRefreshToken,
  insertSession,
  revokeSession,
  lockLiveSession,
  revokeUserSessions,
  spendRefreshToken,
} from './session.repository.js';

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
  user: UserDto;
}

/** Who is calling: set on the request by the auth hook. */
export interface AuthContext {
  user: Account;
  sessionId: string;
}

type Deps = {
  database: Pick<Database, 'db' | 'transaction'>;
  accessTokens: AccessTokenCodec;
  cache: Pick<SessionCache, 'lookup' | 'epoch' | 'remember' | 'sessionEnded' | 'accountChanged'>;
  refreshTtlSeconds: number;
  clock: Clock;
  log: FastifyBaseLogger;
};

const unauthorized = (detail = 'The access token is missing, invalid, expired or revoked') =>
  new AppError('UNAUTHORIZED', 401, detail);

export type SessionService = ReturnType<typeof createSessionService>;

export function createSessionService({ database, accessTokens, cache, refreshTtlSeconds, clock, log }: Deps) {
  const expiryFrom = (now: Date) => new Date(now.getTime() + refreshTtlSeconds * 1000);

  async function issuePair(db: Executor, user: UserRow, sessionId: string, now: Date): Promise<TokenPair> {
    const refreshToken = generateRefreshToken();
    await insertRefreshToken(db, sessionId, hashRefreshToken(refreshToken), now);
    return {
      accessToken: accessTokens.sign({ sub: user.id, sid: sessionId }, now),
      refreshToken,
      tokenType: 'Bearer',
      expiresIn: accessTokens.ttlSeconds,
      user: toUserDto({ ...user, tier: await findTier(db, user.id, now) }),
    };
  }

  return {
    /** A new login. Pass the transaction when it must stand or fall with other writes. */
    async start(db: Executor, user: UserRow): Promise<TokenPair> {
      const now = clock.now();
      const session = await insertSession(db, user.id, now, expiryFrom(now));
      return issuePair(db, user, session.id, now);
    },

    /** Each refresh token is good once. Presenting a spent one means it leaked: the session ends. */
    async refresh(refreshToken: string): Promise<TokenPair> {
      const tokenHash = hashRefreshToken(refreshToken);
      const now = clock.now();
      const outcome = await database.transaction(async (tx) => {
        const sessionId = await spendRefreshToken(tx, tokenHash, now);
        if (sessionId === undefined) {
          const spentIn = await findSessionOfRefreshToken(tx, tokenHash);
          if (spentIn !== undefined) await revokeSession(tx, spentIn, 'refresh_token_reused', now);
          return { reusedIn: spentIn };
        }
        const live = await findLiveSession(tx, sessionId, now);
        if (!live) return {};
        await extendSession(tx, sessionId, expiryFrom(now));
        return { pair: await issuePair(tx, live.user, sessionId, now) };
      });
      if (outcome.pair) return outcome.pair;
      if (outcome.reusedIn !== undefined) {
        log.warn({ sessionId: outcome.reusedIn }, 'spent refresh token presented again: session revoked');
        await cache.sessionEnded(outcome.reusedIn);
      }
      throw unauthorized('The refresh token is invalid, expired, spent or revoked');
    },

    async authenticate(authorization: string | undefined): Promise<AuthContext> {
      const match = /^Bearer ([A-Za-z0-9._~+/=-]+)$/i.exec(authorization ?? ''); // the scheme is case-insensitive (RFC 9110)
      if (!match?.[1]) throw unauthorized('Send the access token as: Authorization: Bearer <accessToken>');
      const now = clock.now();
      const claims = accessTokens.verify(match[1], now);
      if (!claims) throw unauthorized();
      const cached = cache.lookup(claims.sid, now);
      if (cached) {
        if (cached.user.id !== claims.sub) throw unauthorized();
        return { user: cached.user, sessionId: cached.sessionId };
      }
      const readEpoch = cache.epoch();
      const live = await findLiveSession(database.db, claims.sid, now);
      if (live?.user.id !== claims.sub) throw unauthorized();
      cache.remember({ sessionId: live.session.id, user: live.user, validUntil: live.validUntil }, readEpoch, now);
      return { user: live.user, sessionId: live.session.id };
    },

    /** Inside a transaction: 401 unless the caller's session is still live (locked until commit). */
    async requireLive(db: Executor, sessionId: string): Promise<void> {
      if (!(await lockLiveSession(db, sessionId, clock.now()))) throw unauthorized();
    },

    /**
     * Ends every session of the user: their refresh and access tokens stop working once the
     * transaction commits and `accountChanged` has told every process.
     */
    async endAll(db: Executor, userId: string, reason: string): Promise<void> {
      await revokeUserSessions(db, userId, reason, clock.now());
    },

    async end(sessionId: string, reason: string): Promise<void> {
      await revokeSession(database.db, sessionId, reason, clock.now());
      await cache.sessionEnded(sessionId);
    },

    /**
     * After a committed change to a user's sessions, profile or subscriptions: every process stops
     * serving what it knew of them, so the next request reads the change.
     */
    accountChanged: (userId: string): Promise<void> => cache.accountChanged(userId),
  };
}
