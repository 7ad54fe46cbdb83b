import { timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import type { Config } from '../config.js';
import type { Metrics } from '../infra/metrics.js';
import { AppError } from './app-error.js';

type Deps = {
  metrics: Pick<Metrics, 'registry'>;
  /** Bearer token a scraper must present; undefined = open (development only, see config). */
  token: string | undefined;
};

/** /metrics is served behind METRICS_TOKEN, or open outside production; production without a token keeps it off. */
export const metricsExposed = (config: Pick<Config, 'METRICS_TOKEN' | 'NODE_ENV'>) => config.METRICS_TOKEN !== undefined || config.NODE_ENV !== 'production';

function presentsToken(header: string | undefined, token: string): boolean {
  const given = Buffer.from(header?.startsWith('Bearer ') ? header.slice(7) : '');
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** GET /metrics in the Prometheus text format, behind a bearer token when one is configured. */
export const metricsRoutes =
  ({ metrics, token }: Deps): FastifyPluginAsync =>
  async (app) => {
    app.get('/metrics', { schema: { hide: true }, logLevel: 'warn' }, async (request, reply) => {
      if (token !== undefined && !presentsToken(request.headers.authorization, token)) {
        throw new AppError('UNAUTHORIZED', 401, '/metrics needs `Authorization: Bearer <METRICS_TOKEN>`');
      }
      return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
    });
  };
