import type { EventStreamWriter } from '../../http/sse.js';
import type { Grounding } from '../../integrations/gemini/grounding.js';
import { STREAM_START } from '../../infra/reply-stream.js';
import { END_POSITION, type FollowedEvent, type ReplyFollower } from '../replies/reply-follower.js';
import { isFinished, type MessageRow } from '../replies/reply-state.js';
import type { MessageDto } from './message.schemas.js';

export interface ReplyEventsOptions {
  /** The client's Last-Event-ID: only what came after it. */
  lastEventId?: string | undefined;
  /** Send what is already there as one delta (a client joining late), rather than event by event. */
  joinBacklog: boolean;
  /** The final Message of `done`, as every Message is shown (with its siblings). */
  present: (reply: MessageRow) => Promise<MessageDto>;
}

/** The text, thoughts and sources a client should hold after `events`: a reset drops what came before it. */
function stateAfterLastReset(events: FollowedEvent[]): { text: string; thoughts: string; grounding: Grounding | null } {
  let text = '';
  let thoughts = '';
  let grounding: Grounding | null = null;
  for (const event of events) {
    if (event.type === 'delta') text += event.text;
    else if (event.type === 'thought') thoughts += event.text;
    else if (event.type === 'grounding') grounding = event.grounding;
    else if (event.type === 'reset') [text, thoughts, grounding] = ['', '', null];
  }
  return { text, thoughts, grounding };
}

/**
 * Writes a reply to an event stream: its thoughts and deltas (each with the id to resume after it),
 * its sources (`grounding`) once the answer is whole, a `reset`
 * when a retry starts the text over, then `done` (the stored Message) or `error`. Every path ends
 * the events with `done` or `error`, unless the client left first.
 */
export async function sendReplyEvents(sse: EventStreamWriter, follower: Pick<ReplyFollower, 'follow'>, reply: MessageRow, options: ReplyEventsOptions) {
  const resuming = options.lastEventId !== undefined && options.lastEventId !== STREAM_START;
  const sendEnd = async (final: MessageRow | undefined, id: string) => {
    if (!final) sse.send('error', { code: 'MESSAGE_NOT_FOUND', message: 'The reply was deleted with its chatroom' }, id);
    else if (final.status === 'failed') {
      sse.send('error', { code: final.errorCode ?? 'MODEL_FAILED', message: final.errorMessage ?? 'The reply failed' }, id);
    } else sse.send('done', await options.present(final), id);
  };

  if (isFinished(reply) && !resuming) {
    if (reply.thoughts) sse.send('thought', { text: reply.thoughts }, END_POSITION);
    if (reply.content) sse.send('delta', { text: reply.content }, END_POSITION);
    if (reply.grounding) sse.send('grounding', { grounding: reply.grounding }, END_POSITION);
    await sendEnd(reply, END_POSITION);
    return;
  }
  if (options.lastEventId === END_POSITION) {
    await sendEnd(reply, END_POSITION); // the client saw the whole text; it missed only the end
    return;
  }

  let holdsText = resuming; // a `reset` only matters to a client that holds text to drop
  let backlog = options.joinBacklog;
  for await (const batch of follower.follow(reply.id, options.lastEventId ?? STREAM_START, sse.signal)) {
    const end = batch.at(-1)?.type === 'end' ? batch.at(-1) : undefined;
    const events = end ? batch.slice(0, -1) : batch;
    if (backlog) {
      backlog = false;
      const { text, thoughts, grounding } = stateAfterLastReset(events);
      const last = events.at(-1);
      if (holdsText && events.some((event) => event.type === 'reset')) sse.send('reset', {}, last?.id);
      if (thoughts && last) {
        sse.send('thought', { text: thoughts }, last.id);
        holdsText = true;
      }
      if (text && last) {
        sse.send('delta', { text }, last.id);
        holdsText = true;
      }
      if (grounding && last) sse.send('grounding', { grounding }, last.id);
    } else {
      for (const event of events) {
        if (event.type === 'delta') {
          sse.send('delta', { text: event.text }, event.id);
          holdsText = true;
        } else if (event.type === 'thought') {
          sse.send('thought', { text: event.text }, event.id);
          holdsText = true;
        } else if (event.type === 'grounding') {
          sse.send('grounding', { grounding: event.grounding }, event.id);
        } else if (event.type === 'reset' && holdsText) {
          sse.send('reset', {}, event.id);
          holdsText = false;
        }
      }
    }
    if (end?.type === 'end') return await sendEnd(end.reply, end.id);
  }
}
