import Fastify, { type FastifyInstance } from 'fastify';
import type { Container } from '../container.js';
import { healthRoutes } from './health.routes.js';
import { metricsExposed, metricsRoutes } from './metrics.routes.js';
import { frameworkErrorProblem, registerProblemHandlers } from './problem.js';

/** The worker role's own small server on WORKER_PORT: /healthz, /readyz and /metrics, nothing else. */
export async function buildWorkerServer(container: Container): Promise<FastifyInstance> {
  const { config } = container;
  const server = Fastify({ loggerInstance: container.log, frameworkErrors: frameworkErrorProblem });
  registerProblemHandlers(server);
  await server.register(healthRoutes({ database: container.database, redis: container.redis, queue: container.queue }));
  if (metricsExposed(config)) await server.register(metricsRoutes({ metrics: container.metrics, token: config.METRICS_TOKEN }));
  return server;
}
