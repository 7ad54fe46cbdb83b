import type { ComponentChildren } from 'preact';
import { ApiError, SessionEnded } from './api';
import { createStore } from './store';

/** What the page's alert region (alert-region.tsx) shows: a problem, or good news and a next step. */
export interface Notice {
  tone: 'problem' | 'info';
  message: string;
  extra?: ComponentChildren;
}

export const notice = createStore<Notice | undefined>(undefined);

/** Shows a problem in the page's alert region (read out by screen readers). */
export function report(message: string, extra?: ComponentChildren): void {
  notice.set({ tone: 'problem', message, extra });
}

/** Shows good news or a next step in the same region, without the look of an error. */
export function inform(message: string, extra?: ComponentChildren): void {
  notice.set({ tone: 'info', message, extra });
}

export function clearReport(): void {
  notice.set(undefined);
}

/** The words to show for an error: the API's `detail`, else what broke. */
export const describe = (error: unknown) => (error instanceof ApiError || error instanceof Error ? error.message : String(error));

/** Runs an action from a click; whatever it throws is shown, never swallowed into a blank page. */
export function act(action: () => Promise<void> | void, onError?: (error: unknown) => void): void {
  Promise.resolve()
    .then(action)
    .catch((error: unknown) => {
      if (!(error instanceof SessionEnded)) report(describe(error));
      onError?.(error);
    });
}
