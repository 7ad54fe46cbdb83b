import { waitUntil } from './wait.js';

export interface LiveEvent {
  id: string | undefined;
  event: string;
  data: unknown;
}

/** An event stream read over a real HTTP connection, as a browser's EventSource would. */
export interface LiveSse {
  status: number;
  /** Every event so far, in order. */
  events: LiveEvent[];
  /** `: keep-alive` comments received so far. */
  keepAlives: number;
  /** Resolves once the server ended the stream (or the client left). */
  finished: Promise<void>;
  /** Waits (bounded) until `condition` holds over what arrived. */
  until(condition: (events: LiveEvent[]) => boolean, what?: string): Promise<void>;
  /** The client goes away. */
  disconnect(): void;
  /** The body of a refused (non-200) answer. */
  problem?: { code: string };
}

export async function openSse(url: string, headers: Record<string, string>, init: { method?: string; body?: string } = {}): Promise<LiveSse> {
  const leaving = new AbortController();
  const res = await fetch(url, { method: init.method ?? 'GET', headers: { accept: 'text/event-stream', ...headers }, body: init.body, signal: leaving.signal });
  const live: LiveSse = {
    status: res.status,
    events: [],
    keepAlives: 0,
    finished: Promise.resolve(),
    until: (condition, what = 'the expected events') =>
      waitUntil(() => condition(live.events), what, { detail: () => `got ${JSON.stringify(live.events.map((e) => e.event))}` }),
    disconnect: () => leaving.abort(),
  };
  if (res.status !== 200) {
    live.problem = (await res.json()) as { code: string };
    return live;
  }
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  live.finished = (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += decoder.decode(value, { stream: true });
        let split: number;
        while ((split = buffer.indexOf('\n\n')) !== -1) {
          const block = buffer.slice(0, split);
          buffer = buffer.slice(split + 2);
          if (block.startsWith(':')) {
            live.keepAlives += 1;
            continue;
          }
          const lines = block.split('\n');
          const field = (name: string) => lines.find((line) => line.startsWith(`${name}: `))?.slice(name.length + 2);
          live.events.push({ id: field('id'), event: field('event') ?? 'message', data: JSON.parse(field('data') ?? 'null') as unknown });
        }
      }
    } catch {
      // The client left (disconnect): what arrived stays in `events`.
    }
  })();
  return live;
}

/** The text a client holds after these events: deltas joined, a `reset` dropping what came before. */
export function heldText(events: LiveEvent[]): string {
  let text = '';
  for (const event of events) {
    if (event.event === 'delta') text += (event.data as { text: string }).text;
    if (event.event === 'reset') text = '';
  }
  return text;
}

export const isEnd = (events: LiveEvent[]) => events.some((e) => e.event === 'done' || e.event === 'error');
