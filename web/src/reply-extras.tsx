/**
 * What a reply shows besides its answer: the model's thoughts (collapsed), the answer's citations as
 * numbered superscripts, the sources they point to, and Google's search suggestions. The
 * suggestions are Google's own HTML: they go in a sandboxed frame with no scripts, so nothing in
 * them can reach this page, its storage or the session.
 */
import { useMemo } from 'preact/hooks';
import { CITATION_MARK, hasCitationMark, markCitations } from './citation-rules';
import type { Message } from './contract';
import { onMarkdownClick, renderMarkdown, type SanitisedHtml } from './markdown';
import { allowedLinkUrl } from './markdown-rules';
import { createRenderCache } from './render-cache';

type Grounding = NonNullable<Message['grounding']>;
/** What these read of a reply: a Message, or a shared one (share-page.tsx). */
type Answer = Pick<Message, 'id' | 'content' | 'grounding'>;

const sourceAnchor = (messageId: string, number: number) => `source-${messageId}-${number}`;

/**
 * The answer as Markdown, with a superscript link to the source list after each cited span. It
 * depends on nothing but the reply's id (the sources' anchors) and `marked`, the answer's text with
 * its citation marks (markCitations): what the cache below is keyed by.
 */
function answerHtml(messageId: string, marked: string): SanitisedHtml {
  return renderMarkdown(marked, (fragment) => {
    if (!hasCitationMark(marked)) return;
    const walker = document.createTreeWalker(fragment, NodeFilter.SHOW_TEXT);
    const cited: Text[] = [];
    for (let node = walker.nextNode(); node; node = walker.nextNode()) if (hasCitationMark(node.textContent ?? '')) cited.push(node as Text);
    for (const node of cited) node.replaceWith(...withSuperscripts(node.textContent ?? '', messageId));
  });
}

function withSuperscripts(text: string, messageId: string): (Node | string)[] {
  const parts: (Node | string)[] = [];
  let from = 0;
  for (const mark of text.matchAll(CITATION_MARK)) {
    parts.push(text.slice(from, mark.index));
    for (const number of mark[1]!.split(',').map(Number)) {
      const sup = document.createElement('sup');
      sup.className = 'citation';
      const link = sup.appendChild(document.createElement('a'));
      link.href = `#${sourceAnchor(messageId, number)}`;
      link.setAttribute('aria-label', `Source ${number}`);
      link.textContent = String(number);
      parts.push(sup);
    }
    from = mark.index + mark[0].length;
  }
  parts.push(text.slice(from));
  return parts;
}

/** More replies than a long chat shows; past that, the reply used longest ago is parsed again when it shows. */
const ANSWERS_KEPT = 500;
/** The answers as parsed, by reply (render-cache.ts): a reply whose marked text did not change is not parsed again. */
const answers = createRenderCache<SanitisedHtml>(ANSWERS_KEPT);

/**
 * A reply's answer. Parsed again only when its text or its citations change, whatever new object the
 * reply or its grounding is (a reload makes every one new): a streaming reply's deltas redraw this
 * element's content and nothing else of the log.
 */
export function AnswerContent({ message }: { message: Answer }) {
  const marked = markCitations(message.content, message.grounding);
  const html = answers(message.id, marked, (text) => answerHtml(message.id, text));
  return <div class="content markdown" onClick={onMarkdownClick} dangerouslySetInnerHTML={html} />;
}

/** The thought summary, collapsed under "Show thinking" (left open or closed as the user left it while it streams). */
export function Thoughts({ thoughts }: { thoughts: string | null | undefined }) {
  const html = useMemo(() => (thoughts ? renderMarkdown(thoughts) : undefined), [thoughts]);
  if (!html) return null;
  return (
    <details class="thoughts">
      <summary>Show thinking</summary>
      <div class="thoughts-text markdown" onClick={onMarkdownClick} dangerouslySetInnerHTML={html} />
    </details>
  );
}

/** The sources under a grounded answer (numbered as its superscripts) and Google's search suggestions. */
export function GroundingSection({ message }: { message: Answer }) {
  const grounding = message.grounding;
  if (!grounding || (grounding.sources.length === 0 && !grounding.searchEntryPoint)) return null;
  return (
    <section class="grounding" aria-label="Sources">
      {grounding.sources.length > 0 && <p class="sources-title">Sources</p>}
      {grounding.sources.length > 0 && (
        <ol class="sources">
          {grounding.sources.map((source, index) => (
            <SourceItem key={index} messageId={message.id} source={source} number={index + 1} />
          ))}
        </ol>
      )}
      {grounding.searchEntryPoint && <SearchSuggestions html={grounding.searchEntryPoint} />}
    </section>
  );
}

function SourceItem({ messageId, source, number }: { messageId: string; source: Grounding['sources'][number]; number: number }) {
  const url = allowedLinkUrl(source.uri);
  const title = source.title || source.uri;
  return (
    <li id={sourceAnchor(messageId, number)}>
      {url ? (
        <a href={url} target="_blank" rel="noopener noreferrer">
          {title}
        </a>
      ) : (
        title
      )}
    </li>
  );
}

/**
 * Google's search-suggestion chips, as Google rendered them, in a frame sandboxed without scripts
 * or same-origin access; its links open in a new tab (the frame itself could not show google.com).
 * The sandbox comes first: it is in place before the frame is in the page and loads its document.
 */
function SearchSuggestions({ html }: { html: string }) {
  return (
    <iframe
      sandbox="allow-popups allow-popups-to-escape-sandbox"
      class="search-suggestions"
      title="Google Search suggestions"
      referrerpolicy="no-referrer"
      srcdoc={`<!doctype html><base target="_blank">${html}`}
    />
  );
}
