import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../../infra/clock.js';
import type { Database } from '../../infra/db/client.js';
import { withTimeout } from '../../infra/deadline.js';
import { STREAM_START, type ReplyStream } from '../../infra/reply-stream.js';
import type { StopSignals } from '../../infra/stop-signals.js';
import { refundPrompt } from '../billing/allowance.js';
import type { ReplyFollower } from './reply-follower.js';
import { findReply, stopReply, unfinishedRepliesIn, type MessageRow } from './reply.repository.js';
import type { Scheduler } from './scheduling.js';

const CHECK_TIMEOUT_MS = 1_000;

/** A stop that could not reach the worker generating the reply (the signal channel is down). */
export class StopUnavailable extends Error {
  override name = 'StopUnavailable';
}

/** The abort reason of a generation that its owner stopped. */
export class StopRequested extends Error {
  override name = 'StopRequested';
}

/**
 * Ends a reply as stopped with `text`, if it is still in one of `from`; a reply stopped before
 * its first text gives its prompt back, in the same transaction, exactly once.
 */
export async function endStopped(
  database: Pick<Database, 'transaction'>,
  replyId: string,
  text: string,
  from: ('pending' | 'streaming')[],
  now: Date,
): Promise<MessageRow | undefined> {
  return database.transaction(async (tx) => {
    const stopped = await stopReply(tx, replyId, text, from, now);
    if (stopped && text === '' && stopped.allowanceDay) await refundPrompt(tx, stopped.userId, stopped.allowanceDay);
    return stopped;
  });
}

/**
 * The worker's side: the replies this process is generating, each with an abort controller that a
 * stop request (from any process, through the signals) aborts with StopRequested.
 */
export function createRunningReplies({ signals, log }: { signals: StopSignals; log: FastifyBaseLogger }) {
  const running = new Map<string, AbortController>();
  let subscribed: Promise<void> | undefined;
  const onStop = (replyId: string) => running.get(replyId)?.abort(new StopRequested(`reply ${replyId} was stopped`));

  return {
    /** Starts listening for stop requests (once per process). */
    listen(): Promise<void> {
      subscribed ??= signals.subscribe(onStop).catch((error: unknown) => {
        subscribed = undefined;
        log.error({ err: error }, 'could not subscribe to stop requests');
      });
      return subscribed;
    },
    /**
     * Registers a generation before it starts, then checks for a stop requested earlier: a request
     * lands either in the registry or in the check, never in neither.
     */
    async register(replyId: string): Promise<{ signal: AbortSignal; dispose(): void }> {
      const controller = new AbortController();
      running.set(replyId, controller);
      const dispose = () => {
        if (running.get(replyId) === controller) running.delete(replyId);
      };
      try {
        if (await withTimeout(signals.isRequested(replyId), CHECK_TIMEOUT_MS, 'the stop signals')) onStop(replyId);
      } catch (error) {
        log.warn({ err: error, replyId }, 'could not check for a stop request; the published one still reaches us');
      }
      return { signal: controller.signal, dispose };
    },
  };
}

type StopperDeps = {
  database: Pick<Database, 'db' | 'transaction'>;
  signals: Pick<StopSignals, 'request'>;
  stream: Pick<ReplyStream, 'append'>;
  follower: Pick<ReplyFollower, 'follow'>;
  scheduler: Pick<Scheduler, 'scheduleNext'>;
  clock: Clock;
  log: FastifyBaseLogger;
  /** How long a stop waits for the worker to end the reply before ending it itself. */
  waitMs: number;
};

export type ReplyStopper = ReturnType<typeof createReplyStopper>;

/** The api's side of stopping: one reply, or every reply of a chatroom that is being deleted. */
export function createReplyStopper({ database, signals, stream, follower, scheduler, clock, log, waitMs }: StopperDeps) {
  async function announceEnd(replyId: string, final?: MessageRow) {
    await stream.append(replyId, { type: 'end', final }).catch((error: unknown) => log.warn({ err: error, replyId }, 'could not end the reply stream'));
  }

  /** Ends a reply nobody is generating: its followers end, and the next reply of the chatroom gets its turn. */
  async function stopPending(reply: MessageRow): Promise<MessageRow | undefined> {
    const stopped = await endStopped(database, reply.id, '', ['pending'], clock.now());
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
      if (reply.status === 'done' || reply.status === 'failed') return reply;
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
      try {
        for await (const batch of follower.follow(reply.id, STREAM_START, waiting.signal)) {
          for (const event of batch) {
            if (event.type === 'end') return event.reply ?? reply;
            text = event.type === 'delta' ? text + event.text : '';
          }
        }
      } finally {
        clearTimeout(timer);
      }
      log.warn({ replyId: reply.id }, 'no worker ended the stopped reply in time; ending it with the text seen so far');
      const stopped = await endStopped(database, reply.id, text, ['pending', 'streaming'], clock.now());
      if (stopped) {
        await announceEnd(reply.id, stopped);
        await scheduler.scheduleNext(reply.chatroomId);
      }
      return stopped ?? (await findReply(database.db, reply.id)) ?? reply;
    },

    /**
     * Before a chatroom is deleted: every pending reply of it is stopped (giving its prompt back).
     * Returns what to do once it is deleted: stop the generations still running and end the streams
     * of those replies, so that their followers end (they find the reply gone).
     */
    async chatroomDeleting(chatroomId: string): Promise<{ deleted(): Promise<void> }> {
      const replies = await unfinishedRepliesIn(database.db, chatroomId);
      for (const reply of replies) await endStopped(database, reply.id, '', ['pending'], clock.now());
      return {
        async deleted() {
          for (const reply of replies) {
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
