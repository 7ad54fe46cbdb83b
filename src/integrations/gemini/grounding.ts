import type { GroundingMetadata } from '@google/genai';

/**
 * Where an answer came from when it used Google Search, in the contract's shape: the queries the
 * model ran, the web sources, the spans of the answer each source supports (offsets in UTF-16 code
 * units into the answer, what `String.slice` takes) and Google's search-suggestion HTML.
 */
export interface Grounding {
  queries: string[];
  sources: { uri: string; title: string }[];
  citations: { startIndex: number; endIndex: number; sourceIndices: number[] }[];
  searchEntryPoint: string | null;
}

/**
 * Bounds on what one reply keeps: the metadata comes from outside and is stored, streamed and
 * rendered with the reply, so a model that returned a thousand sources must not make a reply huge.
 */
export const GROUNDING_LIMITS = {
  queries: 10,
  queryChars: 300,
  sources: 50,
  titleChars: 300,
  uriChars: 2048,
  citations: 200,
  /** Google's entry point is a few KiB of HTML and CSS; anything far larger is not what a client should frame. */
  searchEntryPointChars: 64 * 1024,
} as const;

const clip = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);

/**
 * The link in its normalised form (spaces and angle brackets escaped), if it is a web link a reader
 * can follow: a `javascript:` or `data:` source is dropped, never rendered.
 */
function webLink(uri: string): URL | undefined {
  if (uri.length > GROUNDING_LIMITS.uriChars) return undefined;
  try {
    const url = new URL(uri);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Turns UTF-8 byte offsets into `text` into UTF-16 offsets. An offset is clamped into the text, and
 * one that falls inside a character (a byte of a multi-byte sequence, or between the halves of a
 * surrogate pair) moves to that character's start, or its end for an `end` offset: a citation never
 * splits a character.
 */
export function utf16OffsetsOf(text: string) {
  // The UTF-16 index and UTF-8 byte offset where each code point starts, and the text's ends.
  const unitStarts: number[] = [];
  const byteStarts: number[] = [];
  let bytes = 0;
  for (let index = 0; index < text.length; ) {
    const codePoint = text.codePointAt(index)!;
    unitStarts.push(index);
    byteStarts.push(bytes);
    bytes += codePoint < 0x80 ? 1 : codePoint < 0x800 ? 2 : codePoint < 0x10000 ? 3 : 4;
    index += codePoint > 0xffff ? 2 : 1;
  }
  unitStarts.push(text.length);
  byteStarts.push(bytes);

  /** The index of the last code point starting at or before `byte`. */
  function lastStartAtOrBefore(byte: number): number {
    let low = 0;
    let high = byteStarts.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (byteStarts[middle]! <= byte) low = middle;
      else high = middle - 1;
    }
    return low;
  }

  return (byteOffset: number, edge: 'start' | 'end'): number => {
    const byte = Math.min(Math.max(Number.isFinite(byteOffset) ? Math.trunc(byteOffset) : 0, 0), bytes);
    const at = lastStartAtOrBefore(byte);
    const inside = byteStarts[at]! < byte;
    return unitStarts[edge === 'end' && inside ? at + 1 : at]!;
  };
}

/**
 * The contract's grounding from Gemini's metadata for the answer `content`, or null when the answer
 * used no search. Sources that are not web links are dropped and the citations renumbered; a
 * citation left with no source or no text is dropped; everything is bounded (GROUNDING_LIMITS).
 */
export function groundingFrom(metadata: GroundingMetadata | undefined, content: string): Grounding | null {
  if (!metadata) return null;
  const queries = (metadata.webSearchQueries ?? [])
    .filter((query): query is string => typeof query === 'string' && query.trim() !== '')
    .slice(0, GROUNDING_LIMITS.queries)
    .map((query) => clip(query.trim(), GROUNDING_LIMITS.queryChars));

  // Gemini's chunk index → ours, for the chunks kept.
  const renumbered = new Map<number, number>();
  const sources: Grounding['sources'] = [];
  (metadata.groundingChunks ?? []).forEach((chunk, index) => {
    const link = typeof chunk?.web?.uri === 'string' ? webLink(chunk.web.uri) : undefined;
    if (sources.length >= GROUNDING_LIMITS.sources || !link) return;
    const title = typeof chunk.web?.title === 'string' && chunk.web.title.trim() ? chunk.web.title.trim() : link.hostname;
    renumbered.set(index, sources.length);
    sources.push({ uri: link.href, title: clip(title.replace(/\s+/g, ' '), GROUNDING_LIMITS.titleChars) });
  });

  const toUtf16 = utf16OffsetsOf(content);
  const citations: Grounding['citations'] = [];
  for (const support of metadata.groundingSupports ?? []) {
    if (citations.length >= GROUNDING_LIMITS.citations) break;
    const sourceIndices = [...new Set((support?.groundingChunkIndices ?? []).map((index) => renumbered.get(index)))]
      .filter((index): index is number => index !== undefined)
      .sort((a, b) => a - b);
    const startIndex = toUtf16(support?.segment?.startIndex ?? 0, 'start');
    const endIndex = toUtf16(support?.segment?.endIndex ?? 0, 'end');
    if (sourceIndices.length > 0 && startIndex < endIndex) citations.push({ startIndex, endIndex, sourceIndices });
  }
  citations.sort((a, b) => a.startIndex - b.startIndex || a.endIndex - b.endIndex);

  const rendered = metadata.searchEntryPoint?.renderedContent;
  const searchEntryPoint =
    typeof rendered === 'string' && rendered.trim() !== '' && rendered.length <= GROUNDING_LIMITS.searchEntryPointChars ? rendered : null;

  if (queries.length === 0 && sources.length === 0 && searchEntryPoint === null) return null;
  return { queries, sources, citations, searchEntryPoint };
}
