import { describe, expect, it } from 'vitest';
import { GROUNDING_LIMITS, groundingFrom, utf16OffsetsOf } from '../../src/integrations/gemini/grounding.js';
import { createOfflineModel } from '../../src/integrations/gemini/offline-model.js';
import { withCitationMarks } from '../../src/modules/messages/conversation-export.js';

const bytes = (text: string) => Buffer.byteLength(text, 'utf8');
const web = (uri: string, title = 'A page') => ({ web: { uri, title } });

describe('UTF-8 byte offsets to UTF-16 offsets', () => {
  it('maps offsets at character boundaries exactly, for characters of one to four bytes', () => {
    const text = 'aé€🍮z';
    const toUtf16 = utf16OffsetsOf(text);
    expect([0, 1, 3, 6, 10, 11].map((byte) => toUtf16(byte, 'start'))).toEqual([0, 1, 2, 3, 5, 6]);
  });

  it('never splits a character: an offset inside one moves to its start, or its end for an end offset', () => {
    const text = 'x🍮y'; // 🍮 is bytes 1–4, UTF-16 units 1–2 (a surrogate pair)
    const toUtf16 = utf16OffsetsOf(text);
    for (const inside of [2, 3, 4]) {
      expect(toUtf16(inside, 'start')).toBe(1);
      expect(toUtf16(inside, 'end')).toBe(3);
    }
    expect(text.slice(toUtf16(2, 'start'), toUtf16(2, 'end'))).toBe('🍮');
  });

  it('clamps offsets outside the text and survives ones that are not numbers', () => {
    const toUtf16 = utf16OffsetsOf('héllo');
    expect(toUtf16(-5, 'start')).toBe(0);
    expect(toUtf16(1_000_000, 'end')).toBe(5);
    expect(toUtf16(Number.NaN, 'start')).toBe(0);
    expect(utf16OffsetsOf('')(3, 'end')).toBe(0);
  });
});

describe('grounding from Gemini metadata', () => {
  const content = 'Paris is the capital. It has 2.1 million people.';

  it('is null when the answer used no search', () => {
    expect(groundingFrom(undefined, content)).toBeNull();
    expect(groundingFrom({}, content)).toBeNull();
  });

  it('turns supports into citations of the kept sources, sorted by position', () => {
    const second = 'It has 2.1 million people.';
    const grounding = groundingFrom(
      {
        webSearchQueries: ['paris population', '  '],
        groundingChunks: [web('https://a.example/x', 'A'), web('https://b.example/y', '  ')],
        groundingSupports: [
          { segment: { startIndex: bytes(content) - bytes(second), endIndex: bytes(content) }, groundingChunkIndices: [1, 1, 0] },
          { segment: { startIndex: 0, endIndex: bytes('Paris is the capital.') }, groundingChunkIndices: [0] },
        ],
      },
      content,
    );
    expect(grounding).toEqual({
      queries: ['paris population'],
      // A blank title falls back to the host name.
      sources: [
        { uri: 'https://a.example/x', title: 'A' },
        { uri: 'https://b.example/y', title: 'b.example' },
      ],
      citations: [
        { startIndex: 0, endIndex: 21, sourceIndices: [0] },
        { startIndex: content.length - second.length, endIndex: content.length, sourceIndices: [0, 1] },
      ],
      searchEntryPoint: null,
    });
  });

  it('drops sources that are not web links and renumbers what cites the others', () => {
    const grounding = groundingFrom(
      {
        groundingChunks: [web('javascript:alert(1)'), web('data:text/html,x'), web('https://ok.example/'), web('ftp://files.example/')],
        groundingSupports: [{ segment: { startIndex: 0, endIndex: 5 }, groundingChunkIndices: [0, 2, 3, 9] }],
      },
      content,
    );
    expect(grounding?.sources.map((source) => source.uri)).toEqual(['https://ok.example/']);
    expect(grounding?.citations).toEqual([{ startIndex: 0, endIndex: 5, sourceIndices: [0] }]);
  });

  it('bounds sources, citations, queries and titles, and refuses an oversized entry point', () => {
    const grounding = groundingFrom(
      {
        webSearchQueries: Array.from({ length: 100 }, () => 'q'.repeat(1000)),
        groundingChunks: Array.from({ length: 1000 }, (_, i) => web(`https://example.org/${i}`, 't'.repeat(5000))),
        groundingSupports: Array.from({ length: 1000 }, () => ({ segment: { startIndex: 0, endIndex: 5 }, groundingChunkIndices: [0, 999] })),
        searchEntryPoint: { renderedContent: 'x'.repeat(GROUNDING_LIMITS.searchEntryPointChars + 1) },
      },
      content,
    )!;
    expect(grounding.sources).toHaveLength(GROUNDING_LIMITS.sources);
    expect(grounding.citations).toHaveLength(GROUNDING_LIMITS.citations);
    // Chunk 999 was beyond the kept sources: only chunk 0 is cited.
    expect(grounding.citations[0]?.sourceIndices).toEqual([0]);
    expect(grounding.queries).toHaveLength(GROUNDING_LIMITS.queries);
    expect(Math.max(...grounding.queries.map((q) => q.length), ...grounding.sources.map((s) => s.title.length))).toBeLessThanOrEqual(
      GROUNDING_LIMITS.titleChars,
    );
    expect(grounding.searchEntryPoint).toBeNull();
  });

  it('drops a citation with nothing left to cite: an empty span, or one past the text', () => {
    const grounding = groundingFrom(
      {
        groundingChunks: [web('https://ok.example/')],
        groundingSupports: [
          { segment: { startIndex: 7, endIndex: 7 }, groundingChunkIndices: [0] },
          { segment: { startIndex: 9_999, endIndex: 10_000 }, groundingChunkIndices: [0] },
          { segment: {}, groundingChunkIndices: [0] },
        ],
      },
      content,
    );
    expect(grounding?.citations).toEqual([]);
  });
});

