/**
 * The parts of rendering a reply's Markdown that need no browser (the rendering itself is
 * markdown.ts's): which link addresses a reply may carry, and escaping text into HTML.
 */

/** The schemes a link in a reply may use: a page, or an e-mail. Never script, data, file or a relative path. */
const LINK_SCHEMES = new Set(['http:', 'https:', 'mailto:']);

/**
 * The address a link in a reply may point to, or undefined when it may not. Parsed as a URL, not
 * matched as text: the parser drops the tabs, newlines and case tricks (`java\tscript:`, `JavaScript:`)
 * a pattern would have to know about. A relative address is refused too: it would point into this
 * server, where the user's session is.
 */
export function allowedLinkUrl(href: string): string | undefined {
  let url: URL;
  try {
    url = new URL(href.trim());
  } catch {
    return undefined;
  }
  return LINK_SCHEMES.has(url.protocol) ? url.href : undefined;
}

/** The same rule, in the form DOMPurify takes (it strips whitespace and control characters before testing). */
export const ALLOWED_LINK_PATTERN = /^(?:https?|mailto):/i;

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (character) => HTML_ESCAPES[character] ?? character);
