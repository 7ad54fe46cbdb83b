import { and, asc, desc, eq, inArray, isNull, lt, or, sql } from 'drizzle-orm';
import type { Executor } from '../../infra/db/client.js';
import { executeRaw } from '../../infra/db/raw-rows.js';
import { files, messageAttachments } from '../../infra/db/schema.js';
import type { Position } from '../../http/pagination.js';

export type FileRow = typeof files.$inferSelect;
export type NewFile = Omit<typeof files.$inferInsert, 'geminiUri' | 'geminiExpiresAt' | 'deletedAt' | 'bytesRemovedAt'>;

const live = isNull(files.deletedAt);
const owned = (userId: string, id: string) => and(eq(files.id, id), eq(files.userId, userId));

/** Bytes of the user's files not deleted (what counts against the storage quota). */
export async function storageUsed(db: Executor, userId: string): Promise<number> {
  const [row] = await db
    .select({ used: sql<string | number>`coalesce(sum(${files.sizeBytes}), 0)` })
    .from(files)
    .where(and(eq(files.userId, userId), live));
  return Number(row?.used ?? 0);
}

/**
 * Records an uploaded file if it fits the owner's quota, in the caller's transaction: the owner's row
 * is locked first, so uploads of one user take turns here and two racing the quota never both fit.
 * Undefined when it does not fit (nothing written).
 */
export async function insertWithinQuota(tx: Executor, file: NewFile, quotaBytes: number): Promise<FileRow | undefined> {
  await executeRaw(tx, sql`select id from users where id = ${file.userId} for no key update`);
  if ((await storageUsed(tx, file.userId)) + file.sizeBytes > quotaBytes) return undefined;
  const [row] = await tx.insert(files).values(file).returning();
  return row;
}

/** A file of the user's, deleted or not. */
export async function findOwnedFile(db: Executor, userId: string, id: string): Promise<FileRow | undefined> {
  const [row] = await db.select().from(files).where(owned(userId, id));
  return row;
}

/** Newest first, live files only, `limit` of them after `after` (keyset). */
export function listLiveFiles(db: Executor, userId: string, limit: number, after?: Position): Promise<FileRow[]> {
  const older = after
    ? or(lt(files.createdAt, after.createdAt), and(eq(files.createdAt, after.createdAt), lt(files.id, after.id)))
    : undefined;
  return db
    .select()
    .from(files)
    .where(and(eq(files.userId, userId), live, older))
    .orderBy(desc(files.createdAt), desc(files.id))
    .limit(limit);
}

/** Marks a live file of the user's deleted; the row as it was, or undefined if there was none. */
export async function markDeleted(db: Executor, userId: string, id: string, now: Date): Promise<FileRow | undefined> {
  const [row] = await db
    .update(files)
    .set({ deletedAt: now, geminiUri: null, geminiExpiresAt: null })
    .where(and(owned(userId, id), live))
    .returning();
  return row;
}

export async function markBytesRemoved(db: Executor, ids: string[], now: Date): Promise<void> {
  if (ids.length === 0) return;
  await db.update(files).set({ bytesRemovedAt: now }).where(inArray(files.id, ids));
}

/**
 * The user's live files with these ids, locked against deletion until the caller's transaction ends
 * (FOR SHARE: a delete or the sweep waits, or skips them), so that a prompt never names a file whose
 * bytes are being removed.
 */
export async function lockAttachableFiles(tx: Executor, userId: string, ids: string[]): Promise<FileRow[]> {
  if (ids.length === 0) return [];
  return tx
    .select()
    .from(files)
    .where(and(eq(files.userId, userId), inArray(files.id, ids), live))
    .for('share');
}

/** Attaches files to a prompt, in the order given. */
export async function attachFiles(tx: Executor, messageId: string, fileIds: string[]): Promise<void> {
  if (fileIds.length === 0) return;
  await tx.insert(messageAttachments).values(fileIds.map((fileId, position) => ({ messageId, position, fileId })));
}

/** The files of each message, in the order the prompt named them (one query for all). */
export async function attachmentsOf(db: Executor, messageIds: string[]): Promise<Map<string, FileRow[]>> {
  const byMessage = new Map<string, FileRow[]>();
  if (messageIds.length === 0) return byMessage;
  const rows = await db
    .select({ messageId: messageAttachments.messageId, file: files })
    .from(messageAttachments)
    .innerJoin(files, eq(files.id, messageAttachments.fileId))
    .where(inArray(messageAttachments.messageId, messageIds))
    .orderBy(asc(messageAttachments.messageId), asc(messageAttachments.position));
  for (const { messageId, file } of rows) byMessage.set(messageId, [...(byMessage.get(messageId) ?? []), file]);
  return byMessage;
}

