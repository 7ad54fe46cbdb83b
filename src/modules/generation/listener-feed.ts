import type { FastifyBaseLogger } from 'fastify';
import { withTimeout } from '../../infra/deadline.js';
import type { ReplyStream, ReplyEvent } from '../../infra/reply-stream.js';
import type { Grounding } from '../../integrations/gemini/grounding.js';
import type { MessageRow } from '../replies/reply-state.js';

/** A stream write that takes longer is given up (a Redis outage can hold a command for long): the generation goes on. */
const STREAM_WRITE_TIMEOUT_MS = 1_000;

export type ListenerFeed = ReturnType<typeof createListenerFeed>;

/**
 * What a generation tells the listeners of one reply through its stream. The stream is how they
 * learn of progress, not where the reply lives: its failures never fail the reply. After a failed
 * write they may have missed text, so once the stream takes writes again they are told to drop
 * what they have and get the whole text so far.
 */
export function createListenerFeed(stream: Pick<ReplyStream, 'append'>, replyId: string, log: FastifyBaseLogger) {
  let text = '';
  let thoughts = '';
  let broken = false;

  async function write(event: ReplyEvent): Promise<boolean> {
    try {
      await withTimeout(stream.append(replyId, event), STREAM_WRITE_TIMEOUT_MS, 'the reply stream');
      return true;
    } catch (error) {
      log.warn({ err: error, source: 'storage', code: 'REPLY_STREAM_UNAVAILABLE' }, 'could not write to the reply stream');
      return false;
    }
  }

  /** After a failed write: everything so far again, from a reset. True when it all went. */
  async function resync(): Promise<boolean> {
    if (!(await write({ type: 'reset' }))) return false;
    if (thoughts && !(await write({ type: 'thought', text: thoughts }))) return false;
    return !text || (await write({ type: 'delta', text }));
  }

  return {
    /** The text sent so far. */
    get text() {
      return text;
    },

    /** The thought summary sent so far (empty when the model gave none). */
    get thoughts() {
      return thoughts;
    },

    /** An earlier attempt may have streamed part of a text that this one replaces. */
    async restart(): Promise<void> {
      text = '';
      thoughts = '';
      await write({ type: 'reset' });
    },

    async delta(chunk: string): Promise<void> {
      text += chunk;
      broken = broken ? !(await resync()) : !(await write({ type: 'delta', text: chunk }));
    },

    /** The answer's sources, once it is whole. */
    async grounding(grounding: Grounding): Promise<void> {
      if (broken && !(await resync())) return;
      broken = !(await write({ type: 'grounding', grounding }));
    },

    async thought(chunk: string): Promise<void> {
      thoughts += chunk;
      broken = broken ? !(await resync()) : !(await write({ type: 'thought', text: chunk }));
    },

    /** The last event: the reply as stored, when the writer has it, so that its followers need not read it back. */
    async end(final?: MessageRow): Promise<void> {
      await write({ type: 'end', final });
    },
  };
}
