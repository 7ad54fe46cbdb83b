import type { GenerationQueue } from '../../infra/queue/generation-queue.js';
import type { ReplyStore } from '../replies/reply-store.js';
import type { MessageRow } from '../replies/reply-state.js';

type Deps = {
  replies: Pick<ReplyStore, 'chatroomHead'>;
  queue: Pick<GenerationQueue, 'enqueue'>;
};

export type Scheduler = ReturnType<typeof createScheduler>;

/**
 * Order and fairness.
 *
 * Order: only the oldest unfinished reply of a chatroom (its head) is ever enqueued; when it
 * finishes, the job schedules the next. So one chatroom's replies run one at a time, in the order
 * asked, each seeing the one before, with any number of workers. The job checks again before it
 * runs (a race or the recovery sweep may enqueue a reply early) and defers if it is not the head.
 *
 * Fairness: a job's priority is 1 + the number of the same user's replies asked for before it and
 * still unfinished. A user with one prompt waiting goes ahead of the 2nd..100th of someone's burst.
 */
export function createScheduler({ replies, queue }: Deps) {
  /** Enqueues a reply known to be its chatroom's head, behind `earlierUnfinished` replies of the same user. */
  const enqueueHead = (replyId: string, earlierUnfinished: number): Promise<void> => queue.enqueue(replyId, { priority: 1 + earlierUnfinished });

  /** The unfinished reply that must finish before `reply` may run; undefined when it is its turn. */
  async function blockerOf(reply: MessageRow): Promise<MessageRow | undefined> {
    const head = (await replies.chatroomHead(reply.chatroomId))?.head;
    return head && head.id !== reply.id && head.seq < reply.seq ? head : undefined;
  }

  return {
    blockerOf,

    /** Enqueues the reply whose turn it is in the chatroom, if there is one. Idempotent. */
    async scheduleNext(chatroomId: string): Promise<void> {
      const next = await replies.chatroomHead(chatroomId);
      if (next) await enqueueHead(next.head.id, next.earlierUnfinished);
    },

    enqueueHead,
  };
}
