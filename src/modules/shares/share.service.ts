import { randomBytes } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import { z } from 'zod';
import type { Clock } from '../../infra/clock.js';
import type { Database } from '../../infra/db/client.js';
import { AppError, validationError } from '../../http/app-error.js';
import { positionCursor, toPage } from '../../http/pagination.js';
import type { ChatroomService } from '../chatrooms/chatroom.service.js';
import { insertChatroom, setCurrentMessage } from '../chatrooms/chatroom.repository.js';
import { attachFiles, attachmentsOf, type FileRow } from '../files/file.repository.js';
import { toFileDto } from '../files/file.schemas.js';
import { fileNotFound, type FileService, type Owner } from '../files/file.service.js';
import { wholePath } from '../messages/message-path.repository.js';
import type { MessageService } from '../messages/message.service.js';
import { insertForkedMessages } from './fork.repository.js';
import { fileIdsOf, snapshotOf } from './share-snapshot.js';
import { deleteShare, findShare, insertShare, listSharesOfChatroom, type ShareRow, type ShareSummary } from './share.repository.js';
import type { ShareViewCache } from './share-view-cache.js';
import { SHARE_ID_PATTERN, type SharedConversation, type ShareDto } from './share.schemas.js';

type Deps = {
  database: Pick<Database, 'db' | 'transaction'>;
  views: ShareViewCache;
  chatrooms: Pick<ChatroomService, 'requireOwned' | 'listChanged'>;
  files: Pick<FileService, 'findOwnedFiles' | 'stageCopies'>;
  messages: Pick<MessageService, 'conversation'>;
  clock: Clock;
  log: FastifyBaseLogger;
};

export const shareNotFound = (id: string) => new AppError('SHARE_NOT_FOUND', 404, `Share '${id.slice(0, 100)}' was not found`);

/** 128 random bits, base64url: 22 characters. */
const newShareId = () => randomBytes(16).toString('base64url');

/** Where a shared file's bytes are, on the server that serves the share (a path: the cached view fits every host name). */
export const sharedFilePath = (shareId: string, fileId: string) => `/shares/${shareId}/files/${fileId}`;

const shareCursor = positionCursor(z.string().regex(SHARE_ID_PATTERN));

const toShareDto = (share: ShareSummary, baseUrl: string): ShareDto => ({
  id: share.id,
  url: `${baseUrl}/s/${share.id}`,
  chatroomId: share.chatroomId,
  title: share.title,
  messageCount: share.messageCount,
  createdAt: share.createdAt.toISOString(),
});

export type ShareService = ReturnType<typeof createShareService>;

