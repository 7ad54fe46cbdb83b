/**
 * A model's reply as Markdown: parsed by marked, then sanitised by DOMPurify before any of it
 * reaches the page. The reply is text a stranger could have steered (a prompt can make the model
 * repeat anything), so the allow-list is short: text structure, tables, code and links. HTML the
 * model writes is shown as the text it is, never parsed (a <br> aside): even an inert parse of
 * `<img onerror=…>` makes Chromium report a CSP violation, and a chat about HTML wants its markup
 * visible. No images (an <img> fetches on its own), no forms, no script, style or frames.
 *
 * The views set what renderMarkdown returns as a node's innerHTML (Preact's dangerouslySetInnerHTML):
 * SanitisedHtml can only be made here, from DOMPurify's output, so no other string can take that way in.
 */
import DOMPurify from 'dompurify';
import { Marked } from 'marked';
import { ALLOWED_LINK_PATTERN, allowedLinkUrl, escapeHtml } from './markdown-rules';

/** What marked makes of Markdown, and nothing else: the model's own HTML never reaches the parse (above). */
const ALLOWED_TAGS = ['p', 'br', 'hr', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'blockquote', 'ul', 'ol', 'li', 'strong', 'em', 'del', 'code', 'pre', 'table', 'thead', 'tbody', 'tr', 'th', 'td', 'a'];
const ALLOWED_ATTR = ['href', 'title', 'align', 'start'];

const COPIED_LABEL_MS = 1_500;
const LINE_BREAK = /^<br\s*\/?>$/i;

const markdown = new Marked({
  gfm: true,
  // A single newline in a reply is a line break, as it was when replies were plain text.
  breaks: true,
  renderer: {
    // Gemini breaks lines in table cells with <br>: that one tag is kept; any other HTML shows as text.
    html: ({ text, block }) => {
      if (LINE_BREAK.test(text.trim())) return '<br>';
      return block ? `<p>${escapeHtml(text.trim()).replaceAll('\n', '<br>')}</p>` : escapeHtml(text);
    },
    // An image from the model shows as its alt text: nothing is fetched from where a reply points.
    image: ({ text }) => escapeHtml(text),
    // Task lists without form controls: the page has no use for a checkbox the user cannot tick.
    checkbox: ({ checked }) => (checked ? '☑ ' : '☐ '),
  },
});

declare const sanitised: unique symbol;

/** HTML that came out of DOMPurify below (and the few elements this file adds to it): safe for innerHTML. */
export interface SanitisedHtml {
  readonly __html: string;
  readonly [sanitised]: true;
}

/**
 * A reply's Markdown as sanitised HTML, with links that open in a new tab and a Copy button on each
 * code block. `finish` may add elements of its own to the sanitised DOM before it is serialised (the
 * citations' superscripts, reply-extras.tsx); it never parses a string.
 */
export function renderMarkdown(text: string, finish?: (fragment: DocumentFragment) => void): SanitisedHtml {
  const html = markdown.parse(text, { async: false });
  const fragment = DOMPurify.sanitize(html, {
    ALLOWED_TAGS,
    ALLOWED_ATTR,
    ALLOWED_URI_REGEXP: ALLOWED_LINK_PATTERN,
    ALLOW_DATA_ATTR: false,
    ALLOW_ARIA_ATTR: false,
    RETURN_DOM_FRAGMENT: true,
  });
  for (const link of fragment.querySelectorAll('a')) openInNewTab(link);
  for (const block of fragment.querySelectorAll('pre')) addCopyButton(block);
  // marked ends blocks with a newline; between blocks it is only layout, and would be in textContent.
  for (const node of [...fragment.childNodes]) if (node.nodeType === Node.TEXT_NODE && !node.textContent?.trim()) node.remove();
  finish?.(fragment);
  const box = document.createElement('div');
  box.append(fragment);
  return { __html: box.innerHTML } as SanitisedHtml;
}

/** A link whose address is allowed opens in a new tab that cannot reach back to this page; any other keeps its text only. */
function openInNewTab(link: HTMLAnchorElement) {
  const url = allowedLinkUrl(link.getAttribute('href') ?? '');
  if (!url) {
    link.replaceWith(...link.childNodes);
    return;
  }
  link.href = url;
  link.target = '_blank';
  link.rel = 'noopener noreferrer';
}

function addCopyButton(block: HTMLPreElement) {
  const copy = document.createElement('button');
  copy.type = 'button';
  copy.className = 'copy-code';
  copy.title = 'Copy the code';
  copy.textContent = 'Copy';
  const wrapper = document.createElement('div');
  wrapper.className = 'code-block';
  block.replaceWith(wrapper);
  wrapper.append(copy, block);
}

/**
 * The click handler of an element that shows rendered Markdown: the Copy buttons are HTML, not
 * components, so their clicks are handled here, where they bubble to.
 */
export function onMarkdownClick(event: MouseEvent): void {
  const button = event.target instanceof Element ? event.target.closest<HTMLButtonElement>('button.copy-code') : null;
  const block = button?.parentElement?.querySelector('pre');
  if (button && block) void copyCode(block, button);
}

async function copyCode(block: HTMLPreElement, button: HTMLButtonElement) {
  // Without the newline that ends every fenced block: pasted into a terminal, it would run the line.
  const code = (block.textContent ?? '').replace(/\n$/, '');
  try {
    // navigator.clipboard exists on https and localhost only; a plain-http deployment falls to the catch.
    await navigator.clipboard.writeText(code);
    button.textContent = 'Copied';
  } catch {
    // Selected instead, for the keyboard's copy.
    getSelection()?.selectAllChildren(block);
    button.textContent = 'Press Ctrl+C';
  }
  setTimeout(() => (button.textContent = 'Copy'), COPIED_LABEL_MS);
}
