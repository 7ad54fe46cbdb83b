import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../../infra/clock.js';
import { STREAM_START, type ReplyStream } from '../../infra/reply-stream.js';
import type { StopSignals } from '../../infra/stop-signals.js';
import type { ReplyFollower } from './reply-follower.js';
import type { ReplyStore } from './reply-store.js';
import { isFinished, UNFINISHED_STATUSES, type MessageRow } from './reply-state.js';

/** A stop that could not reach the worker generating the reply (the signal channel is down). */
export class StopUnavailable extends Error {
  override name = 'StopUnavailable';
}

/** What moves a chatroom on once its head has ended: the generation module's scheduler. */
export interface NextTurn {
  scheduleNext(chatroomId: string): Promise<void>;
}

type StopperDeps = {
  replies: Pick<ReplyStore, 'find' | 'unfinishedIn' | 'endStopped'>;
  signals: Pick<StopSignals, 'request'>;
  stream: Pick<ReplyStream, 'append'>;
  follower: Pick<ReplyFollower, 'follow'>;
  scheduler: NextTurn;
  clock: Clock;
  log: FastifyBaseLogger;
  /** How long a stop waits for the worker to end the reply before ending it itself. */
  waitMs: number;
};

export type ReplyStopper = ReturnType<typeof createReplyStopper>;

/** The api's side of stopping (the worker's is running-replies.ts): one reply, or every reply of a chatroom that is being deleted. */
export function createReplyStopper({ replies, signals, stream, follower, scheduler, clock, log, waitMs }: StopperDeps) {
  async function announceEnd(replyId: string, final?: MessageRow) {
    await stream.append(replyId, { type: 'end', final }).catch((error: unknown) => log.warn({ err: error, replyId }, 'could not end the reply stream'));
  }

  /** Ends a reply nobody is generating: its followers end, and the next reply of the chatroom gets its turn. */
  async function stopPending(reply: MessageRow): Promise<MessageRow | undefined> {
    const stopped = await replies.endStopped(reply.id, '', ['pending'], clock.now());
    if (!stopped) return undefined;
    // An earlier attempt may have streamed text that this ending drops.
    await stream.append(reply.id, { type: 'reset' }).catch(() => undefined);
    await announceEnd(reply.id, stopped);
    await scheduler.scheduleNext(reply.chatroomId).catch((error: unknown) => log.error({ err: error }, 'could not schedule the next reply'));
    return stopped;
  }

  return {
    /**
     * Stops a reply wherever it runs and answers it as it ends: the worker generating it aborts the
     * model call and keeps the text so far. A reply nobody is generating is ended here. If no
     * worker ends it within `waitMs` (one was killed), the text followed so far is kept here.
     */
    async stop(reply: MessageRow): Promise<MessageRow> {
      if (isFinished(reply)) return reply;
      const signalled = await signals.request(reply.id).then(
        () => true,
        (error: unknown) => {
          log.error({ err: error, replyId: reply.id }, 'could not signal the stop');
          return false;
        },
      );
      const pending = await stopPending(reply);
      if (pending) return pending;
      if (!signalled) {
        // A reply being generated can only be stopped through the signal: say so rather than pretend.
        throw new StopUnavailable(`the stop of reply ${reply.id} could not be signalled`);
      }

      const waiting = new AbortController();
      const timer = setTimeout(() => waiting.abort(), waitMs);
      let text = '';
      let thoughts = '';
      try {
        for await (const batch of follower.follow(reply.id, STREAM_START, waiting.signal)) {
          for (const event of batch) {
            if (event.type === 'end') return event.reply ?? reply;
            if (event.type === 'delta') text += event.text;
            else if (event.type === 'thought') thoughts += event.text;
            else if (event.type === 'reset') [text, thoughts] = ['', ''];
          }
        }
      } finally {
        clearTimeout(timer);
      }
      log.warn({ replyId: reply.id }, 'no worker ended the stopped reply in time; ending it with the text seen so far');
      const stopped = await replies.endStopped(reply.id, text, UNFINISHED_STATUSES, clock.now(), thoughts || null);
      if (stopped) {
        await announceEnd(reply.id, stopped);
        await scheduler.scheduleNext(reply.chatroomId);
      }
      return stopped ?? (await replies.find(reply.id)) ?? reply;
    },

    /**
     * Before a chatroom is deleted: every pending reply of it is stopped (giving its prompt back).
     * Returns what to do once it is deleted: stop the generations still running and end the streams
     * of those replies, so that their followers end (they find the reply gone).
     */
    async chatroomDeleting(chatroomId: string): Promise<{ deleted(): Promise<void> }> {
      const unfinished = await replies.unfinishedIn(chatroomId);
      for (const reply of unfinished) await replies.endStopped(reply.id, '', ['pending'], clock.now());
      return {
        async deleted() {
          for (const reply of unfinished) {
            // Signalled only once the rows are gone: a worker that stopped earlier could store its reply
            // as stopped and end its stream with `done` before the delete, racing it. Now it finds the
            // reply gone, and every follower ends with MESSAGE_NOT_FOUND. A missed signal costs
            // nothing either: the worker finds the reply gone when it tries to store it.
            await signals.request(reply.id).catch((error: unknown) => log.warn({ err: error, replyId: reply.id }, 'could not signal the stop'));
            await announceEnd(reply.id);
          }
        },
      };
    },
  };
}
