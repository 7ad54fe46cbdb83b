/*
 * The name a file is kept and shown under, from the name the client sent: never a path, nothing that
 * could hide or reorder what a reader sees (control, bidi and zero-width characters: "\u202Egnp.exe"
 * shows as "exe.png"), and short enough for any file system and the database column.
 */

const MAX_NAME_CHARS = 255;
// An extension longer than this is not one worth keeping when a name is shortened.
const MAX_EXTENSION_CHARS = 16;

// C0 controls, DEL, C1 controls; the Arabic letter mark, zero-width space, the direction marks, the
// bidi embeddings and overrides, line and paragraph separators, word joiner and invisible operators,
// bidi isolates, the byte order mark (zero-width no-break space); and lone surrogate halves.
// The zero-width (non-)joiners U+200C and U+200D stay: Persian and Indic words and emoji sequences
// (👨‍👩‍👧) are spelled with them, and they reorder nothing.
// eslint-disable-next-line no-control-regex -- control characters are what it removes
const UNSAFE_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u061c\u200b\u200e\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff]|\p{Cs}/gu;
const SPACES_AND_DOTS_AT_ENDS = /^[\s.]+|[\s.]+$/gu;

const graphemes = new Intl.Segmenter('en', { granularity: 'grapheme' });
const codePoints = (text: string): number => [...text].length;

/** The longest start of `text` of at most `limit` code points that does not cut a character (or an emoji sequence) in two. */
function startOf(text: string, limit: number): string {
  let kept = '';
  let count = 0;
  for (const { segment } of graphemes.segment(text)) {
    const length = codePoints(segment);
    if (count + length > limit) break;
    kept += segment;
    count += length;
  }
  return kept;
}

function shorten(name: string): string {
  if (codePoints(name) <= MAX_NAME_CHARS) return name;
  const dot = name.lastIndexOf('.');
  const extension = dot > 0 ? name.slice(dot) : '';
  const kept = codePoints(extension) > 1 && codePoints(extension) <= MAX_EXTENSION_CHARS ? extension : '';
  const stem = name.slice(0, name.length - kept.length);
  const shortStem = startOf(stem, MAX_NAME_CHARS - codePoints(kept)).replace(SPACES_AND_DOTS_AT_ENDS, '');
  return (shortStem || 'file') + kept;
}

/** A safe display name for an uploaded file; 'file' when nothing of `raw` is left. */
export function cleanFileName(raw: string | undefined): string {
  const base = (raw ?? '').split(/[/\\]/).at(-1) ?? '';
  const cleaned = base.replace(UNSAFE_CHARACTERS, '').normalize('NFC').replace(SPACES_AND_DOTS_AT_ENDS, '');
  return cleaned === '' ? 'file' : shorten(cleaned);
}
