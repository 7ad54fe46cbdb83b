import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../../infra/clock.js';
import type { Database, Executor } from '../../infra/db/client.js';
import { FileObjectMissing, type ByteRange, type FileStore } from '../../infra/file-store/file-store.js';
import { isUuid } from '../../infra/ids.js';
import { AppError, validationError } from '../../http/app-error.js';
import { decodeCursor, encodeCursor, toPage } from '../../http/pagination.js';
import type { Tier } from '../users/tier.js';
import { cleanFileName } from './file-name.js';
import { tokenCostOf } from './file-tokens.js';
import { finalType } from './file-type.js';
import {
  findOwnedFile,
  findOwnedFiles,
  insertDeletedCopy,
  insertWithinQuota,
  listLiveFiles,
  liveFilesOfChatroom,
  markBytesRemoved,
  markDeleted,
  markUnreferencedDeleted,
  deleteUnusedFile,
  removalsToRetry,
  storageUsed,
  sweepUnreferenced,
  type FileRow,
} from './file.repository.js';
import { toFileDto } from './file.schemas.js';
import { createUploadInspector, UploadTooLarge } from './upload-inspector.js';

type Deps = {
  database: Pick<Database, 'db' | 'transaction'>;
  store: FileStore;
  maxUploadBytes: number;
  quotaBytes: Record<Tier, number>;
  /** How long an upload may stay unattached to any prompt before the sweep deletes it. */
  unreferencedTtlMs: number;
  clock: Clock;
  log: FastifyBaseLogger;
};

export interface Owner {
  id: string;
  tier: Tier;
}

/** One file part of a multipart upload, as it arrives. */
export interface IncomingFile {
  stream: Readable;
  fileName: string | undefined;
  declaredType: string | undefined;
  /** Aborted when the client goes away mid-upload. */
  signal: AbortSignal;
}

export const fileNotFound = (id: string) => new AppError('FILE_NOT_FOUND', 404, `File '${id}' was not found`);

/** The store did not answer: the caller may try again; the rest of the API goes on. */
const storeUnavailable = (cause: unknown) =>
  new AppError('SERVICE_UNAVAILABLE', 503, 'The file store is unavailable right now; try again shortly', { cause });

const MIB = 1024 * 1024;
const asSize = (bytes: number) => (bytes % MIB === 0 ? `${bytes / MIB} MiB` : `${bytes} bytes`);

export type FileService = ReturnType<typeof createFileService>;

/** Copies of files made for another user, bytes stored, rows not yet (see `stageCopies`). */
export interface StagedCopies {
  /**
   * Records the copies in the caller's transaction, within the new owner's quota (413
   * STORAGE_QUOTA_EXCEEDED otherwise, and the caller's transaction rolls back). Answers the copy's
   * id by the original's.
   */
  record(tx: Executor): Promise<Map<string, string>>;
  /** Removes the copied bytes: for when the transaction that records them did not commit. */
  discard(): Promise<void>;
}

/** Files the sweep takes on at a time; the next sweep takes the rest. */
const SWEEP_BATCH = 500;
/** A removal that failed this long ago is tried again (a fresh one may still be under way). */
const RETRY_REMOVAL_AFTER_MS = 60_000;

