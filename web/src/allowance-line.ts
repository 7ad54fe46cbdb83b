/** The daily allowance as the page says it. No imports, so that the unit tests run it in Node. */

export interface Usage {
  remaining: number | null;
  limit: number | null;
  resetsAt: string;
}

/** 24-hour time of the reset, in the reader's time zone unless `timeZone` says another. */
const resetTime = (iso: string, timeZone?: string) => new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone });

export const allowanceLine = ({ remaining, limit, resetsAt }: Usage, timeZone?: string): string =>
  limit === null ? 'Unlimited prompts' : `${remaining ?? 0} of ${limit} prompts left today · resets at ${resetTime(resetsAt, timeZone)}`;

/**
 * The notice for a 429 QUOTA_EXCEEDED, from the allowance read again: the reset in the reader's
 * clock, as in the account line (the problem's detail gives it as a UTC timestamp).
 */
export function quotaNotice(tier: 'basic' | 'pro', { limit, resetsAt }: Usage, timeZone?: string): string {
  const spent = `You have used today's ${limit ?? 0} prompts on the ${tier === 'pro' ? 'Pro' : 'Basic'} plan; they come back at ${resetTime(resetsAt, timeZone)}.`;
  return tier === 'pro' ? spent : `${spent} Upgrade to Pro for a much larger allowance.`;
}
