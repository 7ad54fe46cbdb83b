import { describe, expect, it } from 'vitest';
import { markCitations } from '../../web/src/citation-rules.js';
import { createRenderCache } from '../../web/src/render-cache.js';

/*
 * The chat page's parsed answers, kept per reply (web/src/render-cache.ts, used by reply-extras.tsx):
 * a reply drawn again with the same text gets back the same parsed object, and is not parsed again.
 * (The parse itself, marked and DOMPurify, needs a browser: test/chat-page.browser.test.ts.)
 */

/** A stand-in for the Markdown parse: a new object each time, and a count of the parses. */
function counted() {
  const parsed: string[] = [];
  const parse = (text: string) => {
    parsed.push(text);
    return { __html: `<p>${text}</p>` };
  };
  return { parsed, parse };
}

describe('the answers as parsed, per reply', () => {
  it('gives back the same object for the same reply and text, parsed once', () => {
    const answers = createRenderCache<{ __html: string }>(10);
    const { parsed, parse } = counted();
    const first = answers('reply-1', 'The **Eiffel Tower**', parse);
    // Drawn again: after a reload, the stream's `done`, or the chat opened again.
    const again = answers('reply-1', 'The **Eiffel Tower**', parse);
    expect(again).toBe(first);
    expect(parsed).toEqual(['The **Eiffel Tower**']);
  });

  it('parses again when the text changed (a streamed delta, new citation marks), and keeps only the newest text', () => {
    const answers = createRenderCache<{ __html: string }>(10);
    const { parsed, parse } = counted();
    const before = answers('reply-1', 'The', parse);
    const after = answers('reply-1', 'The Eiffel', parse);
    expect(after).not.toBe(before);
    expect(after.__html).toBe('<p>The Eiffel</p>');
    expect(answers('reply-1', 'The Eiffel', parse)).toBe(after);
    // The older text was not kept: it is parsed again should it come back (a reset of the stream).
    answers('reply-1', 'The', parse);
    expect(parsed).toEqual(['The', 'The Eiffel', 'The']);
  });

  it('parses a grounded reply once across a reload, which makes its grounding a new object; new citations parse it again', () => {
    // reply-extras.tsx keys an answer by its text with the citation marks in it, not by the grounding object.
    const answers = createRenderCache<{ __html: string }>(10);
    const { parsed, parse } = counted();
    const content = 'The tower is 330 m tall. It opened in 1889.';
    const grounding = { sources: [{ uri: 'https://a.example' }, { uri: 'https://b.example' }], citations: [{ endIndex: 24, sourceIndices: [0] }] };
    const shown = answers('reply-1', markCitations(content, grounding), parse);
    const reloaded = structuredClone(grounding);
    expect(answers('reply-1', markCitations(content, reloaded), parse)).toBe(shown);
    expect(parsed).toHaveLength(1);
    const cited = { ...reloaded, citations: [...reloaded.citations, { endIndex: content.length, sourceIndices: [1] }] };
    expect(answers('reply-1', markCitations(content, cited), parse)).not.toBe(shown);
    expect(parsed).toHaveLength(2);
  });

  it('keeps each reply apart: the same text under another id is another parse', () => {
    const answers = createRenderCache<{ __html: string }>(10);
    const { parsed, parse } = counted();
    const one = answers('reply-1', 'Same words', parse);
    const other = answers('reply-2', 'Same words', parse);
    expect(other).not.toBe(one);
    expect(answers('reply-1', 'Same words', parse)).toBe(one);
    expect(answers('reply-2', 'Same words', parse)).toBe(other);
    expect(parsed).toHaveLength(2);
  });

  it('keeps the replies used most recently, up to its limit', () => {
    const answers = createRenderCache<{ __html: string }>(2);
    const { parsed, parse } = counted();
    const a = answers('a', 'A', parse);
    answers('b', 'B', parse);
    expect(answers('a', 'A', parse)).toBe(a); // a is now the most recent; b the oldest
    answers('c', 'C', parse); // past the limit: b goes
    expect(answers('a', 'A', parse)).toBe(a);
    answers('b', 'B', parse);
    expect(parsed).toEqual(['A', 'B', 'C', 'B']);
  });
});
