import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { checkDependencies, type DependencyProbes } from '../infra/dependency-checks.js';
import { AppError } from './app-error.js';
import { sendProblem } from './problem.js';

export type HealthDeps = DependencyProbes;

const checkState = z.enum(['ok', 'down', 'timeout', 'not configured']);
/** /readyz's checks, for the api's document (the worker's server serialises without schemas). */
export const readinessChecks = z.object({ database: checkState, redis: checkState, queue: checkState });

/**
 * `/healthz` (the process answers) and `/readyz` (its dependencies answer). Self-contained, so that
 * any Fastify instance can serve them: the api, and the worker role's own small server.
 */
export const healthRoutes =
  (probes: HealthDeps): FastifyPluginAsync =>
  async (app) => {
    app.get('/healthz', { schema: { tags: ['operations'] }, logLevel: 'warn' }, () => ({ status: 'ok' }));

    app.get('/readyz', { schema: { tags: ['operations'] }, logLevel: 'warn' }, async (request, reply) => {
      const checks = await checkDependencies(probes, request.log);
      const ready = Object.values(checks).every((state) => state === 'ok' || state === 'not configured');
      if (!ready) {
        const down = Object.entries(checks).filter(([, state]) => state === 'down' || state === 'timeout').map(([name]) => name);
        // Sent here rather than thrown, so that a server without the app's error handler answers the same problem.
        return sendProblem(request, reply, new AppError('SERVICE_UNAVAILABLE', 503, `Not ready: ${down.join(', ')} not reachable`, { extensions: { checks } }));
      }
      return { status: 'ready', checks };
    });
  };
