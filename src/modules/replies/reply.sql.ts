import { sql, type SQL } from 'drizzle-orm';
import { FINISHED_STATUSES, UNFINISHED_STATUSES, type ReplyStatus } from './reply-state.js';

/*
 * The reply rules as SQL, for the statements that must say them inside a larger query. The status
 * list is written as literals, not parameters: the partial indexes of unfinished replies
 * (schema.ts, `role = 'model' and status in ('pending', 'streaming')`) serve a query only when the
 * planner can see that its condition implies theirs, which it cannot do through a parameter.
 */

/** `column` holds one of `states` (the machine's own names: no client text reaches this). */
export const statusIn = (column: string, states: readonly ReplyStatus[]): SQL =>
  sql.raw(`${column} in (${states.map((state) => `'${state}'`).join(', ')})`);

/** `alias` (a row of messages) is a reply that is not finished yet. */
export const isUnfinishedReply = (alias: string): SQL => sql`${sql.raw(alias)}.role = 'model' and ${statusIn(`${alias}.status`, UNFINISHED_STATUSES)}`;

/** `alias` (a row of messages) is a reply that has ended. */
export const isFinishedReply = (alias: string): SQL => sql`${sql.raw(alias)}.role = 'model' and ${statusIn(`${alias}.status`, FINISHED_STATUSES)}`;

/**
 * `alias` is its chatroom's head: no older reply of the chatroom is unfinished. Only the head is
 * ever generated, so a chatroom's replies run one at a time, in the order asked.
 */
export const isChatroomHead = (alias: string): SQL =>
  sql`not exists (select 1 from messages older where older.chatroom_id = ${sql.raw(alias)}.chatroom_id and ${isUnfinishedReply('older')} and older.seq < ${sql.raw(alias)}.seq)`;
