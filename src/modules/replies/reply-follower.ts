import type { FastifyBaseLogger } from 'fastify';
import type { Grounding } from '../../integrations/gemini/grounding.js';
import { STREAM_START, type ReplyStream, type ReplyStreamEntry } from '../../infra/reply-stream.js';
import { replyFromJson } from './reply.repository.js';
import type { ReplyStore } from './reply-store.js';
import { isFinished, type MessageRow } from './reply-state.js';

/** An event of a followed reply, with the position to resume after it. */
export type FollowedEvent =
  | { id: string; type: 'delta'; text: string }
  | { id: string; type: 'thought'; text: string }
  | { id: string; type: 'grounding'; grounding: Grounding }
  | { id: string; type: 'reset' }
  /** The last event: the reply as stored, or undefined when it is gone (its chatroom was deleted). */
  | { id: string; type: 'end'; reply: MessageRow | undefined };

/**
 * Why a follower's stream read is aborted: every follow ends so. A reason given up front spares the
 * DOMException (with its stack trace) that abort() would build each time.
 */
const FOLLOWING_ENDED = new Error('the follower is done with this stream');

/** The position of an end that was learnt from the database rather than from the stream. */
export const END_POSITION = 'end';

type Deps = {
  replies: Pick<ReplyStore, 'find'>;
  stream: Pick<ReplyStream, 'read' | 'range'>;
  log: FastifyBaseLogger;
  /** How often a quiet follower checks the database: a reply that vanished or ended unseen still ends its followers. */
  recheckMs: number;
};

export type ReplyFollower = ReturnType<typeof createReplyFollower>;

/**
 * The one home for following a reply: SSE streams, the waiting POST, resumption and stop all read
 * a reply through here. Yields batches of events after `after`; the first batch is whatever was
 * already there (possibly empty), then live ones; always ends with an `end` event, even when the
 * stream is unavailable (the database is then polled) or the reply was deleted.
 */
export function createReplyFollower({ replies, stream, log, recheckMs }: Deps) {
  function toEvents(entries: ReplyStreamEntry[]): { events: FollowedEvent[]; endId: string | undefined; final: MessageRow | undefined } {
    const events: FollowedEvent[] = [];
    for (const { id, event } of entries) {
      if (event.type === 'end') return { events, endId: id, final: replyFromJson(event.final) };
      if (event.type === 'reset') events.push({ id, type: 'reset' });
      else if (event.type === 'grounding') events.push({ id, type: 'grounding', grounding: event.grounding });
      else events.push({ id, type: event.type, text: event.text });
    }
    return { events, endId: undefined, final: undefined };
  }

  /**
   * `knownUnfinished`: the caller read the reply unfinished a moment ago, so the database need not
   * be asked right after the backlog (an end it missed is in the stream, or found by the recheck).
   */
  async function* follow(replyId: string, after: string, signal: AbortSignal, { knownUnfinished = false } = {}): AsyncGenerator<FollowedEvent[]> {
    // Our own signal for the stream read, so that ending on a database check also ends the read.
    const reading = new AbortController();
    const stopReading = () => reading.abort(FOLLOWING_ENDED);
    signal.addEventListener('abort', stopReading, { once: true });
    const batches = stream.read(replyId, after, reading.signal);
    let last = after;
    let next: Promise<IteratorResult<ReplyStreamEntry[]>> | undefined = batches.next();
    let backlogIn = false; // until the backlog is in, the database is not checked
    let checkSoon = !knownUnfinished; // right after the backlog: a reply already finished needs no waiting
    const never = new Promise<never>(() => undefined);
    const aborted = new Promise<'aborted'>((resolve) => signal.addEventListener('abort', () => resolve('aborted'), { once: true }));
    try {
      while (!signal.aborted) {
        let timer: NodeJS.Timeout | undefined;
        const recheck = new Promise<'recheck'>((resolve) => (timer = setTimeout(() => resolve('recheck'), checkSoon ? 0 : recheckMs)));
        const outcome = await Promise.race([
          next?.then((batch) => ({ batch }), (error: unknown) => ({ error })) ?? never,
          backlogIn || !next ? recheck : never,
          aborted,
        ]);
        clearTimeout(timer);
        if (outcome === 'aborted') return;

        if (outcome === 'recheck') {
          checkSoon = false;
          const reply = await replies.find(replyId);
          if (reply && !isFinished(reply)) continue;
          // Finished (or gone) without an end in the stream yet: whatever the stream holds, then the end.
          const rest = reply && next ? await stream.range(replyId, last).catch(() => []) : [];
          const { events, endId } = toEvents(rest);
          yield [...events, { id: endId ?? END_POSITION, type: 'end', reply }];
          return;
        }
        if ('error' in outcome) {
          log.warn({ err: outcome.error, replyId }, 'reply stream unavailable; following the reply in the database');
          next = undefined;
          continue;
        }
        if (outcome.batch.done) return;
        const { events, endId, final } = toEvents(outcome.batch.value);
        last = outcome.batch.value.at(-1)?.id ?? last;
        if (endId !== undefined) {
          // The end names the reply as stored when its writer had it: a thousand followers need no thousand reads.
          const reply = final ?? (await replies.find(replyId));
          yield [...events, { id: endId, type: 'end', reply }];
          return;
        }
        if (events.length > 0 || !backlogIn) yield events;
        backlogIn = true;
        next = batches.next();
      }
    } finally {
      signal.removeEventListener('abort', stopReading);
      reading.abort(FOLLOWING_ENDED);
      void batches.return(undefined).catch(() => undefined);
    }
  }

  return {
    follow,

    /** The reply once finished (or gone), or as stored when `signal` aborts first; `reply` as the caller just read it. */
    async waitUntilFinished(reply: MessageRow, signal: AbortSignal): Promise<MessageRow | undefined> {
      if (isFinished(reply)) return reply;
      for await (const batch of follow(reply.id, STREAM_START, signal, { knownUnfinished: true })) {
        const end = batch.at(-1);
        if (end?.type === 'end') return end.reply;
      }
      return replies.find(reply.id);
    },
  };
}
