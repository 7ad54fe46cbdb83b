import type { Database } from '../../infra/db/client.js';
import { endFailed, endStopped } from './reply-endings.js';
import {
  chatroomHead,
  claimTurn,
  completeReply,
  findReply,
  firstFinishedReplyOf,
  releaseReply,
  staleChatroomHeads,
  unfinishedRepliesIn,
  unfinishedReplyCounts,
  type ReplyFailure,
  type ReplyResult,
} from './reply.repository.js';
import type { UnfinishedStatus } from './reply-state.js';

export type ReplyStore = ReturnType<typeof createReplyStore>;

/**
 * The replies' data access as one object bound to a database: what the reply core and the
 * generation module are given (narrowed with Pick), and what a unit test replaces with a fake in
 * memory. Each method is one statement or one transaction of reply.repository.ts / reply-endings.ts.
 */
export function createReplyStore(database: Pick<Database, 'db' | 'transaction'>) {
  const { db } = database;
  return {
    find: (id: string) => findReply(db, id),
    firstFinishedOf: (chatroomId: string) => firstFinishedReplyOf(db, chatroomId),
    chatroomHead: (chatroomId: string) => chatroomHead(db, chatroomId),
    unfinishedIn: (chatroomId: string) => unfinishedRepliesIn(db, chatroomId),
    unfinishedCounts: (now: Date) => unfinishedReplyCounts(db, now),
    staleChatroomHeads: (before: Date, afterChatroomId: string | undefined, limit: number) => staleChatroomHeads(db, before, afterChatroomId, limit),
    claimTurn: (id: string, now: Date, maxTurns: number, serverModel: string) => claimTurn(db, id, now, maxTurns, serverModel),
    complete: (id: string, result: ReplyResult, now: Date) => completeReply(db, id, result, now),
    release: (id: string, now: Date) => releaseReply(db, id, now),
    endStopped: (id: string, text: string, from: readonly UnfinishedStatus[], now: Date, thoughts?: string | null) =>
      endStopped(database, id, text, from, now, thoughts),
    endFailed: (id: string, error: ReplyFailure, now: Date) => endFailed(database, id, error, now),
  };
}
