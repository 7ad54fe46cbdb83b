import type { messages } from '../../infra/db/schema.js';

/**
 * A reply's life, as a pure state machine. A reply is a message row with role `model`:
 *
 *   pending ──claim──▶ streaming ──complete──▶ done
 *      ▲                  │  │ ╲──stop──────▶ done (finishReason STOPPED)
 *      └─────release──────┘  ╰───fail──────▶ failed
 *   pending ──stop / fail──▶ done / failed (nobody was generating it)
 *
 * `claim` also takes a reply that is already `streaming`: its worker died mid-text, and the new
 * attempt starts the text over (its listeners are told to reset). The SQL that moves a reply
 * (reply.repository.ts) takes its `from` states from here, so the rule is written once.
 */

/** A message row; a reply is a row with role `model`. */
export type MessageRow = typeof messages.$inferSelect;

export type ReplyStatus = MessageRow['status'];

/** The states of a reply that may still change: someone may be (or will be) generating it. */
export const UNFINISHED_STATUSES = ['pending', 'streaming'] as const satisfies readonly ReplyStatus[];
export type UnfinishedStatus = (typeof UNFINISHED_STATUSES)[number];

export type ReplyTransition = 'claim' | 'release' | 'complete' | 'stop' | 'fail';

const TRANSITIONS: Record<ReplyTransition, { from: readonly UnfinishedStatus[]; to: ReplyStatus }> = {
  claim: { from: ['pending', 'streaming'], to: 'streaming' },
  release: { from: ['streaming'], to: 'pending' },
  complete: { from: ['streaming'], to: 'done' },
  stop: { from: ['pending', 'streaming'], to: 'done' },
  fail: { from: ['pending', 'streaming'], to: 'failed' },
};

/** The finish reason of a reply its owner stopped. */
export const STOPPED = 'STOPPED';

/** The states a reply ends in: it changes no more (only its rating may). */
export const FINISHED_STATUSES = ['done', 'failed'] as const satisfies readonly ReplyStatus[];

export const isFinished = (reply: Pick<MessageRow, 'status'>): boolean => (FINISHED_STATUSES as readonly ReplyStatus[]).includes(reply.status);

/** The states `transition` may start from. */
export const statesBefore = (transition: ReplyTransition): readonly UnfinishedStatus[] => TRANSITIONS[transition].from;

/** The state after `transition` from `status`; undefined when the machine does not allow it (the reply is left as it is). */
export function nextStatus(status: ReplyStatus, transition: ReplyTransition): ReplyStatus | undefined {
  const { from, to } = TRANSITIONS[transition];
  return (from as readonly ReplyStatus[]).includes(status) ? to : undefined;
}

/**
 * Whether ending a reply gives its prompt back to the allowance that paid for it: a failed reply
 * always; a stopped one only if it had no text yet (the user got nothing for it).
 */
export function refundsPrompt(transition: 'complete' | 'stop' | 'fail', text: string): boolean {
  return transition === 'fail' || (transition === 'stop' && text === '');
}