export function createShareService({ database, views, chatrooms, files, messages, clock, log }: Deps) {
  const { db } = database;

  /** The public view of a share, from its frozen snapshot and its files' rows (a file deleted since says so). */
  async function viewOf(share: ShareRow): Promise<SharedConversation> {
    const rows = new Map((await files.findOwnedFiles(share.userId, fileIdsOf(share.messages))).map((file) => [file.id, file]));
    return {
      id: share.id,
      title: share.title,
      messages: share.messages.map((message) => ({
        id: message.id,
        role: message.role,
        content: message.content,
        attachments: message.fileIds.flatMap((fileId) => {
          const file = rows.get(fileId);
          return file ? [{ ...toFileDto(file), url: sharedFilePath(share.id, file.id) }] : [];
        }),
        grounding: message.grounding,
        createdAt: message.createdAt,
      })),
      sharedAt: share.createdAt.toISOString(),
    };
  }

  return {
    /** Freezes the chatroom's current branch (its finished exchanges) as a new share. */
    async create(userId: string, chatroomId: string, baseUrl: string): Promise<ShareDto> {
      const room = await chatrooms.requireOwned(userId, chatroomId);
      const path = room.currentMessageId === null ? [] : await wholePath(db, room.currentMessageId);
      const prompts = path.filter((message) => message.role === 'user').map((message) => message.id);
      const snapshot = snapshotOf(path, await attachmentsOf(db, prompts));
      if (snapshot.length === 0) {
        throw validationError('chatroom', `Chatroom '${chatroomId}' has no finished reply to share yet`);
      }
      const share = await insertShare(db, { id: newShareId(), userId, chatroomId, title: room.title, messages: snapshot, createdAt: clock.now() }).catch(
        async (error: unknown) => {
          await chatrooms.requireOwned(userId, chatroomId); // deleted meanwhile: 404, as if a moment later
          throw error;
        },
      );
      log.info({ chatroomId, messageCount: snapshot.length }, 'chatroom shared');
      return toShareDto({ ...share, messageCount: snapshot.length }, baseUrl);
    },

    async list(userId: string, chatroomId: string, limit: number, cursor: string | undefined, baseUrl: string) {
      const after = cursor === undefined ? undefined : shareCursor.decode(cursor);
      await chatrooms.requireOwned(userId, chatroomId);
      const rows = await listSharesOfChatroom(db, chatroomId, limit + 1, after);
      return toPage(rows, limit, (row) => toShareDto(row, baseUrl), shareCursor.encode);
    },

    /** Revokes: the link answers 404 from now on (its cached view is forgotten). */
    async revoke(userId: string, chatroomId: string, shareId: string): Promise<void> {
      await chatrooms.requireOwned(userId, chatroomId);
      if (!(await deleteShare(db, userId, chatroomId, shareId))) throw shareNotFound(shareId);
      await views.forget([shareId]);
    },

    /**
     * The public view as JSON bytes, cached per share. Any id takes the same steps (the cache, then
     * one primary-key lookup): a revoked share, a deleted one and one that never was are the same
     * absent row, with no shortcut for ids of any shape.
     */
    async publicView(shareId: string): Promise<{ json: Buffer; cache: 'HIT' | 'MISS' }> {
      const cached = await views.get(shareId);
      if (cached.view !== undefined) return { json: cached.view, cache: 'HIT' };
      const share = await findShare(db, shareId);
      if (!share) throw shareNotFound(shareId);
      const json = Buffer.from(JSON.stringify(await viewOf(share)));
      await views.set(shareId, json, cached.read);
      return { json, cache: 'MISS' };
    },

    /** True when the share exists (the HTML page answers 404 otherwise). */
    async exists(shareId: string): Promise<boolean> {
      return (await views.get(shareId)).view !== undefined || (await findShare(db, shareId)) !== undefined;
    },

    /** A file one of the share's messages carries (deleted or not: serving says 404 for a deleted one). */
    async sharedFile(shareId: string, fileId: string): Promise<FileRow> {
      const share = await findShare(db, shareId);
      if (!share) throw shareNotFound(shareId);
      const [file] = fileIdsOf(share.messages).includes(fileId) ? await files.findOwnedFiles(share.userId, [fileId]) : [];
      if (!file) throw fileNotFound(fileId);
      return file;
    },

    /**
     * "Continue this conversation": a new chatroom of the caller's with the snapshot's messages as
     * one branch, its files copied to the caller (within their storage quota, or nothing is created).
     * Spends no allowance. Answers the chatroom as GET /chatroom/:id does.
     */
    async fork(user: Owner, shareId: string) {
      const share = await findShare(db, shareId);
      if (!share) throw shareNotFound(shareId);
      const staged = await files.stageCopies(user, await files.findOwnedFiles(share.userId, fileIdsOf(share.messages)));
      let roomId: string;
      try {
        roomId = await database.transaction(async (tx) => {
          const copyOf = await staged.record(tx);
          const now = clock.now();
          const room = await insertChatroom(tx, user.id, share.title, undefined, now);
          const ids = await insertForkedMessages(tx, { chatroomId: room.id, userId: user.id }, share.messages, now);
          for (const [index, message] of share.messages.entries()) {
            const copies = message.fileIds.flatMap((fileId) => copyOf.get(fileId) ?? []);
            if (copies.length > 0) await attachFiles(tx, ids[index] as string, copies);
          }
          const tip = ids.at(-1);
          if (tip !== undefined) await setCurrentMessage(tx, room.id, tip);
          return room.id;
        });
      } catch (error) {
        await staged.discard();
        throw error;
      }
      await chatrooms.listChanged(user.id);
      log.info({ chatroomId: roomId, messageCount: share.messages.length }, 'share forked');
      return messages.conversation(user.id, roomId);
    },

  };
}