export function createFileService({ database, store, maxUploadBytes, quotaBytes, unreferencedTtlMs, clock, log }: Deps) {
  const { db } = database;

  const quotaExceeded = (tier: Tier) =>
    new AppError(
      'STORAGE_QUOTA_EXCEEDED',
      413,
      `The ${tier === 'pro' ? 'Pro' : 'Basic'} plan keeps ${asSize(quotaBytes[tier])} of files; delete some files to upload more`,
    );

  /** Removes bytes now, and marks them removed; a failure is left to the retention sweep, which tries again. */
  async function removeBytes(files: Pick<FileRow, 'id' | 'storageKey'>[]): Promise<void> {
    const removed: string[] = [];
    await Promise.all(
      files.map(async (file) => {
        try {
          await store.remove(file.storageKey);
          removed.push(file.id);
        } catch (error) {
          log.warn({ err: error, fileId: file.id }, 'could not remove the bytes of a deleted file; the retention sweep will try again');
        }
      }),
    );
    await markBytesRemoved(db, removed, clock.now());
  }

  /** Removes an object that no row names (an upload refused after its bytes were stored). */
  async function discardObject(key: string) {
    await store.remove(key).catch((error: unknown) => log.error({ err: error, storageKey: key }, 'could not remove the bytes of a refused upload'));
  }

  async function requireOwned(userId: string, id: string): Promise<FileRow> {
    const file = isUuid(id) ? await findOwnedFile(db, userId, id) : undefined;
    if (!file) throw fileNotFound(id);
    return file;
  }

  return {
    /** The user's storage in use and their plan's quota. */
    async storageOf(owner: Owner) {
      return { usedBytes: await storageUsed(db, owner.id), limitBytes: quotaBytes[owner.tier] };
    },

    /**
     * Streams one uploaded file to the store while hashing, counting and recognising it, then records
     * it if its type is accepted and it fits the owner's quota. Anything refused, too large or cut off
     * leaves nothing behind: no row, no object, the quota as it was.
     */
    async upload(owner: Owner, incoming: IncomingFile): Promise<FileRow> {
      const quota = quotaBytes[owner.tier];
      if ((await storageUsed(db, owner.id)) >= quota) throw quotaExceeded(owner.tier);

      const id = randomUUID();
      // Ids only: the name a client sent never reaches a path or a key.
      const storageKey = `${owner.id}/${id}`;
      const inspector = createUploadInspector(maxUploadBytes);
      // The client's body failing (cut off, malformed) is the request's fault; anything else (a full
      // disk, an unreachable bucket), the store's. pipe() does not carry the store's failure back to
      // the body, so an error the body emits is the body's own. A part the parser destroyed before this
      // handler ran (a form cut short, parsed in one go) would never flow: it fails here and now.
      let bodyFailed = false;
      incoming.stream.once('error', (error) => {
        bodyFailed = true;
        inspector.destroy(error);
      });
      if (incoming.stream.destroyed) {
        bodyFailed = true;
        inspector.destroy(incoming.stream.errored ?? new Error('the part ended before its file did'));
      } else incoming.stream.pipe(inspector);
      // The store's put reports a failed body; a store that stopped reading before the inspector
      // failed has no listener left, and an unheard 'error' would crash the process.
      inspector.on('error', () => undefined);
      try {
        await store.put(storageKey, inspector, 'application/octet-stream');
      } catch (error) {
        if (error instanceof UploadTooLarge || (error as { code?: string }).code === 'FST_REQ_FILE_TOO_LARGE') {
          throw new AppError('PAYLOAD_TOO_LARGE', 413, `A file may be at most ${asSize(maxUploadBytes)} (MAX_UPLOAD_BYTES); nothing was kept`);
        }
        if (bodyFailed || incoming.signal.aborted) {
          throw new AppError('MALFORMED_REQUEST', 400, 'The upload ended before the file did; nothing was kept', { cause: error });
        }
        throw storeUnavailable(error);
      }

      const { sizeBytes, sha256, recognition } = inspector.inspection();
      const name = cleanFileName(incoming.fileName);
      const recognised = finalType(recognition, incoming.declaredType, name);
      if (recognised.kind === 'refused') {
        await discardObject(storageKey);
        if (sizeBytes === 0) throw validationError('file', 'is empty');
        throw new AppError(
          'UNSUPPORTED_MEDIA_TYPE',
          415,
          `The file is ${recognised.recognised}; accepted are PNG, JPEG, WebP, HEIC/HEIF images, PDF, WAV, MP3, AAC, OGG, FLAC and AIFF audio, and UTF-8 text`,
        );
      }
      const row = await database
        .transaction((tx) =>
          insertWithinQuota(
            tx,
            {
              id,
              userId: owner.id,
              name,
              mimeType: recognised.mimeType,
              sizeBytes,
              sha256,
              storageKey,
              tokens: tokenCostOf({ ...recognised, sizeBytes }),
              createdAt: clock.now(),
            },
            quota,
          ),
        )
        .catch(async (error: unknown) => {
          await discardObject(storageKey);
          throw error;
        });
      if (!row) {
        await discardObject(storageKey);
        throw quotaExceeded(owner.tier);
      }
      log.info({ fileId: row.id, mimeType: row.mimeType, sizeBytes }, 'file uploaded');
      return row;
    },

    /** Undoes an upload the request went on to refuse (a second part): row and bytes, as if it never was. */
    async discard(file: FileRow): Promise<void> {
      await database.transaction((tx) => deleteUnusedFile(tx, file.id));
      await discardObject(file.storageKey);
    },

    async list(userId: string, limit: number, cursor: string | undefined) {
      const rows = await listLiveFiles(db, userId, limit + 1, cursor === undefined ? undefined : decodeCursor(cursor));
      return toPage(rows, limit, toFileDto, encodeCursor);
    },

    get: requireOwned,

    /** The user's files of these ids (deleted ones too), in no particular order. */
    findOwnedFiles: (userId: string, ids: string[]) => findOwnedFiles(db, userId, ids.filter(isUuid)),

    /**
     * Copies files (another user's, from a share) to `owner`: the bytes now, each to a key of the
     * owner's, so that the original owner deleting theirs leaves the copies whole; the rows when the
     * caller's transaction records them (no network call inside it). Past the owner's quota: 413
     * STORAGE_QUOTA_EXCEEDED, checked before any byte is copied and again, under the owner's lock,
     * when recording. A source deleted before its bytes could be read becomes a deleted copy: its
     * metadata only, as messages keep a deleted file's.
     */
    async stageCopies(owner: Owner, sources: FileRow[]): Promise<StagedCopies> {
      const quota = quotaBytes[owner.tier];
      const needed = sources.reduce((sum, file) => sum + (file.deletedAt === null ? file.sizeBytes : 0), 0);
      if (needed > 0 && (await storageUsed(db, owner.id)) + needed > quota) throw quotaExceeded(owner.tier);
      const now = clock.now();
      const copies = sources.map((source) => {
        const id = randomUUID();
        const { name, mimeType, sizeBytes, sha256, tokens } = source;
        return { source, live: source.deletedAt === null, row: { id, userId: owner.id, name, mimeType, sizeBytes, sha256, tokens, storageKey: `${owner.id}/${id}`, createdAt: now } };
      });
      const stored: string[] = [];
      const discard = async () => void (await Promise.all(stored.map(discardObject)));
      try {
        for (const copy of copies.filter((each) => each.live)) {
          try {
            await store.put(copy.row.storageKey, await store.read(copy.source.storageKey), 'application/octet-stream');
            stored.push(copy.row.storageKey);
          } catch (error) {
            if (!(error instanceof FileObjectMissing)) throw error;
            copy.live = false; // deleted by its owner meanwhile
          }
        }
      } catch (error) {
        await discard();
        throw storeUnavailable(error);
      }
      return {
        async record(tx) {
          for (const copy of copies) {
            if (!copy.live) await insertDeletedCopy(tx, copy.row, now);
            else if (!(await insertWithinQuota(tx, copy.row, quota))) throw quotaExceeded(owner.tier);
          }
          return new Map(copies.map((copy) => [copy.source.id, copy.row.id]));
        },
        discard,
      };
    },

    /** The bytes of a live file (or the range asked for); 404 once deleted. */
    async content(file: FileRow, range: ByteRange | undefined): Promise<Readable> {
      if (file.deletedAt !== null) throw fileNotFound(file.id);
      try {
        return await store.read(file.storageKey, range);
      } catch (error) {
        if (error instanceof FileObjectMissing) {
          log.error({ fileId: file.id }, 'a live file has no bytes in the store');
          throw fileNotFound(file.id);
        }
        throw storeUnavailable(error);
      }
    },

    /** Deletes a file's bytes now; its metadata stays for the messages that had it. */
    async remove(userId: string, id: string): Promise<void> {
      const file = isUuid(id) ? await markDeleted(db, userId, id, clock.now()) : undefined;
      if (!file) {
        await requireOwned(userId, id); // 404 for a foreign or unknown one; an already deleted one is done
        return;
      }
      await removeBytes([file]);
    },

    /**
     * The files only this chatroom's messages carry are deleted with it (a file also attached in
     * another chatroom stays). Told before the chatroom is deleted; acts once it is.
     */
    async chatroomDeleting(chatroomId: string) {
      const candidates = await liveFilesOfChatroom(db, chatroomId);
      return {
        deleted: async () => {
          if (candidates.length === 0) return;
          await removeBytes(await database.transaction((tx) => markUnreferencedDeleted(tx, candidates, clock.now())));
        },
      };
    },

    /** The retention sweep's part: uploads no prompt took up in time, and removals to try again. */
    async sweep(): Promise<{ unreferencedFiles: number; fileRemovalsRetried: number }> {
      const now = clock.now();
      const unreferenced = await database.transaction((tx) => sweepUnreferenced(tx, new Date(now.getTime() - unreferencedTtlMs), now, SWEEP_BATCH));
      await removeBytes(unreferenced);
      const retried = await removalsToRetry(db, new Date(now.getTime() - RETRY_REMOVAL_AFTER_MS), SWEEP_BATCH);
      await removeBytes(retried);
      return { unreferencedFiles: unreferenced.length, fileRemovalsRetried: retried.length };
    },
  };
}
