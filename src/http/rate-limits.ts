import type { FastifyBaseLogger, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import type { RateLimitStore } from '../infra/rate-limit-store.js';
import { AppError } from './app-error.js';

export interface AuthRateLimits {
  /** Per client IP, per route. */
  perIp: preHandlerAsyncHookHandler;
  /** Per mobile number in the (validated) body, per route: stops one number being hammered from many addresses. */
  perNumber: preHandlerAsyncHookHandler;
}

const WINDOW_MS = 60_000;

type Deps = { store: RateLimitStore; log: FastifyBaseLogger; perIpPerMinute: number; perNumberPerMinute: number };

/*
 * Our own small limiter rather than @fastify/rate-limit: that plugin runs at most one limiter per
 * request, and these routes need two independent ones (address and number).
 */
export function createAuthRateLimits({ store, log, perIpPerMinute, perNumberPerMinute }: Deps): AuthRateLimits {
  const limiter =
    (scope: string, max: number, keyOf: (request: FastifyRequest) => string | undefined): preHandlerAsyncHookHandler =>
    async (request, reply) => {
      const subject = keyOf(request);
      if (subject === undefined) return;
      let hit;
      try {
        hit = await store.hit(`${scope}:${request.routeOptions.url ?? ''}:${subject}`, WINDOW_MS);
      } catch (error) {
        // The limiter is a guard, not a dependency: if its store is down, let the request through.
        log.warn({ err: error, scope }, 'rate-limit store unavailable; request allowed');
        return;
      }
      const resetSeconds = Math.max(1, Math.ceil(hit.resetInMs / 1000));
      void reply.headers({
        'ratelimit-policy': `"${scope}";q=${max};w=${WINDOW_MS / 1000}`,
        ratelimit: `"${scope}";r=${Math.max(0, max - hit.count)};t=${resetSeconds}`,
      });
      if (hit.count > max) {
        throw new AppError('RATE_LIMITED', 429, `Too many requests ${scope === 'ip' ? 'from this address' : 'for this number'}; retry in ${resetSeconds} s`, {
          headers: { 'retry-after': String(resetSeconds) },
        });
      }
    };

  return {
    perIp: limiter('ip', perIpPerMinute, (request) => request.ip),
    perNumber: limiter('mobile', perNumberPerMinute, (request) => {
      const mobile = (request.body as { mobile?: unknown } | undefined)?.mobile;
      return typeof mobile === 'string' ? mobile : undefined;
    }),
  };
}

/**
 * A per-user limit for protected routes that cost a call to a provider (e.g. a Checkout Session),
 * keyed by the authenticated user: runs after the auth hook.
 */
export function perUserLimit({
  store,
  log,
  scope,
  max,
  windowMs,
}: {
  store: RateLimitStore;
  log: FastifyBaseLogger;
  scope: string;
  max: number;
  windowMs: number;
}): preHandlerAsyncHookHandler {
  return async (request, reply) => {
    const userId = request.auth?.user.id;
    if (userId === undefined) return;
    let hit;
    try {
      hit = await store.hit(`${scope}:${userId}`, windowMs);
    } catch (error) {
      log.warn({ err: error, scope }, 'rate-limit store unavailable; request allowed');
      return;
    }
    const resetSeconds = Math.max(1, Math.ceil(hit.resetInMs / 1000));
    void reply.headers({
      'ratelimit-policy': `"${scope}";q=${max};w=${Math.round(windowMs / 1000)}`,
      ratelimit: `"${scope}";r=${Math.max(0, max - hit.count)};t=${resetSeconds}`,
    });
    if (hit.count > max) {
      throw new AppError('RATE_LIMITED', 429, `Too many ${scope} requests; retry in ${resetSeconds} s`, {
        headers: { 'retry-after': String(resetSeconds) },
      });
    }
  };
}
