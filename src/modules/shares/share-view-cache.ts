import type { FastifyBaseLogger } from 'fastify';
import { LRUCache } from 'lru-cache';
import type { Broadcast } from '../../infra/broadcast.js';
import type { Cache } from '../../infra/cache.js';
import type { Database } from '../../infra/db/client.js';
import { withTimeout } from '../../infra/deadline.js';
import { createInvalidations } from '../../infra/invalidations.js';
import type { ChatroomDeletionListener } from '../chatrooms/chatroom.service.js';
import { shareIdsOfChatroom } from './share.repository.js';

/**
 * A share's public view is cached this long. Revoking forgets it at once; the bound is for what no
 * invalidation reaches (a view read from the database just before a revoke and stored just after),
 * and matches what the response lets browsers and proxies keep (Cache-Control: max-age=60).
 */
export const SHARE_VIEW_TTL_SECONDS = 60;
/** Views larger than this are served from the database each time: the caches hold many small ones. */
const MAX_CACHED_VIEW_BYTES = 512 * 1024;
const CACHE_TIMEOUT_MS = 250;
/**
 * The hot copies each process keeps in front of the shared cache: bytes ready to send, no round trip
 * to Redis and no re-encoding. Bounded in bytes; trusted for a short while only, and only while this
 * process hears the revocations of the others (infra/invalidations.ts, as for the session cache).
 */
const LOCAL_MAX_BYTES = 64 * 1024 * 1024;
const LOCAL_TTL_MS = 10_000;
const CHANNEL = 'shares-revoked';

const viewKey = (shareId: string) => `share:${shareId}`;

export type ShareViewCache = ReturnType<typeof createShareViewCache>;

/** When a view was read from the database, as `set` needs it to tell whether that read may be kept. */
export interface ReadMark {
  /** The invalidations' epoch: for this process's hot copy. */
  epoch: number;
  /** Revocations heard so far: for the shared cache. */
  revocations: number;
}

type Deps = { cache: Cache; broadcast: Broadcast; log: FastifyBaseLogger };

/**
 * The public views of shares as JSON bytes, per share: in the process (hot copies), then in the
 * shared cache (Redis, or the in-process one embedded). A help, never a dependency: when the shared
 * cache fails, the database answers. A revocation drops the view everywhere at once: here, in the
 * shared cache, and (by broadcast) in every other process's hot copies.
 */
export function createShareViewCache({ cache, broadcast, log }: Deps) {
  const local = new LRUCache<string, Buffer>({ maxSize: LOCAL_MAX_BYTES, sizeCalculation: (view) => view.length, ttl: LOCAL_TTL_MS });
  // Revocations heard by this process, its own included. Unlike the epoch, a (re)subscription does not
  // move it: a view read across one may still go to the shared cache, which no gap of ours made stale.
  let revocations = 0;
  const invalidations = createInvalidations({
    broadcast,
    channel: CHANNEL,
    what: 'a revoked share',
    log,
    drop: (shareId) => {
      revocations++;
      local.delete(shareId);
    },
    dropAll: () => local.clear(),
  });

  const markNow = (): ReadMark => ({ epoch: invalidations.epoch(), revocations });

  function keepHot(shareId: string, view: Buffer, read: ReadMark) {
    if (read.epoch === invalidations.epoch() && invalidations.live && view.length <= MAX_CACHED_VIEW_BYTES) local.set(shareId, view);
  }

  return {
    /** The view if a cache holds it; the `read` mark to pass to `set` after reading the database otherwise. */
    async get(shareId: string): Promise<{ view: Buffer | undefined; read: ReadMark }> {
      // Subscribed on first use: a worker process never serves a share.
      invalidations.listen();
      const read = markNow();
      const hot = invalidations.live ? local.get(shareId) : undefined;
      if (hot) return { view: hot, read };
      try {
        const shared = await withTimeout(cache.get(viewKey(shareId)), CACHE_TIMEOUT_MS, 'the cache');
        if (shared === undefined) return { view: undefined, read };
        const view = Buffer.from(shared);
        keepHot(shareId, view, read);
        return { view, read };
      } catch (error) {
        log.warn({ err: error }, 'share cache unavailable; reading the database');
        return { view: undefined, read };
      }
    },

    /**
     * Keeps a view read from the database (`read` from `get`, taken before the read), in neither cache
     * if a revocation was heard since: the view may be of the revoked share, and written to the shared
     * cache after the revoke deleted it there, every process would serve it until it expired.
     */
    async set(shareId: string, view: Buffer, read: ReadMark): Promise<void> {
      if (view.length > MAX_CACHED_VIEW_BYTES || read.revocations !== revocations) return;
      keepHot(shareId, view, read);
      await withTimeout(cache.set(viewKey(shareId), view.toString('utf8'), SHARE_VIEW_TTL_SECONDS), CACHE_TIMEOUT_MS, 'the cache').catch((error: unknown) =>
        log.warn({ err: error }, 'could not cache a share view'),
      );
    },

    /**
     * Revoked (or deleted with their chatroom): forgotten here, in every other process, and then in
     * the shared cache. In that order: once every process has heard of it, none writes a view it read
     * before the revoke back into the shared cache (`set`), so the delete is the last word there.
     */
    async forget(shareIds: string[]): Promise<void> {
      await Promise.all(
        shareIds.map(async (id) => {
          await invalidations.announce(id, LOCAL_TTL_MS);
          await withTimeout(cache.delete(viewKey(id)), CACHE_TIMEOUT_MS, 'the cache').catch((error: unknown) =>
            log.error({ err: error }, `a revoked share's cached view could not be forgotten; it expires within ${SHARE_VIEW_TTL_SECONDS} s`),
          );
        }),
      );
    },
  };
}

/** A deleted chatroom's shares go with it (ON DELETE CASCADE); their cached views are forgotten once it is gone. */
export function shareDeletionListener(database: Pick<Database, 'db'>, views: Pick<ShareViewCache, 'forget'>): ChatroomDeletionListener {
  return {
    async chatroomDeleting(chatroomId) {
      const ids = await shareIdsOfChatroom(database.db, chatroomId);
      return { deleted: () => views.forget(ids) };
    },
  };
}
