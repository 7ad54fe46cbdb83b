/**
 * What a view made of a text, kept per key (a reply's id) for as long as the text stays the same. A
 * reply drawn again with the same text gets back the very object it got before, unparsed: after a
 * reload of the chat (every message a new object, a grounded reply's grounding too), when the stream's
 * `done` replaces the reply it streamed, or when a chat is opened again. One entry per key (a
 * streaming reply's older texts are not kept), the `limit` most recently used keys. No imports: the
 * unit tests run it in Node.
 */
export type RenderCache<T> = (key: string, text: string, render: (text: string) => T) => T;

export function createRenderCache<T>(limit: number): RenderCache<T> {
  const kept = new Map<string, { text: string; made: T }>();
  return (key, text, render) => {
    const before = kept.get(key);
    const entry = before?.text === text ? before : { text, made: render(text) };
    // Re-inserted: a Map keeps insertion order, so the first key is the one used longest ago.
    kept.delete(key);
    kept.set(key, entry);
    for (const oldest of kept.keys()) {
      if (kept.size <= limit) break;
      kept.delete(oldest);
    }
    return entry.made;
  };
}
