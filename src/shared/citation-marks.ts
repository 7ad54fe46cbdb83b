/**
 * Where an answer's citations are marked in its text: after each cited span, the numbers (from 1) of
 * the sources it cites. The server's Markdown export writes the marks as ` [1][2]`
 * (src/modules/messages/conversation-export.ts); the chat page as private-use characters that it
 * turns into superscripts after the Markdown parse (web/src/citation-rules.ts).
 *
 * src/shared holds the code the server and the chat page both run: pure, importing nothing, in
 * Node and in the browser alike (.dependency-cruiser.js, "shared-imports-nothing").
 */

/** What the marking reads of an answer's grounding (the API's `grounding` fits it). */
export interface CitedSpans {
  sources: readonly unknown[];
  /** `startIndex` is not read: a mark goes where its span ends. */
  citations: readonly { startIndex?: number; endIndex: number; sourceIndices: readonly number[] }[];
}

interface MarkOptions {
  /** The mark for the sources cited at one place, numbered from 1 and sorted. */
  mark: (numbers: number[]) => string;
  /** Applied to the text between marks (the page drops marks the model forged there); left as is by default. */
  clean?: (text: string) => string;
}

/**
 * `content` with a mark after each cited span naming its sources; spans ending together share one
 * mark. Offsets outside the text are clamped to it; sources that do not exist are left out, and a
 * place left with none gets no mark.
 */
export function markCitations(content: string, grounding: CitedSpans | null | undefined, { mark, clean = (text) => text }: MarkOptions): string {
  const numbersAt = new Map<number, Set<number>>();
  for (const { endIndex, sourceIndices } of grounding?.citations ?? []) {
    const at = Math.min(Math.max(Math.trunc(endIndex) || 0, 0), content.length);
    const numbers = numbersAt.get(at) ?? new Set<number>();
    for (const index of sourceIndices) if (Number.isInteger(index) && index >= 0 && index < (grounding?.sources.length ?? 0)) numbers.add(index + 1);
    if (numbers.size > 0) numbersAt.set(at, numbers);
  }
  let marked = '';
  let from = 0;
  for (const at of [...numbersAt.keys()].sort((a, b) => a - b)) {
    marked += clean(content.slice(from, at)) + mark([...numbersAt.get(at)!].sort((a, b) => a - b));
    from = at;
  }
  return marked + clean(content.slice(from));
}
