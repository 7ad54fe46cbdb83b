import type { Database } from '../../infra/db/client.js';
import type { Clock } from '../../infra/clock.js';
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
  /** A finished reply of the user's: 404 for anything not theirs, 400 for a prompt or a reply still being written. */
  async function ratable(userId: string, chatroomId: string, replyId: string): Promise<MessageRow> {
    const message = await messages.getMessage(userId, chatroomId, replyId);
    if (message.role !== 'model') throw validationError('replyId', `'${replyId}' is a prompt; only replies are rated`);
    if (!isFinished(message)) throw validationError('replyId', `Reply '${replyId}' is still being generated; rate it once it has finished`);
    return message;
  }

  function count(written: FeedbackWritten, rating: 'up' | 'down' | null) {
    const { previous, reply } = written;
    if (previous?.rating === rating) return; // the same rating again (a new reason or comment)
    if (previous) metrics.feedbackWithdrawn.inc({ model: previous.model, rating: previous.rating });
    if (rating) metrics.feedbackGiven.inc({ model: reply.feedbackModel ?? defaultModel, rating });
  }

  async function write(userId: string, chatroomId: string, replyId: string, change: FeedbackChange | null): Promise<MessageRow> {
    await ratable(userId, chatroomId, replyId);
    const written = await writeFeedback(database.db, { userId, chatroomId, replyId }, change, defaultModel, clock.now());
    // Checked just above; gone only if the chatroom was deleted in between.
    if (!written) throw messageNotFound(chatroomId, replyId);
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
