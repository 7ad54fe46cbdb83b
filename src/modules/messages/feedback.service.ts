import type { Database } from '../../infra/db/client.js';
import type { Clock } from '../../infra/clock.js';
import { isUuid } from '../../infra/ids.js';
import type { Metrics } from '../../infra/metrics.js';
import { validationError } from '../../http/app-error.js';
import { isFinished, type MessageRow } from '../replies/reply-state.js';
import { writeFeedback, type FeedbackChange, type FeedbackWritten } from './feedback.repository.js';
import { messageNotFound, type MessageService } from './message.service.js';
import type { MessageDto } from './message.schemas.js';

type Deps = {
  database: Pick<Database, 'db'>;
  messages: Pick<MessageService, 'getMessage' | 'present'>;
  metrics: Pick<Metrics, 'feedbackGiven' | 'feedbackWithdrawn'>;
  defaultModel: string;
  clock: Clock;
};

export type FeedbackService = ReturnType<typeof createFeedbackService>;

/** Ratings of replies by their owner: one per reply, replaced by the next, counted in the metrics. */
export function createFeedbackService({ database, messages, metrics, defaultModel, clock }: Deps) {
  /** Why a reply cannot be rated: 404 for anything not the user's, 400 for a prompt or a reply still being written. */
  async function refusal(userId: string, chatroomId: string, replyId: string): Promise<Error | undefined> {
    const message = await messages.getMessage(userId, chatroomId, replyId);
    if (message.role !== 'model') return validationError('replyId', `'${replyId}' is a prompt; only replies are rated`);
    if (!isFinished(message)) return validationError('replyId', `Reply '${replyId}' is still being generated; rate it once it has finished`);
    return undefined;
  }

  function count(written: FeedbackWritten, rating: 'up' | 'down' | null) {
    const { previous, reply } = written;
    if (previous?.rating === rating) return; // the same rating again (a new reason or comment)
    if (previous) metrics.feedbackWithdrawn.inc({ model: previous.model, rating: previous.rating });
    if (rating) metrics.feedbackGiven.inc({ model: reply.feedbackModel ?? defaultModel, rating });
  }

  /** Written first, in one statement; only a refused write looks up why (so a rating is one round trip). */
  async function write(userId: string, chatroomId: string, replyId: string, change: FeedbackChange | null): Promise<MessageRow> {
    const attempt = () => writeFeedback(database.db, { userId, chatroomId, replyId }, change, defaultModel, clock.now());
    // An id that is not a UUID cannot name a row, and would fail the statement: the look-up answers its 404.
    let written = isUuid(chatroomId) && isUuid(replyId) ? await attempt() : undefined;
    if (!written) {
      const refused = await refusal(userId, chatroomId, replyId);
      if (refused) throw refused;
      // Finished between the write and the look: rate it now.
      written = await attempt();
      if (!written) throw messageNotFound(chatroomId, replyId);
    }
    count(written, change?.rating ?? null);
    return written.reply;
  }

  return {
    async rate(userId: string, chatroomId: string, replyId: string, change: FeedbackChange): Promise<MessageDto> {
      const [dto] = await messages.present([await write(userId, chatroomId, replyId, change)]);
      if (!dto) throw new Error('presenting a rated reply lost it');
      return dto;
    },
    async withdraw(userId: string, chatroomId: string, replyId: string): Promise<void> {
      await write(userId, chatroomId, replyId, null);
    },
  };
}
