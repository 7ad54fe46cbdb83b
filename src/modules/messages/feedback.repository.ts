import { sql } from 'drizzle-orm';
import type { Executor } from '../../infra/db/client.js';
import { columnsOf, executeRaw, rowOf } from '../../infra/db/raw-rows.js';
import { messages } from '../../infra/db/schema.js';
import type { MessageRow } from '../replies/reply-state.js';
import { isFinishedReply } from '../replies/reply.sql.js';

export interface FeedbackChange {
  rating: 'up' | 'down';
  reason: MessageRow['feedbackReason'];
  comment: string | null;
}

/** The reply as it now stands, and the rating it had before (with the model it was counted under). */
export interface FeedbackWritten {
  reply: MessageRow;
  previous: { rating: 'up' | 'down'; model: string } | null;
}

/**
 * Sets (change) or clears (null) the rating of a finished reply of the user's, in one statement that
 * also reads the rating it replaces, under the row's lock: two clicks at once are counted one after
 * the other. The rating is counted under the model that wrote the reply; a reply stored before that
 * was recorded (or never begun) falls back to the chatroom's model now (its setting, or `defaultModel`).
 */
export async function writeFeedback(
  db: Executor,
  where: { userId: string; chatroomId: string; replyId: string },
  change: FeedbackChange | null,
  defaultModel: string,
  now: Date,
): Promise<FeedbackWritten | undefined> {
  const set = change
    ? sql`feedback_rating = ${change.rating}, feedback_reason = ${change.reason}, feedback_comment = ${change.comment},
        feedback_model = coalesce(m.model, (select c.model from chatrooms c where c.id = m.chatroom_id), ${defaultModel}),
        feedback_updated_at = ${now.toISOString()}::timestamptz`
    : sql`feedback_rating = null, feedback_reason = null, feedback_comment = null, feedback_model = null, feedback_updated_at = null`;
  const [raw] = await executeRaw(
    db,
    sql`with prior as (
      select r.id, r.feedback_rating, r.feedback_model from messages r
      where r.id = ${where.replyId} and r.chatroom_id = ${where.chatroomId} and r.user_id = ${where.userId}
        and ${isFinishedReply('r')}
      for update
    )
    update messages m set ${set}
    from prior where m.id = prior.id
    returning ${columnsOf(messages, 'm')}, prior.feedback_rating as previous_rating, prior.feedback_model as previous_model`,
  );
  if (!raw) return undefined;
  const rating = raw.previous_rating;
  return {
    reply: rowOf(messages, raw),
    previous: rating === 'up' || rating === 'down' ? { rating, model: typeof raw.previous_model === 'string' ? raw.previous_model : defaultModel } : null,
  };
}
