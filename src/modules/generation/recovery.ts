import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../../infra/clock.js';
import type { Database } from '../../infra/db/client.js';
import type { GenerationQueue } from '../../infra/queue/generation-queue.js';
import { findStaleReplies } from './message.repository.js';

type Deps = {
  database: Pick<Database, 'db'>;
  queue: Pick<GenerationQueue, 'enqueue'>;
  clock: Clock;
  log: FastifyBaseLogger;
  intervalSeconds: number;
};

const BATCH = 500;

/**
 * The database is the truth about replies; the queue can lose jobs (Redis flushed, process killed).
 * Unfinished replies are enqueued again: all of them at start-up, then periodically those untouched
 * for a while. A reply that still has a live job is a no-op to enqueue (the job id is the reply id).
 */
export function startRecovery({ database, queue, clock, log, intervalSeconds }: Deps): { stop(): void; sweep(before: Date): Promise<number> } {
  async function sweep(before: Date): Promise<number> {
    const ids = await findStaleReplies(database.db, before, BATCH);
    for (const id of ids) await queue.enqueue(id);
    if (ids.length > 0) log.info({ count: ids.length }, 'enqueued unfinished replies again');
    return ids.length;
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
