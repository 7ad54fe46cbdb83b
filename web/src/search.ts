/**
 * The search box of the sidebar: results as the user types (debounced; an older answer never
 * replaces a newer one), each a snippet with its matched words marked (built as text nodes: the
 * server's snippet is plain text and is never parsed as HTML). Enter or a click opens the chatroom at
 * that message's branch, through the page's `openAt`.
 */
import { api, ok } from './api';
import type { SearchHit } from './contract';
import { byId, h } from './dom';
import { act } from './report';

const DEBOUNCE_MS = 250;

/** The snippet with each highlighted range in a <mark>, as text nodes only. */
export function markedSnippet(hit: Pick<SearchHit, 'snippet' | 'highlights'>): (string | HTMLElement)[] {
  const parts: (string | HTMLElement)[] = [];
  let at = 0;
  for (const [start = 0, end = 0] of [...hit.highlights].sort((a, b) => (a[0] ?? 0) - (b[0] ?? 0))) {
    if (start < at || end <= start || end > hit.snippet.length) continue;
    if (start > at) parts.push(hit.snippet.slice(at, start));
    parts.push(h('mark', {}, hit.snippet.slice(start, end)));
    at = end;
  }
  if (at < hit.snippet.length) parts.push(hit.snippet.slice(at));
  return parts;
}

export function startSearch(openAt: (chatroomId: string, messageId: string | null) => Promise<void>): void {
  const box = byId<HTMLInputElement>('search');
  const results = byId('search-results');
  let timer: ReturnType<typeof setTimeout> | undefined;
  let asked = 0;
  let hits: SearchHit[] = [];

  async function openHit(hit: SearchHit) {
    await openAt(hit.chatroomId, hit.messageId);
    results.hidden = true;
  }
  const open = (hit: SearchHit) => act(() => openHit(hit));

  function show(found: SearchHit[], q: string) {
    hits = found;
    results.hidden = false;
    if (found.length === 0) {
      results.replaceChildren(h('li', { class: 'empty' }, `Nothing found for "${q}"`));
      return;
    }
    results.replaceChildren(
      ...found.map((hit) =>
        h(
          'li',
          {},
          h(
            'button',
            { type: 'button', class: 'search-hit', onclick: () => open(hit) },
            h('span', { class: 'search-room' }, hit.messageId === null ? 'Chat title' : `${hit.chatroomTitle} · ${hit.role === 'user' ? 'You' : 'Gemini'}`),
            h('span', { class: 'search-snippet' }, ...markedSnippet(hit)),
          ),
        ),
      ),
    );
  }

  async function run(q: string) {
    const mine = ++asked;
    const page = await ok(api.GET('/search', { params: { query: { q, limit: 20 } } }));
    if (mine === asked) show(page.items, q); // a slower, older answer must not replace a newer one
  }

  box.addEventListener('input', () => {
    clearTimeout(timer);
    const q = box.value.trim();
    if (q.length === 0) {
      asked++;
      results.hidden = true;
      results.replaceChildren();
      return;
    }
    timer = setTimeout(() => act(() => run(q.slice(0, 200))), DEBOUNCE_MS);
  });
  box.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') {
      results.hidden = true;
      return;
    }
    if (event.key !== 'Enter') return;
    event.preventDefault();
    const q = box.value.trim();
    if (!q) return;
    clearTimeout(timer);
    // Enter opens the best hit, once the results for what is typed are in.
    act(async () => {
      await run(q.slice(0, 200));
      const first = hits[0];
      if (first) await openHit(first);
    });
  });
}