describe('citation marks in the Markdown export', () => {
  it('puts the source numbers after each cited span, combining spans that end together', () => {
    const grounding = {
      queries: [],
      sources: [
        { uri: 'https://a/', title: 'A' },
        { uri: 'https://b/', title: 'B' },
      ],
      citations: [
        { startIndex: 0, endIndex: 5, sourceIndices: [1] },
        { startIndex: 2, endIndex: 5, sourceIndices: [0, 1] },
        { startIndex: 6, endIndex: 11, sourceIndices: [0, 7] },
      ],
      searchEntryPoint: null,
    };
    expect(withCitationMarks('Hello world', grounding)).toBe('Hello [1][2] world [1]');
  });
});

describe('the offline stand-in', () => {
  it('shows a labelled thought and a labelled, cited source only when the chatroom asks for them', async () => {
    const model = createOfflineModel({ delayMs: 0 });
    let text = '';
    let thoughts = '';
    const outcome = await model.generate(
      [{ role: 'user', text: 'Hi' }],
      (delta) => Promise.resolve(void (text += delta)),
      new AbortController().signal,
      { grounding: true, thinking: { budget: null, includeThoughts: true } },
      (thought) => Promise.resolve(void (thoughts += thought)),
    );
    expect(thoughts).toMatch(/^\[offline stand-in\]/);
    expect(outcome.grounding?.sources[0]?.title).toMatch(/^\[offline stand-in\]/);
    const [citation] = outcome.grounding!.citations;
    expect(text.slice(citation!.startIndex, citation!.endIndex)).toMatch(/^With Google Search on, .*\.$/);

    let plainThoughts = '';
    const plain = await model.generate(
      [{ role: 'user', text: 'Hi' }],
      () => Promise.resolve(),
      new AbortController().signal,
      {},
      (thought) => Promise.resolve(void (plainThoughts += thought)),
    );
    expect(plain.grounding).toBeNull();
    expect(plainThoughts).toBe('');
  });
});
