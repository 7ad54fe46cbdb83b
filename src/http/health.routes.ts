import type { FastifyBaseLogger, FastifyPluginAsync } from 'fastify';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { Database } from '../infra/db/client.js';
import { deadline } from '../infra/deadline.js';
import type { GenerationQueue } from '../infra/queue/generation-queue.js';
import { AppError } from './app-error.js';
import { sendProblem } from './problem.js';

export type HealthDeps = {
  database: Pick<Database, 'ping'>;
  redis: Pick<Redis, 'ping'> | undefined;
  queue: Pick<GenerationQueue, 'ping'>;
};

/** What /readyz says of one dependency: never the driver's words, which carry hosts and ports. */
export type CheckState = 'ok' | 'down' | 'timeout' | 'not configured';

const checkState = z.enum(['ok', 'down', 'timeout', 'not configured']);
/** /readyz's checks, for the api's document (the worker's server serialises without schemas). */
export const readinessChecks = z.object({ database: checkState, redis: checkState, queue: checkState });

const CHECK_TIMEOUT_MS = 1_500;

async function check(name: string, probe: (() => Promise<unknown>) | undefined, log: FastifyBaseLogger): Promise<CheckState> {
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
    // The raw error goes to the log only: the body is public, and a load balancer needs no more than the state.
    log.warn({ err: error, check: name, state }, 'readiness check failed');
    return state;
  } finally {
    limit.dispose();
  }
}

/**
 * `/healthz` (the process answers) and `/readyz` (its dependencies answer). Self-contained, so that
 * any Fastify instance can serve them: the api, and the worker role's own small server.
 */
export const healthRoutes =
  ({ database, redis, queue }: HealthDeps): FastifyPluginAsync =>
  async (app) => {
    app.get('/healthz', { schema: { tags: ['operations'] }, logLevel: 'warn' }, () => ({ status: 'ok' }));

    app.get('/readyz', { schema: { tags: ['operations'] }, logLevel: 'warn' }, async (request, reply) => {
      const [databaseState, redisState, queueState] = await Promise.all([
        check('database', () => database.ping(), request.log),
        check('redis', redis ? () => redis.ping() : undefined, request.log),
        check('queue', () => queue.ping(), request.log),
      ]);
      const checks = { database: databaseState, redis: redisState, queue: queueState };
      const ready = Object.values(checks).every((state) => state === 'ok' || state === 'not configured');
      if (!ready) {
        const down = Object.entries(checks).filter(([, state]) => state === 'down' || state === 'timeout').map(([name]) => name);
        // Sent here rather than thrown, so that a server without the app's error handler answers the same problem.
        return sendProblem(request, reply, new AppError('SERVICE_UNAVAILABLE', 503, `Not ready: ${down.join(', ')} not reachable`, { extensions: { checks } }));
      }
      return { status: 'ready', checks };
    });
  };