/** Ids of the live files some message of the chatroom carries. */
export async function liveFilesOfChatroom(db: Executor, chatroomId: string): Promise<string[]> {
  const rows = await executeRaw(
    db,
    sql`select distinct a.file_id from message_attachments a join messages m on m.id = a.message_id
    join files f on f.id = a.file_id
    where m.chatroom_id = ${chatroomId} and f.deleted_at is null`,
  );
  return rows.map((row) => String(row.file_id));
}

/*
 * Deleting files no message carries takes two statements in one transaction: the first locks the
 * candidates, the second deletes those still unreferenced. The second's snapshot is taken once the
 * locks are held, so it sees an attachment a send committed meanwhile (a send locks its files FOR
 * SHARE, so it either committed before the lock or waits and then finds the file deleted). One
 * statement would judge "unreferenced" on a snapshot from before the lock, and delete a file a
 * prompt had just taken up.
 */
const markDeletedIfUnreferenced = (tx: Executor, ids: string[], now: Date) =>
  tx
    .update(files)
    .set({ deletedAt: now, geminiUri: null, geminiExpiresAt: null })
    .where(and(inArray(files.id, ids), live, sql`not exists (select 1 from message_attachments a where a.file_id = ${files.id})`))
    .returning({ id: files.id, storageKey: files.storageKey });

/**
 * Marks deleted those of `ids` that no message carries any more (their chatroom was deleted) and
 * answers them, for their bytes to be removed. Run it in a transaction (see above).
 */
export async function markUnreferencedDeleted(tx: Executor, ids: string[], now: Date): Promise<Pick<FileRow, 'id' | 'storageKey'>[]> {
  if (ids.length === 0) return [];
  const locked = await tx.select({ id: files.id }).from(files).where(and(inArray(files.id, ids), live)).for('update');
  return locked.length === 0 ? [] : markDeletedIfUnreferenced(tx, locked.map((row) => row.id), now);
}

/**
 * The sweep of uploads no prompt took up: live files created before `before` that no message
 * carries, at most `limit`, marked deleted and answered (for their bytes to be removed). Files
 * another transaction holds (a send attaching one) are skipped. Run it in a transaction (see above).
 */
export async function sweepUnreferenced(tx: Executor, before: Date, now: Date, limit: number): Promise<Pick<FileRow, 'id' | 'storageKey'>[]> {
  const locked = await tx
    .select({ id: files.id })
    .from(files)
    .where(and(live, lt(files.createdAt, before), sql`not exists (select 1 from message_attachments a where a.file_id = ${files.id})`))
    .orderBy(asc(files.createdAt))
    .limit(limit)
    .for('update', { skipLocked: true });
  return locked.length === 0 ? [] : markDeletedIfUnreferenced(tx, locked.map((row) => row.id), now);
}

/** Removes the row of an upload nothing refers to yet (a request refused after it was stored). */
export async function deleteUnusedFile(tx: Executor, id: string): Promise<void> {
  await tx.delete(files).where(and(eq(files.id, id), sql`not exists (select 1 from message_attachments a where a.file_id = ${files.id})`));
}

/** Deleted files whose bytes were not confirmed removed (a store that failed), deleted before `before`. */
export function removalsToRetry(db: Executor, before: Date, limit: number): Promise<Pick<FileRow, 'id' | 'storageKey'>[]> {
  return db
    .select({ id: files.id, storageKey: files.storageKey })
    .from(files)
    .where(and(sql`${files.deletedAt} is not null`, isNull(files.bytesRemovedAt), lt(files.deletedAt, before)))
    .orderBy(asc(files.deletedAt))
    .limit(limit);
}

/** Remembers (or forgets, with null) the file's copy in Gemini's Files API. */
export async function rememberGeminiCopy(db: Executor, id: string, copy: { uri: string; expiresAt: Date } | null): Promise<void> {
  await db
    .update(files)
    .set({ geminiUri: copy?.uri ?? null, geminiExpiresAt: copy?.expiresAt ?? null })
    .where(eq(files.id, id));
}

/** The user's files of these ids, deleted or not (in no particular order). */
export async function findOwnedFiles(db: Executor, userId: string, ids: string[]): Promise<FileRow[]> {
  if (ids.length === 0) return [];
  return db
    .select()
    .from(files)
    .where(and(eq(files.userId, userId), inArray(files.id, ids)));
}

/**
 * Records a copy of a file whose original was deleted before it could be copied: the metadata alone,
 * deleted from the start (its key names no object), so the message that had it still says so.
 */
export async function insertDeletedCopy(tx: Executor, file: NewFile, now: Date): Promise<FileRow> {
  const [row] = await tx
    .insert(files)
    .values({ ...file, deletedAt: now, bytesRemovedAt: now })
    .returning();
  if (!row) throw new Error('insert into files returned no row');
  return row;
}
