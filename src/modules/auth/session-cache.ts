import type { FastifyBaseLogger } from 'fastify';
import { LRUCache } from 'lru-cache';
import type { Broadcast } from '../../infra/broadcast.js';
import { createInvalidations } from '../../infra/invalidations.js';
import type { Account } from '../users/user.repository.js';

/** A live session and its user as the database answered, and until when that answer may stand. */
export interface LiveSession {
  sessionId: string;
  user: Readonly<Account>;
  /** The session's expiry, or the moment the user's tier changes on its own (a past_due period ending), if sooner. */
  validUntil: Date;
}

type Deps = {
  broadcast: Broadcast;
  /** How long an answer is trusted at most, even without news: the bound if a message is ever lost. 0 = no cache. */
  ttlMs: number;
  maxEntries?: number;
  log: FastifyBaseLogger;
};

export type SessionCache = ReturnType<typeof createSessionCache>;

const CHANNEL = 'sessions';

/**
 * Authenticating every request against PostgreSQL cost a query per request. This keeps the answer in
 * the process for a short while, and stays exactly as strict: every change to a session, its user or
 * the user's subscriptions is announced to every process (`sessionEnded`, `accountChanged`, after its
 * transaction commits), and infra/invalidations.ts keeps the copies true to those announcements.
 * Nothing is trusted past its `validUntil` or `ttlMs`, whichever comes first.
 */
export function createSessionCache({ broadcast, ttlMs, maxEntries = 10_000, log }: Deps) {
  const entries = new LRUCache<string, LiveSession & { trustedUntil: number }>({ max: maxEntries });
  const invalidations = createInvalidations({
    broadcast,
    channel: CHANNEL,
    what: 'a session change',
    log,
    drop(message) {
      const [kind, id] = [message.slice(0, 2), message.slice(2)];
      if (kind === 's:') entries.delete(id);
      else if (kind === 'u:') for (const [sessionId, entry] of entries) if (entry.user.id === id) entries.delete(sessionId);
    },
    dropAll: () => entries.clear(),
  });
  const announce = (message: string) => invalidations.announce(message, ttlMs);

  return {
    /** The session if it is held, trusted and still valid at `now`. */
    lookup(sessionId: string, now: Date): LiveSession | undefined {
      if (ttlMs === 0) return undefined;
      invalidations.listen();
      if (!invalidations.live) return undefined;
      const entry = entries.get(sessionId);
      if (!entry) return undefined;
      const at = now.getTime();
      if (entry.trustedUntil <= at || entry.validUntil.getTime() <= at) {
        entries.delete(sessionId);
        return undefined;
      }
      return entry;
    },

    /** Call before reading the database; pass what it returned to `remember`. */
    epoch: invalidations.epoch,

    /** Keeps a database answer, unless something changed since `readEpoch` or nothing can be trusted now. */
    remember(session: LiveSession, readEpoch: number, now: Date): void {
      if (ttlMs === 0 || readEpoch !== invalidations.epoch() || !invalidations.live) return;
      entries.set(session.sessionId, { ...session, user: Object.freeze({ ...session.user }), trustedUntil: now.getTime() + ttlMs });
    },

    sessionEnded: (sessionId: string) => announce(`s:${sessionId}`),
    /** The user's sessions, profile or tier changed: every cached session of theirs goes. */
    accountChanged: (userId: string) => announce(`u:${userId}`),
  };
}
