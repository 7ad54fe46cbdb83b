import { randomBytes } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { Cache } from '../../infra/cache.js';
import { withTimeout } from '../../infra/deadline.js';

type Deps = {
  cache: Cache;
  ttlSeconds: number;
  timeoutMs: number;
  log: FastifyBaseLogger;
  /** How often a failed invalidation is tried again in the background. */
  retryIntervalMs?: number;
};

export type ChatroomListCache = ReturnType<typeof createChatroomListCache>;

/**
 * Per-user cache of `GET /chatroom` pages, kept as the JSON text of the response (a hit is sent as
 * it is stored, never parsed and serialised again). Each user has a version token; a change to the
 * user's chatrooms writes a new token, which orphans every cached page of that user at once. A page
 * is stored with the version it was read under, and found together with the current version in ONE
 * round trip (MGET); it counts only if the two match. A version that is missing (expired, evicted)
 * is replaced by a fresh random one, never reset to an old value, so a page cached under an earlier
 * version can never come back.
 *
 * The cache is an optimisation, never a source of errors: a failing or slow store reads as a miss
 * and is logged, and the caller falls back to the database.
 *
 * An invalidation that fails must not leave the owner looking at a stale list for up to the TTL: the
 * user is remembered as pending, every lookup for them is a miss (and nothing is stored) until an
 * invalidation succeeds, which is tried again at each of their lookups and every `retryIntervalMs` in
 * the background (so other api instances, which share the store, stop serving the stale pages as soon
 * as the store is back). After the version's lifetime every stale page has expired anyway.
 */
export function createChatroomListCache({ cache, ttlSeconds, timeoutMs, log, retryIntervalMs = 1000 }: Deps) {
  const versionKey = (userId: string) => `chatrooms:${userId}:version`;
  const newVersion = () => randomBytes(6).toString('base64url');
  // The version outlives the pages stored under it, so that none of them can match a version created after.
  const versionTtlSeconds = ttlSeconds * 2;

  async function guarded<T>(operation: string, work: () => Promise<T>): Promise<T | undefined> {
    try {
      return await withTimeout(work(), timeoutMs, 'the cache');
    } catch (error) {
      log.warn({ err: error, operation, cache: cache.kind }, 'chatroom list cache unavailable; using the database');
      return undefined;
    }
  }

  const pageKey = (userId: string, page: string) => `chatrooms:${userId}:page:${page}`;
  /** What a page entry holds: the version it was read under, a newline, the page's JSON. */
  const entryOf = (version: string, json: string) => `${version}\n${json}`;
  function pageOf(entry: string | undefined, version: string): string | undefined {
    if (entry === undefined) return undefined;
    const newline = entry.indexOf('\n');
    return newline > 0 && entry.slice(0, newline) === version ? entry.slice(newline + 1) : undefined;
  }

  /** A version for a user who has none (yet, or any more): only one reader may create it, and both use the winner. */
  async function createVersion(userId: string): Promise<string> {
    const fresh = newVersion();
    if (await cache.add(versionKey(userId), fresh, versionTtlSeconds)) return fresh;
    return (await cache.get(versionKey(userId))) ?? fresh;
  }

  /** Users whose last invalidation failed, with when their stale pages have expired for sure. */
  const pending = new Map<string, number>();
  let retryTimer: NodeJS.Timeout | undefined;

  async function invalidateNow(userId: string): Promise<boolean> {
    const done = await guarded('invalidate', async () => {
      await cache.set(versionKey(userId), newVersion(), versionTtlSeconds);
      return true;
    });
    if (done) pending.delete(userId);
    else if (!pending.has(userId)) pending.set(userId, Date.now() + versionTtlSeconds * 1000);
    scheduleRetry();
    return done === true;
  }

  function scheduleRetry() {
    if (retryTimer !== undefined || pending.size === 0) return;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      void retryPending();
    }, retryIntervalMs);
    retryTimer.unref(); // never what keeps a process alive
  }

  async function retryPending() {
    for (const [userId, staleUntil] of pending) {
      if (staleUntil <= Date.now()) pending.delete(userId);
      else await invalidateNow(userId);
    }
    scheduleRetry();
  }

  /** False while the user's last invalidation has not gone through: their cached pages may be stale. */
  async function isTrustworthy(userId: string): Promise<boolean> {
    const staleUntil = pending.get(userId);
    if (staleUntil === undefined) return true;
    if (staleUntil <= Date.now()) {
      pending.delete(userId);
      return true;
    }
    return invalidateNow(userId);
  }

  return {
    /**
     * Looks a page up. On a miss, `store` caches the page read from the database under the version
     * seen *before* that read: if a change lands in between, the page goes under the old version,
     * where nobody looks, instead of passing for fresh.
     */
    lookup: async (userId: string, page: string): Promise<{ hit: string | undefined; store(json: string): Promise<void> }> => {
      if (!(await isTrustworthy(userId))) return { hit: undefined, store: () => Promise.resolve() };
      const found = await guarded('get', async () => {
        const [version, entry] = await cache.getMany([versionKey(userId), pageKey(userId, page)]);
        if (version === undefined) return { version: await createVersion(userId), json: undefined };
        return { version, json: pageOf(entry, version) };
      });
      const version = found?.version;
      return {
        hit: found?.json,
        store: async (json) => {
          if (version === undefined) return; // the cache was down a moment ago: do not write either
          await guarded('set', () => cache.set(pageKey(userId, page), entryOf(version, json), ttlSeconds));
        },
      };
    },

    /** After any change to the user's chatrooms, once it is committed. Never throws. */
    invalidate: async (userId: string): Promise<void> => {
      await invalidateNow(userId);
    },
  };
}
