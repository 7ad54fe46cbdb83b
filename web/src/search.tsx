/**
 * The search box of the sidebar: results as the user types (debounced; an older answer never
 * replaces a newer one), each a snippet with its matched words marked (drawn as text: the server's
 * snippet is plain text and is never parsed as HTML). Enter or a click opens the chatroom at that
 * message's branch, through the page's `openAt`.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ok } from './api';
import type { SearchHit } from './contract';
import { act } from './report';

const DEBOUNCE_MS = 250;

/** The snippet with each highlighted range in a <mark>, as text only. */
export function markedSnippet(hit: Pick<SearchHit, 'snippet' | 'highlights'>): ComponentChildren[] {
  const parts: ComponentChildren[] = [];
  let at = 0;
  for (const [start = 0, end = 0] of [...hit.highlights].sort((a, b) => (a[0] ?? 0) - (b[0] ?? 0))) {
    if (start < at || end <= start || end > hit.snippet.length) continue;
    if (start > at) parts.push(hit.snippet.slice(at, start));
    parts.push(<mark key={start}>{hit.snippet.slice(start, end)}</mark>);
    at = end;
  }
  if (at < hit.snippet.length) parts.push(hit.snippet.slice(at));
  return parts;
}

/** What the results list shows: nothing (hidden), the hits for `q`, or none found. */
type Results = { hidden: true } | { hidden: false; q: string; hits: SearchHit[] };

export function SearchBox({ openAt }: { openAt: (chatroomId: string, messageId: string | null) => Promise<void> }) {
  const [q, setQ] = useState('');
  const [results, setResults] = useState<Results>({ hidden: true });
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const asked = useRef(0);
  useEffect(() => () => clearTimeout(timer.current), []);

  async function run(query: string): Promise<SearchHit[] | undefined> {
    const mine = ++asked.current;
    const page = await ok(api.GET('/search', { params: { query: { q: query, limit: 20 } } }));
    if (mine !== asked.current) return undefined; // a slower, older answer must not replace a newer one
    setResults({ hidden: false, q: query, hits: page.items });
    return page.items;
  }

  async function openHit(hit: SearchHit) {
    await openAt(hit.chatroomId, hit.messageId);
    setResults({ hidden: true });
  }

  return (
    <div class="search" role="search">
      <input
        type="search"
        id="search"
        aria-label="Search chats"
        placeholder="Search chats"
        maxLength={200}
        autocomplete="off"
        value={q}
        onInput={(event) => {
          const typed = event.currentTarget.value;
          setQ(typed);
          clearTimeout(timer.current);
          const query = typed.trim();
          if (query.length === 0) {
            asked.current++;
            setResults({ hidden: true });
            return;
          }
          timer.current = setTimeout(() => act(async () => void (await run(query.slice(0, 200)))), DEBOUNCE_MS);
        }}
        onKeyDown={(event) => {
          if (event.key === 'Escape') {
            setResults({ hidden: true });
            return;
          }
          if (event.key !== 'Enter') return;
          event.preventDefault();
          const query = q.trim();
          if (!query) return;
          clearTimeout(timer.current);
          // Enter opens the best hit, once the results for what is typed are in.
          act(async () => {
            const first = (await run(query.slice(0, 200)))?.[0];
            if (first) await openHit(first);
          });
        }}
      />
      <ul id="search-results" aria-label="Search results" hidden={results.hidden}>
        {!results.hidden && results.hits.length === 0 && <li class="empty">{`Nothing found for "${results.q}"`}</li>}
        {!results.hidden &&
          results.hits.map((hit) => (
            <li key={`${hit.chatroomId}/${hit.messageId ?? ''}`}>
              <button type="button" class="search-hit" onClick={() => act(() => openHit(hit))}>
                <span class="search-room">{hit.messageId === null ? 'Chat title' : `${hit.chatroomTitle} · ${hit.role === 'user' ? 'You' : 'Gemini'}`}</span>
                <SearchSnippet hit={hit} />
              </button>
            </li>
          ))}
      </ul>
    </div>
  );
}

function SearchSnippet({ hit }: { hit: SearchHit }): ComponentChildren {
  return <span class="search-snippet">{markedSnippet(hit)}</span>;
}
