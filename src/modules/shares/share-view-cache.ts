import type { FastifyBaseLogger } from 'fastify';
import type { Cache } from '../../infra/cache.js';
import type { Database } from '../../infra/db/client.js';
import { withTimeout } from '../../infra/deadline.js';
import type { ChatroomDeletionListener } from '../chatrooms/chatroom.service.js';
import { shareIdsOfChatroom } from './share.repository.js';

/**
 * A share's public view is cached this long. Revoking forgets it at once; the bound is for what no
 * invalidation reaches (a view read from the database just before a revoke and stored just after),
 * and matches what the response lets browsers and proxies keep (Cache-Control: max-age=60).
 */
export const SHARE_VIEW_TTL_SECONDS = 60;
/** Views larger than this are served from the database each time: the cache holds many small ones. */
const MAX_CACHED_VIEW_CHARS = 512 * 1024;
const CACHE_TIMEOUT_MS = 250;

const viewKey = (shareId: string) => `share:${shareId}`;

export type ShareViewCache = ReturnType<typeof createShareViewCache>;

/** The public views of shares as JSON text, per share. A help, never a dependency: when it fails, the database answers. */
export function createShareViewCache({ cache, log }: { cache: Cache; log: FastifyBaseLogger }) {
  return {
    async get(shareId: string): Promise<string | undefined> {
      try {
        return await withTimeout(cache.get(viewKey(shareId)), CACHE_TIMEOUT_MS, 'the cache');
      } catch (error) {
        log.warn({ err: error }, 'share cache unavailable; reading the database');
        return undefined;
      }
    },

    async set(shareId: string, json: string): Promise<void> {
      if (json.length > MAX_CACHED_VIEW_CHARS) return;
      await withTimeout(cache.set(viewKey(shareId), json, SHARE_VIEW_TTL_SECONDS), CACHE_TIMEOUT_MS, 'the cache').catch((error: unknown) =>
        log.warn({ err: error }, 'could not cache a share view'),
      );
    },

    async forget(shareIds: string[]): Promise<void> {
      await Promise.all(
        shareIds.map((id) =>
          withTimeout(cache.delete(viewKey(id)), CACHE_TIMEOUT_MS, 'the cache').catch((error: unknown) =>
            log.error({ err: error }, `a revoked share's cached view could not be forgotten; it expires within ${SHARE_VIEW_TTL_SECONDS} s`),
          ),
        ),
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
