import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';
import type { Database } from './db/client.js';
import { deadline } from './deadline.js';
import type { GenerationQueue } from './queue/generation-queue.js';

/** What can be asked whether it answers: the readiness probe and the `dependency_up` gauge ask the same. */
export type DependencyProbes = {
  database: Pick<Database, 'ping'>;
  redis: Pick<Redis, 'ping'> | undefined;
  queue: Pick<GenerationQueue, 'ping'>;
};

/** What is said of one dependency: never the driver's words, which carry hosts and ports. */
export type CheckState = 'ok' | 'down' | 'timeout' | 'not configured';

export type DependencyStates = Record<keyof DependencyProbes, CheckState>;

const CHECK_TIMEOUT_MS = 1_500;

async function check(name: string, probe: (() => Promise<unknown>) | undefined, log: Pick<FastifyBaseLogger, 'warn'>): Promise<CheckState> {
  if (!probe) return 'not configured';
  const limit = deadline(CHECK_TIMEOUT_MS);
  try {
    await Promise.race([
      probe(),
      new Promise<never>((_, reject) => limit.signal.addEventListener('abort', () => reject(limit.signal.reason as Error))),
    ]);
    return 'ok';
  } catch (error) {
    const state = limit.timedOut ? 'timeout' : 'down';
    // The raw error goes to the log only: what is reported is public, and needs no more than the state.
    log.warn({ err: error, check: name, state }, 'readiness check failed');
    return state;
  } finally {
    limit.dispose();
  }
}

/** Every dependency probed in parallel, each within 1.5 s; never throws. */
export async function checkDependencies({ database, redis, queue }: DependencyProbes, log: Pick<FastifyBaseLogger, 'warn'>): Promise<DependencyStates> {
  const [databaseState, redisState, queueState] = await Promise.all([
    check('database', () => database.ping(), log),
    check('redis', redis ? () => redis.ping() : undefined, log),
    check('queue', () => queue.ping(), log),
  ]);
  return { database: databaseState, redis: redisState, queue: queueState };
}
