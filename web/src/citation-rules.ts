/**
 * Where a reply's citations go in its text, without a page: the answer gets a mark after each cited
 * span before it is parsed as Markdown, and the page turns each mark into a numbered superscript
 * (reply-extras.ts). The marks are characters of Unicode's private use area, which Markdown leaves
 * alone; any the model wrote itself are dropped first, so that a reply cannot forge a citation.
 */

const OPEN = '\uE000';
const CLOSE = '\uE001';
const FORGED = /[\uE000\uE001]/g;

/** Whether rendered text holds a citation mark. */
export const hasCitationMark = (text: string) => text.includes(OPEN);

/** A citation mark in rendered text: group 1 is the source numbers (from 1), comma-separated. */
export const CITATION_MARK = /\uE000([\d,]+)\uE001/g;

export interface CitedSpans {
  sources: unknown[];
  citations: { startIndex: number; endIndex: number; sourceIndices: number[] }[];
}

/** `content` with a mark after each cited span naming its sources (numbered from 1); spans ending together share one mark. */
export function markCitations(content: string, grounding: CitedSpans | null | undefined): string {
  if (!grounding || grounding.citations.length === 0) return content.replace(FORGED, '');
  const numbersAt = new Map<number, Set<number>>();
  for (const { endIndex, sourceIndices } of grounding.citations) {
    const at = Math.min(Math.max(Math.trunc(endIndex) || 0, 0), content.length);
    const numbers = numbersAt.get(at) ?? new Set<number>();
    for (const index of sourceIndices) if (Number.isInteger(index) && index >= 0 && index < grounding.sources.length) numbers.add(index + 1);
    if (numbers.size > 0) numbersAt.set(at, numbers);
  }
  let marked = '';
  let from = 0;
  for (const at of [...numbersAt.keys()].sort((a, b) => a - b)) {
    const numbers = [...numbersAt.get(at)!].sort((a, b) => a - b);
    marked += content.slice(from, at).replace(FORGED, '') + OPEN + numbers.join(',') + CLOSE;
    from = at;
  }
  return marked + content.slice(from).replace(FORGED, '');
}
