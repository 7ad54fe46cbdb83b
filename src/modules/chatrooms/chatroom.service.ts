import type { Clock } from '../../infra/clock.js';
import type { Database } from '../../infra/db/client.js';
import { isUuid } from '../../infra/ids.js';
import { AppError } from '../../http/app-error.js';
import { decodeCursor, encodeCursor, toPage } from '../../http/pagination.js';
import type { ChatroomListCache } from './chatroom-list-cache.js';
import {
  deleteChatroom,
  findOwnedChatroom,
  insertChatroom,
  listChatrooms,
  renameChatroom,
  type ChatroomRow,
} from './chatroom.repository.js';
import { toChatroomDto, type ChatroomDto, type ChatroomPage } from './chatroom.schemas.js';

export const DEFAULT_CHATROOM_TITLE = 'New chat';

/**
 * Told when a chatroom is deleted (its generations stop). Wired by the composition root, so that
 * this module knows nothing of messages or generation.
 */
export interface ChatroomDeletionListener {
  /** Before the delete; returns what to do once it is done. */
  chatroomDeleting(chatroomId: string): Promise<{ deleted(): Promise<void> }>;
}

type Deps = {
  database: Pick<Database, 'db'>;
  listCache: ChatroomListCache;
  clock: Clock;
  deletionListener?: ChatroomDeletionListener;
};

export const chatroomNotFound = (id: string) => new AppError('CHATROOM_NOT_FOUND', 404, `Chatroom '${id}' was not found`);

export type ChatroomService = ReturnType<typeof createChatroomService>;

export function createChatroomService({ database: { db }, listCache, clock, deletionListener }: Deps) {
  /** The chatroom if the user owns it; 404 for a foreign, deleted or malformed id alike. */
  async function requireOwned(userId: string, id: string): Promise<ChatroomRow> {
    const room = isUuid(id) ? await findOwnedChatroom(db, userId, id) : undefined;
    if (!room) throw chatroomNotFound(id);
    return room;
  }

  return {
    requireOwned,

    async create(userId: string, title: string | undefined): Promise<ChatroomDto> {
      const room = await insertChatroom(db, userId, title ?? DEFAULT_CHATROOM_TITLE, clock.now());
      await listCache.invalidate(userId);
      return toChatroomDto(room);
    },

    /** Newest first. `cache` says where the page came from, for the X-Cache header. */
    async list(userId: string, limit: number, cursor: string | undefined): Promise<{ page: ChatroomPage; cache: 'HIT' | 'MISS' }> {
      const after = cursor === undefined ? undefined : decodeCursor(cursor);
      const pageKey = `${limit}:${cursor ?? ''}`;
      const cached = await listCache.lookup(userId, pageKey);
      if (cached.hit) return { page: cached.hit as ChatroomPage, cache: 'HIT' };
      const rows = await listChatrooms(db, userId, limit + 1, after);
      const page = toPage(rows, limit, toChatroomDto, encodeCursor);
      await cached.store(page);
      return { page, cache: 'MISS' };
    },

    async rename(userId: string, id: string, title: string): Promise<ChatroomDto> {
      const room = isUuid(id) ? await renameChatroom(db, userId, id, title, clock.now()) : undefined;
      if (!room) throw chatroomNotFound(id);
      await listCache.invalidate(userId);
      return toChatroomDto(room);
    },

    async remove(userId: string, id: string): Promise<void> {
      await requireOwned(userId, id); // nobody else's generations are stopped
      const deletion = await deletionListener?.chatroomDeleting(id);
      if (!(await deleteChatroom(db, userId, id))) throw chatroomNotFound(id);
      await deletion?.deleted();
      await listCache.invalidate(userId);
    },
  };
}
