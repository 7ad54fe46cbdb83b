import { setTimeout as sleep } from 'node:timers/promises';

/** Polls `condition` until it holds (bounded): waiting for a state, never for a time. */
export async function waitUntil(condition: () => boolean | Promise<boolean>, what: string, tries = 1000): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await condition()) return;
    await sleep(10);
  }
  throw new Error(`timed out waiting until ${what}`);
}

/** A promise the test resolves by hand (to hold the fake model until the test is ready). */
export function gate(): { promise: Promise<void>; open(): void } {
  let open = () => undefined as void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}
