import { sql, type SQL } from 'drizzle-orm';
import type { Executor } from '../../infra/db/client.js';
import { columnsOf, executeRaw, rowOf } from '../../infra/db/raw-rows.js';
import { chatrooms, messages } from '../../infra/db/schema.js';
import { spendOneStatement } from '../billing/allowance.js';
import { isUnfinishedReply } from '../replies/reply.sql.js';
import type { ChatroomRow } from '../chatrooms/chatroom.repository.js';
import type { MessageRow } from '../replies/reply-state.js';

/*
 * The statements of a send, each doing as much as one statement can: a send is the product's hot
 * write, and each round trip to PostgreSQL costs as much as the work in it. Both run inside the
 * send's transaction, whose locks they take.
 */

/** The user's row, locked: all of a user's sends take turns on it. */
const lockUserRow = (userId: string) => sql`select id from users where id = ${userId} for no key update`;

/**
 * Locks the user (all of a user's sends take turns, so that the count of their unfinished replies in
 * `writeGeneration` sees every earlier send, whichever day's allowance it spent) and their chatroom
 * (sends to one chatroom take turns), and spends one prompt of `day` if the allowance has one left
 * (the row is created or incremented only while `used < limit`; `limit` null = unlimited). Undefined
 * when the user has no such chatroom (nothing is spent); `used` undefined when the allowance is used
 * up. The user is locked before the chatroom, as `lockSender` does: always in that order.
 */
export async function lockChatroomAndSpend(
  tx: Executor,
  userId: string,
  chatroomId: string,
  day: string,
  limit: number | null,
): Promise<{ room: ChatroomRow; used: number | undefined } | undefined> {
  const [row] = await executeRaw(
    tx,
    sql`with sender as (
      ${lockUserRow(userId)}
    ), room as (
      select chatrooms.* from chatrooms join sender on chatrooms.user_id = sender.id where chatrooms.id = ${chatroomId} for update of chatrooms
    ), spent as (
      ${spendOneStatement(userId, day, limit, sql`exists (select 1 from room)`)}
    )
    select ${columnsOf(chatrooms, 'room')}, (select used from spent) as spent_used from room`,
  );
  if (!row) return undefined;
  return { room: rowOf(chatrooms, row), used: row.spent_used === null ? undefined : Number(row.spent_used) };
}

/** The user's sends take turns (see `lockChatroomAndSpend`); the longer way of a send takes this lock first. */
export async function lockSender(tx: Executor, userId: string): Promise<void> {
  await executeRaw(tx, lockUserRow(userId));
}

/** The prompt of a generation: a new one to write, or the existing one a regenerated reply answers. */
export type PromptOf = { write: { id: string; parentId: string | null; content: string } } | { existing: MessageRow };

export interface NewGeneration {
  chatroomId: string;
  userId: string;
  prompt: PromptOf;
  replyId: string;
  /** The day whose allowance paid for the reply (a failed reply gives it back). */
  day: string;
  now: Date;
  /** Replies the user may have waiting or being generated at once. */
  maxUnfinished: number;
}

export interface WrittenGeneration {
  userMessage: MessageRow;
  reply: MessageRow;
  /** The ids of each one's siblings (same parent and role), oldest first, itself included: what the client shows. */
  siblingIds: { userMessage: string[]; reply: string[] };
  /** The user's replies already unfinished before this one (its fair-scheduling rank). */
  earlierUnfinished: number;
  /** Whether the chatroom had no unfinished reply: this one's turn is now. */
  chatroomWasIdle: boolean;
}

/**
 * Writes the prompt (unless it exists) and a pending reply, and makes the reply the chatroom's
 * current message, in one statement, unless the user already has `maxUnfinished` replies waiting or
 * being generated: then nothing is written and the answer is undefined. Run it in a later statement
 * than the user's lock (`lockChatroomAndSpend`, `lockSender`): its snapshot then sees every earlier
 * send of the user, so the cap cannot be raced past.
 */
export async function writeGeneration(tx: Executor, generation: NewGeneration): Promise<WrittenGeneration | undefined> {
  const { chatroomId, userId, prompt, replyId, day, now, maxUnfinished } = generation;
  const at = now.toISOString();
  const promptId = 'write' in prompt ? prompt.write.id : prompt.existing.id;
  const rows = [
    ...('write' in prompt
      ? [sql`(${promptId}::uuid, ${chatroomId}::uuid, ${userId}::uuid, ${prompt.write.parentId}::uuid, 'user', ${prompt.write.content}, 'done', null::date, ${at}::timestamptz, ${at}::timestamptz)`]
      : []),
    sql`(${replyId}::uuid, ${chatroomId}::uuid, ${userId}::uuid, ${promptId}::uuid, 'model', '', 'pending', ${day}::date, ${at}::timestamptz, null::timestamptz)`,
  ];
  const promptParent = 'write' in prompt ? prompt.write.parentId : prompt.existing.parentId;
  const idsOf = (where: SQL) => sql`coalesce((select string_agg(id::text, ',' order by seq) from messages where ${where}), '')`;
  const promptSiblings = idsOf(
    promptParent === null ? sql`parent_id is null and chatroom_id = ${chatroomId} and role = 'user'` : sql`parent_id = ${promptParent} and role = 'user'`,
  );
  const replySiblings = idsOf(sql`parent_id = ${promptId} and role = 'model'`);
  const result = await executeRaw(
    tx,
    sql`with counts as (
      select count(*)::int as user_unfinished, (count(*) filter (where u.chatroom_id = ${chatroomId}))::int as room_unfinished
      from messages u where u.user_id = ${userId} and ${isUnfinishedReply('u')}
    ), inserted as (
      insert into messages (id, chatroom_id, user_id, parent_id, role, content, status, allowance_day, created_at, completed_at, updated_at)
      select v.*, ${at}::timestamptz from (values ${sql.join(rows, sql`, `)}) v
      where (select user_unfinished from counts) < ${maxUnfinished}
      returning *
    ), moved as (
      update chatrooms set current_message_id = ${replyId} where id = ${chatroomId} and exists (select 1 from inserted)
    )
    select ${columnsOf(messages, 'inserted')}, counts.user_unfinished, counts.room_unfinished, ${promptSiblings} as prompt_siblings, ${replySiblings} as reply_siblings
    from counts left join inserted on true order by inserted.seq`,
  );
  const counts = result[0];
  if (!counts || counts.id === null) return undefined; // the cap: nothing was written
  const written = result.map((raw) => rowOf(messages, raw));
  const reply = written.find((row) => row.id === replyId);
  const userMessage = 'write' in prompt ? written.find((row) => row.id === promptId) : prompt.existing;
  if (!reply || !userMessage) throw new Error('writing a generation returned fewer rows than it wrote');
  // The statement saw the messages before it wrote: the new ones join their siblings last (the newest).
  const listed = (ids: unknown) => String(ids).split(',').filter(Boolean);
  const siblingIds = {
    userMessage: 'write' in prompt ? [...listed(counts.prompt_siblings), promptId] : listed(counts.prompt_siblings),
    reply: [...listed(counts.reply_siblings), replyId],
  };
  return { userMessage, reply, siblingIds, earlierUnfinished: Number(counts.user_unfinished), chatroomWasIdle: Number(counts.room_unfinished) === 0 };
}
