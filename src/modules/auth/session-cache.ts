import type { FastifyBaseLogger } from 'fastify';
import { LRUCache } from 'lru-cache';
import type { Broadcast } from '../../infra/broadcast.js';
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
/** How often an announcement that could not be published is tried again. */
const RETRY_MS = 500;

/**
 * Authenticating every request against PostgreSQL cost a query per request. This keeps the answer in
 * the process for a short while, and stays exactly as strict:
 *
 * - Every change to a session, its user or the user's subscriptions is announced to every process
 *   (`sessionEnded`, `accountChanged`, after its transaction commits); each drops what it holds at once.
 *   An announcement that cannot be published is tried again until the copies it covers have aged out.
 * - The announcements travel by Broadcast. While this process is not subscribed (Redis unreachable,
 *   reconnecting) nothing is served from the cache, and after each (re)subscription it is emptied,
 *   since whatever was announced meanwhile is lost.
 * - An answer read from the database while an announcement arrived is not kept (it may predate the
 *   change): every announcement moves `epoch` on, and `remember` stores only under the epoch it began in.
 * - Nothing is trusted past its `validUntil` or `ttlMs`, whichever comes first.
 */
export function createSessionCache({ broadcast, ttlMs, maxEntries = 10_000, log }: Deps) {
  const entries = new LRUCache<string, LiveSession & { trustedUntil: number }>({ max: maxEntries });
  let epoch = 0;
  let listening = false;

  function forget(message: string) {
    epoch++;
    const [kind, id] = [message.slice(0, 2), message.slice(2)];
    if (kind === 's:') entries.delete(id);
    else if (kind === 'u:') for (const [sessionId, entry] of entries) if (entry.user.id === id) entries.delete(sessionId);
  }

  // Subscribed on first use, so that a process that never authenticates (a worker) holds no subscription.
  function listen() {
    if (listening) return;
    listening = true;
    broadcast.subscribe(CHANNEL, forget);
    broadcast.onGap(() => {
      epoch++;
      entries.clear();
    });
  }

  /** Announcements that could not be published: tried again until every copy they cover has aged out. */
  const unannounced = new Map<string, number>();
  let retryTimer: NodeJS.Timeout | undefined;

  function retryLater() {
    if (retryTimer !== undefined || unannounced.size === 0) return;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      void (async () => {
        // Over a copy: one that fails again waits for the next round instead of being tried at once.
        for (const [message, until] of [...unannounced]) {
          if (until > Date.now()) await publish(message, until);
          else unannounced.delete(message);
        }
        retryLater();
      })();
    }, RETRY_MS);
    retryTimer.unref();
  }

  async function publish(message: string, until: number) {
    try {
      await broadcast.publish(CHANNEL, message);
      unannounced.delete(message);
    } catch (error) {
      // Other processes keep their copy until it is told or ages out (ttlMs), unless their own connection fails too.
      if (!unannounced.has(message)) log.error({ err: error }, 'could not announce a session change to other processes; trying again until their copies age out');
      unannounced.set(message, until);
      retryLater();
    }
  }

  async function announce(message: string) {
    forget(message); // here at once, whatever happens to the broadcast
    await publish(message, Date.now() + ttlMs);
  }

  return {
    /** The session if it is held, trusted and still valid at `now`. */
    lookup(sessionId: string, now: Date): LiveSession | undefined {
      if (ttlMs === 0) return undefined;
      listen();
      if (!broadcast.live) return undefined;
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
    epoch: () => epoch,

    /** Keeps a database answer, unless something changed since `readEpoch` or nothing can be trusted now. */
    remember(session: LiveSession, readEpoch: number, now: Date): void {
      if (ttlMs === 0 || readEpoch !== epoch || !broadcast.live) return;
      entries.set(session.sessionId, { ...session, user: Object.freeze({ ...session.user }), trustedUntil: now.getTime() + ttlMs });
    },

    sessionEnded: (sessionId: string) => announce(`s:${sessionId}`),
    /** The user's sessions, profile or tier changed: every cached session of theirs goes. */
    accountChanged: (userId: string) => announce(`u:${userId}`),
  };
}
