import { sql } from 'drizzle-orm';
import type { Executor } from '../../infra/db/client.js';
import { columnsOf, executeRaw, jsonColumn, rowOf } from '../../infra/db/raw-rows.js';
import { chatrooms, messages } from '../../infra/db/schema.js';
import { spendOneStatement } from '../billing/allowance.js';
import type { ChatroomRow } from '../chatrooms/chatroom.repository.js';
import { isUnfinishedReply } from '../replies/reply.sql.js';
import type { MessageRow } from '../replies/reply-state.js';
import { siblingIdsSql } from './message-tree.repository.js';

/*
 * The two statements of every send (and regenerate), inside its transaction: the locks, then the
 * write. A send is the product's hot write, and each round trip to PostgreSQL costs as much as the
 * work in it: with BEGIN and COMMIT a plain send is four round trips.
 */

/**
 * Locks the user (all of a user's sends take turns, so that the allowance and the count of their
 * unfinished replies in `writeGeneration` see every earlier send) and then their chatroom (sends to
 * one chatroom take turns), always in that order. Undefined when the user has no such chatroom.
 */
export async function lockSenderAndChatroom(tx: Executor, userId: string, chatroomId: string): Promise<ChatroomRow | undefined> {
  const [row] = await executeRaw(
    tx,
    sql`with sender as (
      select id from users where id = ${userId} for no key update
    )
    select ${columnsOf(chatrooms, 'room')} from chatrooms room join sender on room.user_id = sender.id
    where room.id = ${chatroomId} for update of room`,
  );
  return row && rowOf(chatrooms, row);
}

/** The prompt of a generation: a new one to write, or the existing one a regenerated reply answers. */
export type PromptOf = { write: { id: string; parentId: string | null; content: string } } | { existing: MessageRow };

export interface NewGeneration {
  chatroomId: string;
  userId: string;
  prompt: PromptOf;
  replyId: string;
  /** The day whose allowance pays for the reply (a failed reply gives it back), and its limit (null = unlimited). */
  day: string;
  dailyLimit: number | null;
  now: Date;
  /** Replies the user may have waiting or being generated at once. */
  maxUnfinished: number;
}

export type WriteOutcome =
  | {
      kind: 'written';
      userMessage: MessageRow;
      reply: MessageRow;
      /** The ids of each one's siblings (same parent and role), oldest first, itself included: what the client shows. */
      siblingIds: { userMessage: string[]; reply: string[] };
      /** Prompts of the day spent, this one included. */
      used: number;
      /** The user's replies already unfinished before this one (its fair-scheduling rank). */
      earlierUnfinished: number;
      /** Whether the chatroom had no unfinished reply: this one's turn is now. */
      chatroomWasIdle: boolean;
    }
  /** Nothing was written or spent: the day's allowance is used up, or the user has too many replies unfinished. */
  | { kind: 'quota exceeded' }
  | { kind: 'too many unfinished' };

/**
 * Spends one prompt of the day, writes the prompt (unless it exists) and a pending reply, and makes
 * the reply the chatroom's current message, in one statement; or, when the allowance is used up
 * (checked first) or the user already has `maxUnfinished` replies waiting or being generated, writes
 * and spends nothing. Run it after `lockSenderAndChatroom`, in a later statement: its snapshot then
 * sees every earlier send of the user, so neither limit can be raced past.
 */
export async function writeGeneration(tx: Executor, generation: NewGeneration): Promise<WriteOutcome> {
  const { chatroomId, userId, prompt, replyId, day, dailyLimit, now, maxUnfinished } = generation;
  const at = now.toISOString();
  const promptId = 'write' in prompt ? prompt.write.id : prompt.existing.id;
  const promptParent = 'write' in prompt ? prompt.write.parentId : prompt.existing.parentId;
  const newRow = (row: { id: string; parentId: string | null; role: 'user' | 'model'; content: string; status: 'done' | 'pending' }) =>
    sql`select ${row.id}::uuid as id, ${row.parentId}::uuid as parent_id, ${row.role} as role, ${row.content} as content, ${row.status} as status`;
  const newRows = [
    ...('write' in prompt ? [newRow({ id: promptId, parentId: promptParent, role: 'user', content: prompt.write.content, status: 'done' })] : []),
    newRow({ id: replyId, parentId: promptId, role: 'model', content: '', status: 'pending' }),
  ];
  const [row] = await executeRaw(
    tx,
    sql`with counts as (
      select count(*)::int as user_unfinished, (count(*) filter (where u.chatroom_id = ${chatroomId}))::int as room_unfinished
      from messages u where u.user_id = ${userId} and ${isUnfinishedReply('u')}
    ), spent as (
      ${spendOneStatement(userId, day, dailyLimit, sql`(select user_unfinished from counts) < ${maxUnfinished}`)}
    ), written as (
      -- One insert, the prompt first: seq is taken in this order, and a reply is always newer than its prompt.
      insert into messages (id, chatroom_id, user_id, parent_id, role, content, status, allowance_day, created_at, completed_at, updated_at)
      select id, ${chatroomId}::uuid, ${userId}::uuid, parent_id, role, content, status,
        case when role = 'model' then ${day}::date end, ${at}::timestamptz, case when status = 'done' then ${at}::timestamptz end, ${at}::timestamptz
      from (${sql.join(newRows, sql` union all `)}) new_rows
      where exists (select 1 from spent)
      order by role = 'model'
      returning ${columnsOf(messages)}
    ), moved as (
      update chatrooms set current_message_id = ${replyId} where id = ${chatroomId} and exists (select 1 from written)
    )
    select counts.user_unfinished, counts.room_unfinished, (select used from spent) as used,
      (select used from daily_usage where user_id = ${userId} and day = ${day}::date) as used_before,
      (select row_to_json(m) from written m where m.id = ${replyId}) as reply,
      (select row_to_json(m) from written m where m.id = ${promptId}) as prompt,
      ${siblingIdsSql({ chatroomId, parentId: promptParent, role: 'user' })} as prompt_siblings,
      ${siblingIdsSql({ chatroomId, parentId: promptId, role: 'model' })} as reply_siblings
    from counts`,
  );
  if (!row) throw new Error('writing a generation returned no row');
  if (row.used === null) {
    // The statement's snapshot is from before its own spending: `used_before` is the day's count as the send found it.
    const usedBefore = row.used_before === null ? 0 : Number(row.used_before);
    return dailyLimit !== null && usedBefore >= dailyLimit ? { kind: 'quota exceeded' } : { kind: 'too many unfinished' };
  }
  const toRow = (json: unknown) => rowOf(messages, jsonColumn<Record<string, unknown>>(json));
  const reply = toRow(row.reply);
  const userMessage = 'write' in prompt ? toRow(row.prompt) : prompt.existing;
  // The statement saw the messages before it wrote: the new ones join their siblings last (the newest).
  const promptSiblings = jsonColumn<string[]>(row.prompt_siblings);
  return {
    kind: 'written',
    userMessage,
    reply,
    siblingIds: {
      userMessage: 'write' in prompt ? [...promptSiblings, promptId] : promptSiblings,
      reply: [...jsonColumn<string[]>(row.reply_siblings), replyId],
    },
    used: Number(row.used),
    earlierUnfinished: Number(row.user_unfinished),
    chatroomWasIdle: Number(row.room_unfinished) === 0,
  };
}
