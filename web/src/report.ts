import { ApiError, SessionEnded } from './api';
import { byId, h } from './dom';

const alertBox = byId('alert');

/** Shows a problem in the page's alert region (read out by screen readers). */
export function report(message: string, ...extra: Node[]): void {
  show('problem', message, extra);
}

/** Shows good news or a next step in the same region, without the look of an error. */
export function inform(message: string, ...extra: Node[]): void {
  show('info', message, extra);
}

function show(tone: 'problem' | 'info', message: string, extra: Node[]) {
  alertBox.className = tone;
  alertBox.replaceChildren(h('p', {}, message), ...extra, h('button', { type: 'button', class: 'dismiss', onclick: clearReport }, 'Dismiss'));
  alertBox.hidden = false;
}

export function clearReport(): void {
  alertBox.hidden = true;
  alertBox.replaceChildren();
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
