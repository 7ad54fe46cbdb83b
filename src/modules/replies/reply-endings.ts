import type { Database } from '../../infra/db/client.js';
import { refundPrompt } from '../billing/allowance.js';
import { failReply, stopReply, type ReplyFailure } from './reply.repository.js';
import { refundsPrompt, type MessageRow, type UnfinishedStatus } from './reply-state.js';

/*
 * The two ways a reply ends early, each with its refund in the same transaction: whichever process
 * ends it (the worker, or the api for a reply nobody generates), the prompt is given back exactly
 * once, because only the one call that changed the row gets it back.
 */

/** Ends a reply as stopped with `text` (and the thoughts so far), if it is still in one of `from`; the row as stored, if this call ended it. */
export async function endStopped(
  database: Pick<Database, 'transaction'>,
  replyId: string,
  text: string,
  from: readonly UnfinishedStatus[],
  now: Date,
  thoughts: string | null = null,
): Promise<MessageRow | undefined> {
  return database.transaction(async (tx) => {
    const stopped = await stopReply(tx, replyId, text, from, now, thoughts);
    if (stopped?.allowanceDay && refundsPrompt('stop', text)) await refundPrompt(tx, stopped.userId, stopped.allowanceDay);
    return stopped;
  });
}

/** Ends an unfinished reply as failed with what the client is told; the row as stored, if this call ended it. */
export async function endFailed(
  database: Pick<Database, 'transaction'>,
  replyId: string,
  error: ReplyFailure,
  now: Date,
): Promise<MessageRow | undefined> {
  return database.transaction(async (tx) => {
    const failed = await failReply(tx, replyId, error, now);
    if (failed?.allowanceDay && refundsPrompt('fail', '')) await refundPrompt(tx, failed.userId, failed.allowanceDay);
    return failed;
  });
}
