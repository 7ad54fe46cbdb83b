export interface Deadline {
  /** Aborts when the time runs out or any parent signal aborts. */
  readonly signal: AbortSignal;
  readonly timedOut: boolean;
  /** Clears the timer and detaches from the parents; call it when the work is over. */
  dispose(): void;
}

/*
 * Our own timer rather than AbortSignal.timeout()/AbortSignal.any(): on Node 20 a composed timeout
 * signal can be garbage-collected before it fires, and a wait that never ends is worse than none.
 */
export function deadline(ms: number, ...parents: (AbortSignal | undefined)[]): Deadline {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new Error(`timed out after ${ms} ms`));
  }, ms);
  const linked = parents.filter((parent): parent is AbortSignal => parent !== undefined);
  const follow = () => controller.abort(linked.find((parent) => parent.aborted)?.reason);
  for (const parent of linked) {
    if (parent.aborted) follow();
    else parent.addEventListener('abort', follow, { once: true });
  }
  return {
    signal: controller.signal,
    get timedOut() {
      return timedOut;
    },
    dispose() {
      clearTimeout(timer);
      for (const parent of linked) parent.removeEventListener('abort', follow);
    },
  };
}

/**
 * `work`, or a rejection once `ms` pass without it settling. A plain timer, no AbortController: it
 * guards every cache read, on the hottest path there is.
 */
export function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timedOut]).finally(() => clearTimeout(timer));
}
