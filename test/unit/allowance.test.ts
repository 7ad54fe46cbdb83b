import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allowanceHeaders } from '../../src/modules/billing/allowance-headers.js';
import { allowancePolicy, allowanceState, nextReset, usageDay } from '../../src/modules/billing/allowance.js';

/* The daily prompt allowance (API.md "Usage limits"): how many, counted on which day, reset when. */

const at = (iso: string) => new Date(iso);

describe('limits by tier', () => {
  it('gives Basic its daily limit and Pro its own', () => {
    const policy = allowancePolicy({ basicDailyLimit: 5, proDailyLimit: 1000 });
    expect(policy.limitFor('basic')).toBe(5);
    expect(policy.limitFor('pro')).toBe(1000);
  });

  it('makes Pro unlimited (null) when PRO_DAILY_LIMIT is 0', () => {
    const policy = allowancePolicy({ basicDailyLimit: 5, proDailyLimit: 0 });
    expect(policy.limitFor('pro')).toBeNull();
    expect(policy.limitFor('basic')).toBe(5);
  });
});

describe('the usage day', () => {
  it('is the UTC date: the last millisecond before midnight UTC counts for that day, midnight for the next', () => {
    expect(usageDay(at('2026-03-09T23:59:59.999Z'))).toBe('2026-03-09');
    expect(usageDay(at('2026-03-10T00:00:00.000Z'))).toBe('2026-03-10');
  });

  it('does not follow the user’s time zone: 01:00 in Kolkata is still the previous UTC day', () => {
    expect(usageDay(at('2026-03-10T01:00:00+05:30'))).toBe('2026-03-09');
  });

  it('rolls over months, leap days and years', () => {
    expect(usageDay(at('2028-02-29T12:00:00Z'))).toBe('2028-02-29');
    expect(usageDay(at('2026-12-31T23:59:59.999Z'))).toBe('2026-12-31');
    expect(usageDay(at('2027-01-01T00:00:00Z'))).toBe('2027-01-01');
  });
});

describe('the reset time', () => {
  it('is the next 00:00 UTC, even at one millisecond past midnight', () => {
    expect(nextReset(at('2026-03-09T00:00:00.001Z')).toISOString()).toBe('2026-03-10T00:00:00.000Z');
    expect(nextReset(at('2026-03-09T23:59:59.999Z')).toISOString()).toBe('2026-03-10T00:00:00.000Z');
  });

  it('at midnight exactly is the following midnight: the day that just began has a full allowance', () => {
    expect(nextReset(at('2026-03-10T00:00:00.000Z')).toISOString()).toBe('2026-03-11T00:00:00.000Z');
  });

  it('crosses month and year ends, and leap days', () => {
    expect(nextReset(at('2026-02-28T10:00:00Z')).toISOString()).toBe('2026-03-01T00:00:00.000Z');
    expect(nextReset(at('2028-02-28T10:00:00Z')).toISOString()).toBe('2028-02-29T00:00:00.000Z');
    expect(nextReset(at('2026-12-31T10:00:00Z')).toISOString()).toBe('2027-01-01T00:00:00.000Z');
  });

  it('is always the start of the day after the usage day, within the next 24 hours', () => {
    fc.assert(
      fc.property(fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2100, 0, 1) }), (ms) => {
        const now = new Date(ms);
        const reset = nextReset(now);
        expect(reset.getTime()).toBeGreaterThan(ms);
        expect(reset.getTime() - ms).toBeLessThanOrEqual(86_400_000);
        expect(usageDay(reset)).not.toBe(usageDay(now));
        expect(usageDay(new Date(reset.getTime() - 1))).toBe(usageDay(now));
      }),
      { seed: 7 },
    );
  });
});

describe('the allowance state', () => {
  const noon = at('2026-03-09T12:00:00Z');

  it('tells what is left and when it resets', () => {
    expect(allowanceState(2, 5, noon)).toEqual({ used: 2, limit: 5, remaining: 3, resetsAt: at('2026-03-10T00:00:00Z') });
  });

  it('never shows a negative remainder (a limit lowered during the day)', () => {
    expect(allowanceState(7, 5, noon).remaining).toBe(0);
    expect(allowanceState(5, 5, noon).remaining).toBe(0);
  });

  it('has no remainder to show for an unlimited plan', () => {
    expect(allowanceState(250, null, noon)).toMatchObject({ used: 250, limit: null, remaining: null });
  });
});

describe('the RateLimit headers of the allowance', () => {
  const now = at('2026-03-09T23:59:00.200Z');

  it('say the policy (limit per day) and what is left, with the seconds to the reset rounded up', () => {
    expect(allowanceHeaders(allowanceState(3, 5, now), now)).toEqual({
      'ratelimit-policy': '"daily";q=5;w=86400',
      ratelimit: '"daily";r=2;t=60',
    });
  });

  it('say 0 left once the allowance is spent', () => {
    expect(allowanceHeaders(allowanceState(9, 5, now), now).ratelimit).toBe('"daily";r=0;t=60');
  });

  it('are absent for an unlimited plan', () => {
    expect(allowanceHeaders(allowanceState(3, null, now), now)).toEqual({});
  });
});
