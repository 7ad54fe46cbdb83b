import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Redis } from 'ioredis';
import type { Database } from '../infra/db/client.js';
import { withTimeout } from '../infra/deadline.js';
import type { GenerationQueue } from '../infra/queue/generation-queue.js';
import { AppError } from './app-error.js';

type Deps = { database: Pick<Database, 'ping'>; redis: Pick<Redis, 'ping'> | undefined; queue: Pick<GenerationQueue, 'ping'> };
type CheckResult = 'ok' | 'not configured' | `failed: ${string}`;

const CHECK_TIMEOUT_MS = 1_500;

async function check(probe: (() => Promise<unknown>) | undefined): Promise<CheckResult> {
  if (!probe) return 'not configured';
  try {
    await withTimeout(probe(), CHECK_TIMEOUT_MS, 'it');
    return 'ok';
  } catch (error) {
    return `failed: ${(error as Error).message}`;
  }
}

export const healthRoutes =
  ({ database, redis, queue }: Deps): FastifyPluginAsyncZod =>
  async (app) => {
    app.get('/healthz', { schema: { tags: ['operations'] }, logLevel: 'warn' }, () => ({ status: 'ok' }));

    app.get('/readyz', { schema: { tags: ['operations'] }, logLevel: 'warn' }, async () => {
      const checks = {
        database: await check(() => database.ping()),
        redis: await check(redis ? () => redis.ping() : undefined),
        queue: await check(() => queue.ping()),
      };
      const ready = Object.values(checks).every((result) => result === 'ok' || result === 'not configured');
      if (!ready) {
        throw new AppError('SERVICE_UNAVAILABLE', 503, 'A dependency is not reachable', { extensions: { checks } });
      }
      return { status: 'ready', checks };
    });
  };
