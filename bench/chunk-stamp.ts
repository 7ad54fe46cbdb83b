/**
 * The stamp the fake model writes as a chunk's text, and its reading by the stream client: the
 * chunk's index and the moment it was written, in ms since the epoch to the microsecond
 * (`performance.timeOrigin + performance.now()`: both processes run on this machine, so their clocks
 * are the same clock). Stamps are self-delimiting, so that a delta carrying several chunks (the
 * server may coalesce them) or part of one is read the same.
 */
const STAMP = /\[c(\d+)@(\d+\.\d+)\]/g;

export const nowMs = () => performance.timeOrigin + performance.now();

export const stampChunk = (index: number) => `[c${index}@${nowMs().toFixed(3)}]`;

export interface Stamp {
  index: number;
  sentAtMs: number;
}

/** The whole stamps in `text`, and what follows the last of them (the start of a stamp cut in two). */
export function readStamps(text: string): { stamps: Stamp[]; rest: string } {
  const stamps: Stamp[] = [];
  let end = 0;
  for (const match of text.matchAll(STAMP)) {
    stamps.push({ index: Number(match[1]), sentAtMs: Number(match[2]) });
    end = match.index + match[0].length;
  }
  return { stamps, rest: text.slice(end) };
}
