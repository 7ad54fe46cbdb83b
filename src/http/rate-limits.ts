import type { FastifyBaseLogger, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import type { RateLimitStore } from '../infra/rate-limit-store.js';
import { AppError } from './app-error.js';

export interface AuthRateLimits {
  /** Per client IP, per route. */
  perIp: preHandlerAsyncHookHandler;
  /**
   * Per mobile number in the (validated) body, per route: tight per number and address, looser per
   * number from all addresses. One stranger's address cannot use up the owner's allowance.
   */
  perNumber: preHandlerAsyncHookHandler;
  /** OTP guesses over hours and days, per number and address and per number, across routes and purposes. */
  otpGuesses: preHandlerAsyncHookHandler;
}

const MINUTE_MS = 60_000;
const HOUR_MS = 3600_000;
const DAY_MS = 24 * HOUR_MS;

/**
 * Code guesses (verify-otp and reset-password together). A 6-digit code has 10^6 values and at most
 * 3 codes of a number are live at once, so the per-number day ceiling bounds an attacker's chance
 * at ~0.1 % a day however many addresses they use; one address alone gets a third of that. The owner,
 * from another address, keeps their own allowance until an attacker spreads over several addresses.
 */
export const OTP_GUESS_LIMITS = [
  { scope: 'otp-guesses-address-hour', perAddress: true, max: 30, windowMs: HOUR_MS },
  { scope: 'otp-guesses-address-day', perAddress: true, max: 100, windowMs: DAY_MS },
  { scope: 'otp-guesses-hour', perAddress: false, max: 100, windowMs: HOUR_MS },
  { scope: 'otp-guesses-day', perAddress: false, max: 300, windowMs: DAY_MS },
] as const;

type Deps = {
  store: RateLimitStore;
  log: FastifyBaseLogger;
  perIpPerMinute: number;
  perNumberPerMinute: number;
  perNumberCeilingPerMinute: number;
};

interface Limit {
  scope: string;
  max: number;
  windowMs: number;
  /** The counter's key, or undefined to skip this limit for the request. */
  keyOf(request: FastifyRequest): string | undefined;
  /** Who the limit is about, for the 429's detail. */
  subject: string;
}

/** Counts the request against each limit in turn; the first one exceeded answers 429. */
async function enforce(store: RateLimitStore, log: FastifyBaseLogger, limits: Limit[], request: FastifyRequest, reply: FastifyReply) {
  for (const limit of limits) {
    const key = limit.keyOf(request);
    if (key === undefined) continue;
    let hit;
    try {
      hit = await store.hit(`${limit.scope}:${key}`, limit.windowMs);
    } catch (error) {
      // The limiter is a guard, not a dependency: if its store is down, let the request through.
      log.warn({ err: error, scope: limit.scope }, 'rate-limit store unavailable; request allowed');
      return;
    }
    const resetSeconds = Math.max(1, Math.ceil(hit.resetInMs / 1000));
    void reply.headers({
      'ratelimit-policy': `"${limit.scope}";q=${limit.max};w=${Math.round(limit.windowMs / 1000)}`,
      ratelimit: `"${limit.scope}";r=${Math.max(0, limit.max - hit.count)};t=${resetSeconds}`,
    });
    if (hit.count > limit.max) {
      throw new AppError('RATE_LIMITED', 429, `Too many requests ${limit.subject}; retry in ${resetSeconds} s`, {
        headers: { 'retry-after': String(resetSeconds) },
      });
    }
  }
}

const mobileOf = (request: FastifyRequest) => {
  const mobile = (request.body as { mobile?: unknown } | undefined)?.mobile;
  return typeof mobile === 'string' ? mobile : undefined;
};
const routeOf = (request: FastifyRequest) => request.routeOptions.url ?? '';

/*
 * Our own small limiter rather than @fastify/rate-limit: that plugin runs at most one limiter per
 * request, and these routes need several independent ones (address, number and address, number).
 */
export function createAuthRateLimits({ store, log, perIpPerMinute, perNumberPerMinute, perNumberCeilingPerMinute }: Deps): AuthRateLimits {
  const hook =
    (limits: Limit[]): preHandlerAsyncHookHandler =>
    (request, reply) =>
      enforce(store, log, limits, request, reply);

  const withMobile = (request: FastifyRequest, key: (mobile: string) => string) => {
    const mobile = mobileOf(request);
    return mobile === undefined ? undefined : key(mobile);
  };

  return {
    perIp: hook([{ scope: 'ip', max: perIpPerMinute, windowMs: MINUTE_MS, subject: 'from this address', keyOf: (r) => `${routeOf(r)}:${r.ip}` }]),
    perNumber: hook([
      {
        scope: 'mobile-address',
        max: perNumberPerMinute,
        windowMs: MINUTE_MS,
        subject: 'for this number from this address',
        keyOf: (r) => withMobile(r, (mobile) => `${routeOf(r)}:${mobile}:${r.ip}`),
      },
      {
        scope: 'mobile',
        max: perNumberCeilingPerMinute,
        windowMs: MINUTE_MS,
        subject: 'for this number',
        keyOf: (r) => withMobile(r, (mobile) => `${routeOf(r)}:${mobile}`),
      },
    ]),
    otpGuesses: hook(
      OTP_GUESS_LIMITS.map(({ scope, perAddress, max, windowMs }) => ({
        scope,
        max,
        windowMs,
        subject: perAddress ? 'guessing codes for this number from this address' : 'guessing codes for this number',
        keyOf: (r: FastifyRequest) => withMobile(r, (mobile) => (perAddress ? `${mobile}:${r.ip}` : mobile)),
      })),
    ),
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
  const limits: Limit[] = [{ scope, max, windowMs, subject: `of ${scope}`, keyOf: (request) => request.auth?.user.id }];
  return (request, reply) => enforce(store, log, limits, request, reply);
}
