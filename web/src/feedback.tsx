/**
 * Thumbs up and down (▲ ▼, in every font) under a finished answer, with an optional reason once rated. Clicking the
 * pressed thumb again takes the rating back. The answer as the server returns it is handed to
 * `changed`, which redraws it.
 */
import { api, ok } from './api';
import type { Message } from './contract';
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

export function Feedback({ message, changed }: { message: Message; changed: (message: Message) => void }) {
  const current = message.feedback ?? null;
  const path = { params: { path: { id: message.chatroomId, replyId: message.id } } };

  const rate = (rating: Rating, reason: Reason | null) =>
    act(async () => changed(await ok(api.PUT('/chatroom/{id}/messages/{replyId}/feedback', { ...path, body: { rating, reason } }))));
  const toggle = (rating: Rating) => {
    if (current?.rating !== rating) {
      rate(rating, null);
      return;
    }
    act(async () => {
      await ok(api.DELETE('/chatroom/{id}/messages/{replyId}/feedback', path));
      changed({ ...message, feedback: null });
    });
  };
  const thumb = (rating: Rating, symbol: string, label: string) => {
    const pressed = current?.rating === rating;
    return (
      <button type="button" class={pressed ? 'icon thumb pressed' : 'icon thumb'} aria-label={label} aria-pressed={pressed ? 'true' : 'false'} onClick={() => toggle(rating)}>
        {symbol}
      </button>
    );
  };

  return (
    <span class="feedback" role="group" aria-label="Rate this answer">
      {thumb('up', '▲', 'Good answer')}
      {thumb('down', '▼', 'Bad answer')}
      {current && (
        <select
          aria-label="Reason (optional)"
          value={current.reason ?? ''}
          onChange={(event) => {
            const value = event.currentTarget.value;
            rate(current.rating, value === '' ? null : (value as Reason));
          }}
        >
          <option value="">Reason (optional)</option>
          {REASONS.map(({ value, label }) => (
            <option key={value} value={value}>
              {label}
            </option>
          ))}
        </select>
      )}
    </span>
  );
}
