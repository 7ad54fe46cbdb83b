/**
 * A user's search box text, parsed here and never handed to PostgreSQL's tsquery syntax as it is:
 * words match by prefix, all of them must match, "quoted phrases" match as phrases, and a leading
 * `-` excludes a word (by prefix too) or a phrase. Whatever the text holds (`a & b | !c`, `:*`,
 * unmatched quotes, backslashes, pure punctuation), the result is either no query at all or a
 * tsquery built from quoted operands (each escaped) joined by `&` and `!`, which `to_tsquery`
 * then runs through the same parser and dictionaries as the indexed text.
 */

export interface SearchTerm {
  /** The words of the term as the user wrote them (control characters removed). */
  text: string;
  phrase: boolean;
  /** Words of one letter or digit match whole words only: as a prefix they would match nearly everything. */
  prefix: boolean;
}

export interface ParsedSearch {
  include: SearchTerm[];
  exclude: SearchTerm[];
}

const HAS_WORD = /[\p{L}\p{N}]/u;
/** A word, as the snippet finds them (PostgreSQL's parser splits `e-mail` into `e` and `mail` too). */
export const WORD_CHARS_RUN = /[\p{L}\p{N}]+/gu;
const WORD_CHARS = /[\p{L}\p{N}]/gu;
const CONTROL = /\p{Cc}/gu;

function termOf(raw: string, phrase: boolean): SearchTerm | undefined {
  const text = raw.replace(CONTROL, ' ').replace(/\s+/g, ' ').trim();
  // A term without a letter or digit yields no lexeme (`to_tsquery` would only drop it, noisily).
  if (!HAS_WORD.test(text)) return undefined;
  const letters = text.match(WORD_CHARS)?.length ?? 0;
  return { text, phrase, prefix: !phrase && letters >= 2 };
}

export function parseSearch(q: string): ParsedSearch {
  const parsed: ParsedSearch = { include: [], exclude: [] };
  let index = 0;
  while (index < q.length) {
    const char = q.charAt(index);
    if (/\s/.test(char)) {
      index++;
      continue;
    }
    let negated = false;
    if (char === '-' && index + 1 < q.length && !/\s/.test(q.charAt(index + 1))) {
      negated = true;
      index++;
    }
    let term: SearchTerm | undefined;
    if (q.charAt(index) === '"') {
      // An unmatched quote runs to the end of the text.
      const close = q.indexOf('"', index + 1);
      const end = close === -1 ? q.length : close;
      term = termOf(q.slice(index + 1, end), true);
      index = end + 1;
    } else {
      let end = index;
      while (end < q.length && !/\s/.test(q.charAt(end)) && q.charAt(end) !== '"') end++;
      term = termOf(q.slice(index, end), false);
      index = end;
    }
    if (term) (negated ? parsed.exclude : parsed.include).push(term);
  }
  return parsed;
}

/** A quoted tsquery operand: inside quotes only the backslash and the quote itself are special. */
const quoted = (text: string) => `'${text.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;

const operand = (term: SearchTerm) => `${quoted(term.text)}${term.prefix ? ':*' : ''}`;

/** The text for `to_tsquery('chat_search', $1)`, or undefined when nothing could match (no word to look for). */
export function toTsquery({ include, exclude }: ParsedSearch): string | undefined {
  if (include.length === 0) return undefined;
  return [...include.map(operand), ...exclude.map((term) => `!${operand(term)}`)].join(' & ');
}

/**
 * Case and accents folded as the `chat_search` configuration folds them (unaccent, then lower
 * case), for finding the matched words of a snippet. Letters unaccent spells out differently from
 * their Unicode decomposition are mapped by hand.
 */
const SPELLED_OUT: Record<string, string> = { ß: 'ss', æ: 'ae', œ: 'oe', ø: 'o', ł: 'l', đ: 'd', ð: 'd', þ: 'th', ı: 'i' };
export const fold = (text: string) =>
  text
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[ßæœøłđðþı]/g, (char) => SPELLED_OUT[char] ?? char);

export interface HighlightWord {
  word: string;
  prefix: boolean;
}

/** The folded words a snippet highlights: those of the terms that must match (never an excluded one). */
export function highlightWords({ include }: ParsedSearch): HighlightWord[] {
  return include.flatMap((term) => (fold(term.text).match(WORD_CHARS_RUN) ?? []).map((word) => ({ word, prefix: term.prefix && word.length >= 2 })));
}
