import Fastify, { type FastifyInstance } from 'fastify';
import type { AppDeps } from '../app.js';
import { healthRoutes } from './health.routes.js';
import { metricsExposed, metricsRoutes } from './metrics.routes.js';
import { frameworkErrorProblem, registerProblemHandlers } from './problem.js';

/** The worker role's own small server on WORKER_PORT: /healthz, /readyz and /metrics, nothing else. */
export async function buildWorkerServer({ config, log, services }: Pick<AppDeps, 'config' | 'log'> & { services: Pick<AppDeps['services'], 'readiness' | 'metrics'> }): Promise<FastifyInstance> {
  const server = Fastify({ loggerInstance: log, frameworkErrors: frameworkErrorProblem });
  registerProblemHandlers(server);
  await server.register(healthRoutes(services.readiness));
  if (metricsExposed(config)) await server.register(metricsRoutes({ metrics: services.metrics, token: config.METRICS_TOKEN }));
  return server;
}
