import { fold, WORD_CHARS_RUN, type HighlightWord } from './search-query.js';

/** A snippet is at most this many UTF-16 code units, ellipses included (contract). */
export const SNIPPET_MAX = 200;
/** How much text before the first match a snippet keeps, so the match reads in context. */
const LEAD_IN = 60;
const ELLIPSIS = '…';

export interface Snippet {
  snippet: string;
  /** [start, end) offsets in UTF-16 code units of the matched words in `snippet`. */
  highlights: [number, number][];
}

const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff;
const isLowSurrogate = (code: number) => code >= 0xdc00 && code <= 0xdfff;

/**
 * A plain-text excerpt of `text` around its first matched word (whitespace collapsed, at most
 * SNIPPET_MAX code units, never a character cut in half), with the offsets of the matched words in
 * it. Markup is left as the text has it: the client shows the snippet as text.
 */
export function snippetOf(text: string, words: HighlightWord[]): Snippet {
  const flat = text.replace(/\s+/g, ' ').trim();
  const matches: [number, number][] = [];
  for (const token of flat.matchAll(WORD_CHARS_RUN)) {
    const folded = fold(token[0]);
    if (words.some(({ word, prefix }) => (prefix ? folded.startsWith(word) : folded === word))) {
      matches.push([token.index, token.index + token[0].length]);
    }
  }
  if (flat.length <= SNIPPET_MAX) return { snippet: flat, highlights: matches };

  let start = Math.max(0, (matches[0]?.[0] ?? 0) - LEAD_IN);
  // Start at a word's beginning: after the space before the cut, if there is one close by.
  if (start > 0) {
    const space = flat.indexOf(' ', start);
    if (space !== -1 && space < (matches[0]?.[0] ?? 0)) start = space + 1;
  }
  if (isLowSurrogate(flat.charCodeAt(start))) start++;
  const lead = start > 0 ? ELLIPSIS : '';
  let end = Math.min(flat.length, start + SNIPPET_MAX - lead.length);
  if (end < flat.length) end = start + SNIPPET_MAX - lead.length - ELLIPSIS.length;
  if (isHighSurrogate(flat.charCodeAt(end - 1))) end--;
  const tail = end < flat.length ? ELLIPSIS : '';
  const shift = lead.length - start;
  return {
    snippet: `${lead}${flat.slice(start, end)}${tail}`,
    highlights: matches.filter(([from, to]) => from >= start && to <= end).map(([from, to]) => [from + shift, to + shift]),
  };
}
