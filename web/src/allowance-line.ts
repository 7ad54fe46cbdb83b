/** The daily allowance as the header says it. No imports, so that the unit tests run it in Node. */

export interface Usage {
  remaining: number | null;
  limit: number | null;
  resetsAt: string;
}

/** 24-hour time of the reset, in the reader's time zone unless `timeZone` says another. */
const resetTime = (iso: string, timeZone?: string) => new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone });

export const allowanceLine = ({ remaining, limit, resetsAt }: Usage, timeZone?: string): string =>
  limit === null ? 'Unlimited prompts' : `${remaining ?? 0} of ${limit} prompts left today · resets at ${resetTime(resetsAt, timeZone)}`;
