/**
 * Thumbs up and down (▲ ▼, in every font) under a finished answer, with an optional reason once rated. Clicking the
 * pressed thumb again takes the rating back. The answer as the server returns it is handed to
 * `changed`, which redraws it.
 */
import { api, ok } from './api';
import type { Message } from './contract';
import { h } from './dom';
import { act } from './report';

type Rating = 'up' | 'down';
type Reason = NonNullable<NonNullable<Message['feedback']>['reason']>;

const REASONS: { value: Reason; label: string }[] = [
  { value: 'inaccurate', label: 'Inaccurate' },
  { value: 'unhelpful', label: 'Unhelpful' },
  { value: 'unsafe', label: 'Unsafe' },
  { value: 'other', label: 'Other' },
];

/** A finished reply (done or failed) may be rated. */
export const isRatable = (message: Message) => message.role === 'model' && (message.status === 'done' || message.status === 'failed');

export function feedbackControls(message: Message, changed: (message: Message) => void): HTMLElement {
  const current = message.feedback ?? null;
  const path = { params: { path: { id: message.chatroomId, replyId: message.id } } };

  const rate = (rating: Rating, reason: Reason | null) =>
    act(async () => changed(await ok(api.PUT('/chatroom/{id}/messages/{replyId}/feedback', { ...path, body: { rating, reason } }))));
  const toggle = (rating: Rating) => () => {
    if (current?.rating !== rating) {
      rate(rating, null);
      return;
    }
    act(async () => {
      await ok(api.DELETE('/chatroom/{id}/messages/{replyId}/feedback', path));
      changed({ ...message, feedback: null });
    });
  };
  const thumb = (rating: Rating, symbol: string, label: string) =>
    h(
      'button',
      { type: 'button', class: current?.rating === rating ? 'icon thumb pressed' : 'icon thumb', 'aria-label': label, 'aria-pressed': current?.rating === rating ? 'true' : 'false', onclick: toggle(rating) },
      symbol,
    );

  const reason =
    current &&
    h(
      'select',
      {
        'aria-label': 'Reason (optional)',
        onchange: (event) => {
          const value = (event.target as HTMLSelectElement).value;
          rate(current.rating, value === '' ? null : (value as Reason));
        },
      },
      h('option', { value: '', selected: current.reason === null }, 'Reason (optional)'),
      ...REASONS.map(({ value, label }) => h('option', { value, selected: current.reason === value }, label)),
    );

  return h('span', { class: 'feedback', role: 'group', 'aria-label': 'Rate this answer' }, thumb('up', '▲', 'Good answer'), thumb('down', '▼', 'Bad answer'), reason);
}
