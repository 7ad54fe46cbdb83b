import type { AllowanceState } from './allowance.js';

const DAY_SECONDS = 86_400;

/**
 * The IETF RateLimit header fields (draft-ietf-httpapi-ratelimit-headers) for the daily allowance;
 * none for an unlimited plan.
 */
export function allowanceHeaders(state: AllowanceState, now: Date): Record<string, string> {
  if (state.limit === null) return {};
  const resetSeconds = Math.max(0, Math.ceil((state.resetsAt.getTime() - now.getTime()) / 1000));
  return {
    'ratelimit-policy': `"daily";q=${state.limit};w=${DAY_SECONDS}`,
    ratelimit: `"daily";r=${state.remaining ?? 0};t=${resetSeconds}`,
  };
}
