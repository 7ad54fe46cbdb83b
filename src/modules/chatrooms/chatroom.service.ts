import type { Clock } from '../../infra/clock.js';
import type { Database } from '../../infra/db/client.js';
import { isUuid } from '../../infra/ids.js';
import { AppError, validationError } from '../../http/app-error.js';
import { decodeCursor, encodeCursor, toPage } from '../../http/pagination.js';
import type { ChatroomListCache } from './chatroom-list-cache.js';
import {
  deleteChatroom,
  findChatroom,
  findOwnedChatroom,
  lockOwnedChatroom,
  insertChatroom,
  listChatrooms,
  titleIfUntitled,
  updateChatroom,
  type ChatroomRow,
  type SettingsChange,
} from './chatroom.repository.js';
import { toChatroomDto, type ChatroomDto, type ChatroomPage } from './chatroom.schemas.js';
import { modelThinks, thinkingBudgetProblem } from './thinking-budget.js';

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
  database: Pick<Database, 'db' | 'transaction'>;
  listCache: ChatroomListCache;
  clock: Clock;
  /** The model of a chatroom that chose none: thinking budgets are checked against it. */
  defaultModel: string;
  deletionListener?: ChatroomDeletionListener;
};

export const chatroomNotFound = (id: string) => new AppError('CHATROOM_NOT_FOUND', 404, `Chatroom '${id}' was not found`);

export type ChatroomService = ReturnType<typeof createChatroomService>;

export function createChatroomService({ database, listCache, clock, defaultModel, deletionListener }: Deps) {
  const { db } = database;
  /**
   * A thinking budget must suit the model the chatroom will use once the change is made: a change
   * of either the budget or the model is checked against the other (`room` as it is now, if any).
   */
  function checkThinking(settings: SettingsChange | undefined, room?: ChatroomRow): void {
    if (settings?.thinking === undefined && settings?.model === undefined) return;
    const thinking = settings.thinking === undefined ? room?.thinking : settings.thinking;
    const model = (settings.model === undefined ? room?.model : settings.model) ?? defaultModel;
    if (thinking && !modelThinks(model)) throw validationError('settings.thinking', `${model} does not think: set thinking to null for it`);
    const problem = thinking ? thinkingBudgetProblem(model, thinking.budget) : undefined;
    if (problem) throw validationError('settings.thinking.budget', problem);
  }

  /** The chatroom if the user owns it; 404 for a foreign, deleted or malformed id alike. */
  async function requireOwned(userId: string, id: string): Promise<ChatroomRow> {
    const room = isUuid(id) ? await findOwnedChatroom(db, userId, id) : undefined;
    if (!room) throw chatroomNotFound(id);
    return room;
  }

  return {
    requireOwned,

    async create(userId: string, input: { title?: string | undefined; settings?: SettingsChange | undefined } = {}): Promise<ChatroomDto> {
      checkThinking(input.settings);
      const room = await insertChatroom(db, userId, input.title ?? DEFAULT_CHATROOM_TITLE, input.settings, clock.now());
      await listCache.invalidate(userId);
      return toChatroomDto(room);
    },

    /**
     * Newest first, as the JSON text of a `ChatroomPage` (a cached page is sent as it was stored).
     * `cache` says where it came from, for the X-Cache header.
     */
    async listJson(userId: string, limit: number, cursor: string | undefined): Promise<{ json: string; cache: 'HIT' | 'MISS' }> {
      const after = cursor === undefined ? undefined : decodeCursor(cursor);
      const cached = await listCache.lookup(userId, `${limit}:${cursor ?? ''}`);
      if (cached.hit !== undefined) return { json: cached.hit, cache: 'HIT' };
      const rows = await listChatrooms(db, userId, limit + 1, after);
      const page: ChatroomPage = toPage(rows, limit, toChatroomDto, encodeCursor);
      const json = JSON.stringify(page);
      await cached.store(json);
      return { json, cache: 'MISS' };
    },

    /** Renames and/or changes settings (any subset). */
    async update(userId: string, id: string, change: { title?: string | undefined; settings?: SettingsChange | undefined }): Promise<ChatroomDto> {
      if (!isUuid(id)) throw chatroomNotFound(id);
      const touchesThinking = change.settings?.thinking !== undefined || change.settings?.model !== undefined;
      const room = touchesThinking
        ? // The budget is checked against the model under a lock: two racing changes (one of the
          // model, one of the budget) cannot each pass against the other's old value.
          await database.transaction(async (tx) => {
            const locked = await lockOwnedChatroom(tx, userId, id);
            if (!locked) return undefined;
            checkThinking(change.settings, locked);
            return updateChatroom(tx, userId, id, change, clock.now());
          })
        : await updateChatroom(db, userId, id, change, clock.now());
      if (!room) throw chatroomNotFound(id);
      await listCache.invalidate(userId);
      return toChatroomDto(room);
    },

    /** After a change to what the list shows of a chatroom made elsewhere (its current message), once committed. */
    listChanged: async (userId: string): Promise<void> => {
      await listCache.invalidate(userId);
    },

    /** The chatroom, whoever owns it (for the worker). */
    find: (id: string) => findChatroom(db, id),

    /**
     * Stores a generated title unless the chatroom was renamed meanwhile (or is gone). True when
     * it was stored.
     */
    async applyGeneratedTitle(id: string, title: string): Promise<boolean> {
      const room = await titleIfUntitled(db, id, DEFAULT_CHATROOM_TITLE, title, clock.now());
      if (!room) return false;
      await listCache.invalidate(room.userId);
      return true;
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
