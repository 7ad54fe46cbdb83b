import type { FastifyInstance } from 'fastify';
import helmet, { type HelmetOptions } from 'helmet';

/**
 * Helmet's headers, worked out once at start-up. helmet is a middleware that computes the same
 * static headers on every response (and @fastify/helmet built a new one per request, re-parsing the
 * CSP each time: a tenth of the CPU of a cached list request). The values are helmet's own: it runs
 * here once against a recorder, and every response gets what it wrote.
 */
export function securityHeaders(options: HelmetOptions): Record<string, string> {
  const headers: Record<string, string> = {};
  const recorder = {
    setHeader: (name: string, value: string) => void (headers[name.toLowerCase()] = value),
    removeHeader: (name: string) => void delete headers[name.toLowerCase()],
  };
  // Bad options throw here, at start-up; the middleware itself only sets headers and calls next.
  helmet(options)({} as never, recorder as never, () => undefined);
  return headers;
}

/** Every response, errors included, carries the headers (set before anything else can answer). */
export function addSecurityHeaders(app: FastifyInstance, headers: Record<string, string>): void {
  app.addHook('onRequest', (_request, reply, done) => {
    void reply.headers(headers);
    done();
  });
}
