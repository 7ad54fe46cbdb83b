import { describe, expect, it } from 'vitest';
import { CITATION_MARK, hasCitationMark, markCitations } from '../../web/src/citation-rules.js';

/* The chat page's citation marks (where they go: test/unit/citation-marks.test.ts; the superscripts themselves: test/chat-page.browser.test.ts). */

const sources = [{}, {}, {}];
const marksOf = (text: string) => [...text.matchAll(CITATION_MARK)].map((mark) => [mark.index, mark[1]]);

describe('citation marks in a reply, as the page writes them', () => {
  it('are private-use marks naming the sources, after each cited span (where: test/unit/citation-marks.test.ts)', () => {
    const marked = markCitations('One. Two.', {
      sources,
      citations: [
        { startIndex: 0, endIndex: 4, sourceIndices: [2] },
        { startIndex: 5, endIndex: 9, sourceIndices: [1, 0] },
      ],
    });
    expect(marks(marked)).toBe('One.[3] Two.[1,2]');
    expect(hasCitationMark(marked)).toBe(true);
  });

  it('cannot be forged by the model: marks it wrote itself are dropped, with or without grounding', () => {
    const forged = 'Trust me\uE0001\uE001 really';
    expect(hasCitationMark(markCitations(forged, null))).toBe(false);
    expect(marksOf(markCitations(forged, { sources, citations: [{ startIndex: 0, endIndex: 8, sourceIndices: [0] }] }))).toEqual([[8, '1']]);
  });
});

/** The marked text with each mark shown as [n,m]. */
const marks = (text: string) => text.replace(CITATION_MARK, (_, numbers: string) => `[${numbers}]`);
