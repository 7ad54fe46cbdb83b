import { and, eq, sql, type SQL } from 'drizzle-orm';
import type { Executor } from '../../infra/db/client.js';
import { columnsOf, selectRowsOf } from '../../infra/db/raw-rows.js';
import { chatrooms } from '../../infra/db/schema.js';
import type { Position } from '../../http/pagination.js';

export type ChatroomRow = typeof chatrooms.$inferSelect;

/** Settings columns to write: a field left undefined is not touched, null resets it to the server default. */
export interface SettingsChange {
  systemInstruction?: string | null | undefined;
  model?: string | null | undefined;
  temperature?: number | null | undefined;
  thinking?: ThinkingSetting | null | undefined;
  /** null = the server default (off). */
  grounding?: boolean | null | undefined;
}

export type ThinkingSetting = NonNullable<ChatroomRow['thinking']>;

function settingsColumns(change: SettingsChange | undefined): Partial<Pick<ChatroomRow, 'systemInstruction' | 'model' | 'temperature' | 'thinking' | 'grounding'>> {
  if (!change) return {};
  return {
    ...(change.systemInstruction === undefined ? {} : { systemInstruction: change.systemInstruction }),
    ...(change.model === undefined ? {} : { model: change.model }),
    ...(change.temperature === undefined ? {} : { temperature: change.temperature }),
    ...(change.thinking === undefined ? {} : { thinking: change.thinking }),
    ...(change.grounding === undefined ? {} : { grounding: change.grounding ?? false }),
  };
}

const owned = (userId: string, id: string) => and(eq(chatrooms.id, id), eq(chatrooms.userId, userId));

export async function insertChatroom(db: Executor, userId: string, title: string, settings: SettingsChange | undefined, now: Date): Promise<ChatroomRow> {
  const [row] = await db
    .insert(chatrooms)
    .values({ userId, title, ...settingsColumns(settings), createdAt: now, updatedAt: now })
    .returning();
  if (!row) throw new Error('insert into chatrooms returned no row');
  return row;
}

/** The statement of `listChatrooms` (bench/pglite-list-query.ts also runs it on PGlite's own client). */
export function listChatroomsStatement(userId: string, limit: number, after?: Position): SQL {
  const older = after ? sql`and (created_at, id) < (${after.createdAt.toISOString()}::timestamptz, ${after.id}::uuid)` : sql``;
  return sql`select ${columnsOf(chatrooms)} from chatrooms where user_id = ${userId} ${older} order by created_at desc, id desc limit ${limit}`;
}

/** Newest first; `limit` rows after `after`. Prepared (it serves every list the cache does not). */
export function listChatrooms(db: Executor, userId: string, limit: number, after?: Position): Promise<ChatroomRow[]> {
  return selectRowsOf(db, chatrooms, listChatroomsStatement(userId, limit, after));
}

/** The chatroom if `userId` owns it: another user's room is as absent as a missing one. */
export async function findOwnedChatroom(db: Executor, userId: string, id: string): Promise<ChatroomRow | undefined> {
  const [row] = await db.select().from(chatrooms).where(owned(userId, id));
  return row;
}

/**
 * The same, locked for the rest of the transaction: sends to one chatroom then take their turns, so a
 * prompt and its reply are adjacent in the conversation and no reply answers another send's prompt.
 */
export async function lockOwnedChatroom(db: Executor, userId: string, id: string): Promise<ChatroomRow | undefined> {
  const [row] = await db.select().from(chatrooms).where(owned(userId, id)).for('update');
  return row;
}

export async function updateChatroom(
  db: Executor,
  userId: string,
  id: string,
  change: { title?: string | undefined; settings?: SettingsChange | undefined },
  now: Date,
): Promise<ChatroomRow | undefined> {
  const [row] = await db
    .update(chatrooms)
    .set({ ...(change.title === undefined ? {} : { title: change.title }), ...settingsColumns(change.settings), updatedAt: now })
    .where(owned(userId, id))
    .returning();
  return row;
}

/** Moves the chatroom's current message (the tip of the branch on screen). */
export async function setCurrentMessage(db: Executor, chatroomId: string, messageId: string): Promise<void> {
  await db.update(chatrooms).set({ currentMessageId: messageId }).where(eq(chatrooms.id, chatroomId));
}

export async function findChatroom(db: Executor, id: string): Promise<ChatroomRow | undefined> {
  const [row] = await db.select().from(chatrooms).where(eq(chatrooms.id, id));
  return row;
}

/**
 * Stores a generated title only if the chatroom still has `untitled` as its title: one conditional
 * statement, so an owner's rename that lands first always wins.
 */
export async function titleIfUntitled(db: Executor, id: string, untitled: string, title: string, now: Date): Promise<ChatroomRow | undefined> {
  const [row] = await db
    .update(chatrooms)
    .set({ title, updatedAt: now })
    .where(and(eq(chatrooms.id, id), eq(chatrooms.title, untitled)))
    .returning();
  return row;
}

/** Its messages go with it (ON DELETE CASCADE). */
export async function deleteChatroom(db: Executor, userId: string, id: string): Promise<boolean> {
  const rows = await db.delete(chatrooms).where(owned(userId, id)).returning({ id: chatrooms.id });
  return rows.length > 0;
}
