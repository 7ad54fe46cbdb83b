import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../../infra/clock.js';
import type { ReplyStore } from '../replies/reply-store.js';
import type { Scheduler } from './scheduling.js';

type Deps = {
  replies: Pick<ReplyStore, 'staleChatroomHeads'>;
  scheduler: Pick<Scheduler, 'scheduleNext'>;
  clock: Clock;
  log: FastifyBaseLogger;
  intervalSeconds: number;
  /** Chatrooms read per query; a sweep reads page after page until it has seen them all. */
  pageSize?: number;
};

/**
 * The database is the truth about replies; the queue can lose jobs (Redis flushed, process killed).
 * Every chatroom with an unfinished reply gets its turn scheduled again: all of them at start-up,
 * then periodically those untouched for a while. Scheduling a reply that still has a live job is a
 * no-op (the job id is the reply id). A sweep walks every such chatroom, page by page in chatroom id
 * order, so a backlog larger than a page can never hide the chatrooms behind it.
 */
export function startRecovery({ replies, scheduler, clock, log, intervalSeconds, pageSize = 500 }: Deps): { stop(): void; sweep(before: Date): Promise<number> } {
  async function sweep(before: Date): Promise<number> {
    let scheduled = 0;
    let after: string | undefined;
    for (;;) {
      const page = await replies.staleChatroomHeads(before, after, pageSize);
      for (const { chatroomId } of page) await scheduler.scheduleNext(chatroomId);
      scheduled += page.length;
      after = page.at(-1)?.chatroomId;
      if (page.length < pageSize) break;
    }
    if (scheduled > 0) log.info({ chatrooms: scheduled }, 'scheduled unfinished replies again');
    return scheduled;
  }

  const guardedSweep = (before: Date) =>
    sweep(before).catch((error: unknown) => {
      log.error({ err: error }, 'recovery sweep failed; will try again');
      return 0;
    });

  void guardedSweep(clock.now());
  const timer = setInterval(() => {
    void guardedSweep(new Date(clock.now().getTime() - intervalSeconds * 1000));
  }, intervalSeconds * 1000);
  timer.unref();

  return { stop: () => clearInterval(timer), sweep };
}
