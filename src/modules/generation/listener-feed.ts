import type { FastifyBaseLogger } from 'fastify';
import { withTimeout } from '../../infra/deadline.js';
import type { ReplyStream, ReplyEvent } from '../../infra/reply-stream.js';
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

  return {
    /** The text sent so far. */
    get text() {
      return text;
    },

    /** An earlier attempt may have streamed part of a text that this one replaces. */
    async restart(): Promise<void> {
      text = '';
      await write({ type: 'reset' });
    },

    async delta(chunk: string): Promise<void> {
      text += chunk;
      broken = broken ? !((await write({ type: 'reset' })) && (await write({ type: 'delta', text }))) : !(await write({ type: 'delta', text: chunk }));
    },

    /** The last event: the reply as stored, when the writer has it, so that its followers need not read it back. */
    async end(final?: MessageRow): Promise<void> {
      await write({ type: 'end', final });
    },
  };
}
