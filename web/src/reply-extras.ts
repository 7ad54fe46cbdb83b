/**
 * What a reply shows besides its answer: the model's thoughts (collapsed), the answer's citations as
 * numbered superscripts, the sources they point to, and Google's search suggestions. The
 * suggestions are Google's own HTML: they go in a sandboxed frame with no scripts, so nothing in
 * them can reach this page, its storage or the session.
 */
import { CITATION_MARK, hasCitationMark, markCitations } from './citation-rules';
import type { Message } from './contract';
import { h } from './dom';
import { renderMarkdown } from './markdown';
import { allowedLinkUrl } from './markdown-rules';

type Grounding = NonNullable<Message['grounding']>;
/** What these read of a reply: a Message, or a shared one (share-page.tsx). */
type Answer = Pick<Message, 'id' | 'content' | 'grounding'>;

const sourceAnchor = (messageId: string, number: number) => `source-${messageId}-${number}`;

/** The answer as Markdown, with a superscript link to the source list after each cited span. */
export function renderAnswer(message: Answer): DocumentFragment {
  const fragment = renderMarkdown(markCitations(message.content, message.grounding));
  if (!message.grounding || message.grounding.citations.length === 0) return fragment;
  const walker = document.createTreeWalker(fragment, NodeFilter.SHOW_TEXT);
  const marked: Text[] = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) if (hasCitationMark(node.textContent ?? '')) marked.push(node as Text);
  for (const node of marked) node.replaceWith(...withSuperscripts(node.textContent ?? '', message.id));
  return fragment;
}

function withSuperscripts(text: string, messageId: string): (Node | string)[] {
  const parts: (Node | string)[] = [];
  let from = 0;
  for (const mark of text.matchAll(CITATION_MARK)) {
    parts.push(text.slice(from, mark.index));
    for (const number of mark[1]!.split(',').map(Number)) {
      parts.push(h('sup', { class: 'citation' }, h('a', { href: `#${sourceAnchor(messageId, number)}`, 'aria-label': `Source ${number}` }, String(number))));
    }
    from = mark.index + mark[0].length;
  }
  parts.push(text.slice(from));
  return parts;
}

/** The thought summary, collapsed under "Show thinking"; undefined when the reply has none. */
export function thoughtsSection(message: Message): HTMLElement | undefined {
  if (!message.thoughts) return undefined;
  return h('details', { class: 'thoughts' }, h('summary', {}, 'Show thinking'), h('div', { class: 'thoughts-text markdown' }, renderMarkdown(message.thoughts)));
}

/**
 * A streaming reply's thoughts redrawn in place: the section keeps the open or closed state the
 * user left it in; the first thoughts add it before the answer.
 */
export function paintThoughts(article: Element, message: Message): void {
  const text = article.querySelector('.thoughts-text');
  if (text && message.thoughts) text.replaceChildren(renderMarkdown(message.thoughts));
  else if (!text) {
    const section = thoughtsSection(message);
    if (section) article.querySelector('.content')?.before(section);
  }
}

/** The sources under a grounded answer (numbered as its superscripts) and Google's search suggestions. */
export function groundingSection(message: Answer): HTMLElement | undefined {
  const grounding = message.grounding;
  if (!grounding || (grounding.sources.length === 0 && !grounding.searchEntryPoint)) return undefined;
  return h(
    'section',
    { class: 'grounding', 'aria-label': 'Sources' },
    grounding.sources.length > 0 && h('p', { class: 'sources-title' }, 'Sources'),
    grounding.sources.length > 0 && h('ol', { class: 'sources' }, ...grounding.sources.map((source, index) => sourceItem(message.id, source, index + 1))),
    grounding.searchEntryPoint && searchSuggestions(grounding.searchEntryPoint),
  );
}

function sourceItem(messageId: string, source: Grounding['sources'][number], number: number): HTMLElement {
  const url = allowedLinkUrl(source.uri);
  const title = source.title || source.uri;
  return h(
    'li',
    { id: sourceAnchor(messageId, number) },
    url ? h('a', { href: url, target: '_blank', rel: 'noopener noreferrer' }, title) : title,
  );
}

/**
 * Google's search-suggestion chips, as Google rendered them, in a frame sandboxed without scripts
 * or same-origin access; its links open in a new tab (the frame itself could not show google.com).
 */
function searchSuggestions(html: string): HTMLIFrameElement {
  return h('iframe', {
    class: 'search-suggestions',
    title: 'Google Search suggestions',
    sandbox: 'allow-popups allow-popups-to-escape-sandbox',
    referrerpolicy: 'no-referrer',
    srcdoc: `<!doctype html><base target="_blank">${html}`,
  });
}
