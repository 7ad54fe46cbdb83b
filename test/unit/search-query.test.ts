import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fold, highlightWords, parseSearch, toTsquery } from '../../src/modules/search/search-query.js';
import { SNIPPET_MAX, snippetOf } from '../../src/modules/search/search-snippet.js';

describe('parseSearch and toTsquery', () => {
  it('words by prefix, all required; phrases whole; -word and -"phrase" excluded', () => {
    expect(toTsquery(parseSearch('plan trip'))).toBe("'plan':* & 'trip':*");
    expect(toTsquery(parseSearch('"quick brown" fox -slow -"lazy dog"'))).toBe("'quick brown' & 'fox':* & !'slow':* & !'lazy dog'");
    // One letter or digit: a whole word, not a prefix of nearly everything.
    expect(toTsquery(parseSearch('a 7 ab'))).toBe("'a' & '7' & 'ab':*");
  });

  it('keeps tsquery syntax as text inside escaped operands', () => {
    // `!c` is the text of an operand (PostgreSQL's parser then finds the word c in it), never an operator.
    expect(toTsquery(parseSearch('a & b | !c'))).toBe("'a' & 'b' & '!c'");
    expect(toTsquery(parseSearch("it's \\x:*"))).toBe("'it''s':* & '\\\\x:*'");
    expect(toTsquery(parseSearch('"unmatched quote'))).toBe("'unmatched quote'");
  });

  it('looks for nothing without a word to find: punctuation, blanks, control characters, exclusions alone', () => {
    for (const q of ['!!!', ':*', '- - -', '"""', '\u0000\u0001', '   ', '-only', '&|!<->()']) expect(toTsquery(parseSearch(q)), q).toBeUndefined();
  });

  it('never yields an operand that escapes its quotes, whatever the text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200, unit: 'binary' }), (q) => {
        const tsquery = toTsquery(parseSearch(q));
        if (tsquery === undefined) return;
        // Operands are quoted with every inner quote doubled and backslash escaped; between them only & and !.
        const between = tsquery.replace(/'(?:[^'\\]|''|\\.)*'(?::\*)?/g, 'X');
        expect(between).toMatch(/^!?X( & !?X)*$/);
      }),
      { numRuns: 500 },
    );
  });
});

describe('snippetOf', () => {
  const words = (q: string) => highlightWords(parseSearch(q));

  it('folds case and accents as the index does, and marks the matched words', () => {
    expect(fold('Crème BRÛLÉE Straße Ærø')).toBe('creme brulee strasse aero');
    const { snippet, highlights } = snippetOf('We are PLANNING the Zürich trip', words('plan zurich'));
    expect(highlights.map(([start, end]) => snippet.slice(start, end))).toEqual(['PLANNING', 'Zürich']);
  });

  it('cuts a long text around the first match to at most 200 code units, never inside a character', () => {
    const text = `${'🙂 word '.repeat(100)}the needle ${'🙂 word '.repeat(100)}`;
    const { snippet, highlights } = snippetOf(text, words('needle'));
    expect(snippet.length).toBeLessThanOrEqual(SNIPPET_MAX);
    expect(snippet.startsWith('…') && snippet.endsWith('…')).toBe(true);
    expect(highlights.map(([start, end]) => snippet.slice(start, end))).toEqual(['needle']);
    expect(snippet).toBe(Buffer.from(snippet, 'utf16le').toString('utf16le'));
    expect(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(snippet)).toBe(false);
  });

  it('any text: at most 200 code units, highlights inside the snippet and on matched words', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 1000 }), fc.string({ minLength: 1, maxLength: 20 }), (text, q) => {
        const found = words(q);
        const { snippet, highlights } = snippetOf(text, found);
        expect(snippet.length).toBeLessThanOrEqual(SNIPPET_MAX);
        for (const [start, end] of highlights) {
          expect(start).toBeGreaterThanOrEqual(0);
          expect(end).toBeLessThanOrEqual(snippet.length);
          const marked = fold(snippet.slice(start, end));
          expect(found.some(({ word, prefix }) => (prefix ? marked.startsWith(word) : marked === word))).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });
});
