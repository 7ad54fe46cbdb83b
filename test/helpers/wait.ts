import { setTimeout as sleep } from 'node:timers/promises';

export interface WaitOptions {
  /**
   * Wall-clock bound. The default stays under vitest's 20 s test timeout, so that a wait that fails
   * says what it was waiting for instead of the test just timing out.
   */
  timeoutMs?: number;
  /** Pause between two looks. */
  intervalMs?: number;
  /** What to add to the timeout's message (a process's output, the last value seen). */
  detail?: () => string;
}

const DEFAULT_TIMEOUT_MS = 15_000;
const DEFAULT_INTERVAL_MS = 10;

/**
 * Polls `probe` until it returns a value other than undefined, and returns that value: waiting for a
 * state, never for a time. An error thrown by `probe` ends the wait at once (a failed expectation, a
 * process that died). Fails with `what` once `timeoutMs` has passed.
 */
export async function waitFor<T>(probe: () => T | undefined | Promise<T | undefined>, what: string, options: WaitOptions = {}): Promise<T> {
  const { timeoutMs = DEFAULT_TIMEOUT_MS, intervalMs = DEFAULT_INTERVAL_MS, detail } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() >= deadline) {
      const more = detail?.();
      throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}${more ? `\n${more}` : ''}`);
    }
    await sleep(intervalMs);
  }
}

/** Polls `condition` until it holds (see `waitFor`). */
export async function waitUntil(condition: () => boolean | Promise<boolean>, what: string, options: WaitOptions = {}): Promise<void> {
  await waitFor(async () => ((await condition()) ? true : undefined), what, options);
}

/** A promise the test resolves by hand (to hold the fake model until the test is ready). */
export function gate(): { promise: Promise<void>; open(): void } {
  let open = () => undefined as void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}
