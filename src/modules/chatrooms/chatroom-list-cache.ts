import { randomBytes } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { Cache } from '../../infra/cache.js';
import { withTimeout } from '../../infra/deadline.js';

type Deps = { cache: Cache; ttlSeconds: number; timeoutMs: number; log: FastifyBaseLogger };

export type ChatroomListCache = ReturnType<typeof createChatroomListCache>;

/**
 * Per-user cache of `GET /chatroom` pages. Each user's keys carry a version token; a change to the
 * user's chatrooms writes a new token, which orphans every cached page of that user at once (they
 * expire on their own). A version that is missing (expired, evicted) is replaced by a fresh random
 * one, never reset to an old value, so a page cached under an earlier version can never come back.
 *
 * The cache is an optimisation, never a source of errors: a failing or slow store reads as a miss
 * and is logged, and the caller falls back to the database.
 */
export function createChatroomListCache({ cache, ttlSeconds, timeoutMs, log }: Deps) {
  const versionKey = (userId: string) => `chatrooms:${userId}:version`;
  const newVersion = () => randomBytes(6).toString('base64url');
  // The version outlives the pages it names, so their keys stay reachable for their whole TTL.
  const versionTtlSeconds = ttlSeconds * 2;

  async function guarded<T>(operation: string, work: () => Promise<T>): Promise<T | undefined> {
    try {
      return await withTimeout(work(), timeoutMs, 'the cache');
    } catch (error) {
      log.warn({ err: error, operation, cache: cache.kind }, 'chatroom list cache unavailable; using the database');
      return undefined;
    }
  }

  async function currentVersion(userId: string): Promise<string> {
    const existing = await cache.get(versionKey(userId));
    if (existing) return existing;
    // Two readers may both find no version: only one may create it, and both use the winner.
    const fresh = newVersion();
    if (await cache.add(versionKey(userId), fresh, versionTtlSeconds)) return fresh;
    return (await cache.get(versionKey(userId))) ?? fresh;
  }

  const pageKey = (userId: string, version: string, page: string) => `chatrooms:${userId}:${version}:${page}`;

  return {
    /**
     * Looks a page up. On a miss, `store` caches the page read from the database under the version
     * seen *before* that read: if a change lands in between, the page goes under the old version,
     * where nobody looks, instead of passing for fresh.
     */
    lookup: async (userId: string, page: string): Promise<{ hit: unknown; store(value: unknown): Promise<void> }> => {
      const found = await guarded('get', async () => {
        const version = await currentVersion(userId);
        const cached = await cache.get(pageKey(userId, version, page));
        return { version, value: cached === undefined ? undefined : (JSON.parse(cached) as unknown) };
      });
      const version = found?.version;
      return {
        hit: found?.value,
        store: async (value) => {
          if (version === undefined) return; // the cache was down a moment ago: do not write either
          await guarded('set', () => cache.set(pageKey(userId, version, page), JSON.stringify(value), ttlSeconds));
        },
      };
    },

    /** After any change to the user's chatrooms, once it is committed. */
    invalidate: (userId: string) =>
      guarded('invalidate', () => cache.set(versionKey(userId), newVersion(), versionTtlSeconds)),
  };
}
