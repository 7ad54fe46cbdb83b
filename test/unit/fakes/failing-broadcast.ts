import type { Broadcast } from '../../../src/infra/broadcast.js';

/**
 * A broadcast whose publishing fails (Redis unreachable) until `recover()`, recording every message
 * it was asked to send. It gives in after 100 tries anyway, so that a retry loop that never pauses
 * fails its test instead of spinning.
 */
export function failingBroadcast() {
  const sent: string[] = [];
  let failing = true;
  const broadcast: Broadcast = {
    live: true,
    publish: (_channel, message) => {
      sent.push(message);
      return failing && sent.length < 100 ? Promise.reject(new Error('Connection is closed.')) : Promise.resolve();
    },
    subscribe: () => undefined,
    onGap: () => undefined,
    close: () => Promise.resolve(),
  };
  return { broadcast, sent, recover: () => (failing = false) };
}
