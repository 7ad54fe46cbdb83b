import { describe, expect, it } from 'vitest';
import { markCitations } from '../../src/shared/citation-marks.js';

/*
 * Where an answer's citations are marked: the rule the server's Markdown export and the chat page
 * share (src/shared). Each side's own marks: test/unit/grounding.test.ts (` [1][2]`) and
 * test/unit/citation-rules.test.ts (the page's private-use marks).
 */

const sources = [{}, {}, {}];
const bracketed = { mark: (numbers: number[]) => `[${numbers.join(',')}]` };

describe('citation marks', () => {
  it('go after each cited span, numbered from 1; spans that end together share one mark', () => {
    const marked = markCitations(
      'One. Two.',
      {
        sources,
        citations: [
          { endIndex: 4, sourceIndices: [2] },
          { endIndex: 9, sourceIndices: [1, 0] },
          { endIndex: 9, sourceIndices: [1] },
        ],
      },
      bracketed,
    );
    expect(marked).toBe('One.[3] Two.[1,2]');
  });

  it('ignore sources that do not exist and offsets outside the text', () => {
    const marked = markCitations(
      'Short',
      {
        sources,
        citations: [
          { endIndex: 999, sourceIndices: [0, 7, -1] },
          { endIndex: -4, sourceIndices: [9] },
        ],
      },
      bracketed,
    );
    expect(marked).toBe('Short[1]');
  });

  it('leave the text as it is without grounding or citations, unless told how to clean it', () => {
    expect(markCitations('Plain', null, bracketed)).toBe('Plain');
    expect(markCitations('Plain', { sources, citations: [] }, bracketed)).toBe('Plain');
    expect(markCitations('a-b-c', { sources, citations: [{ endIndex: 1, sourceIndices: [0] }] }, { ...bracketed, clean: (text) => text.replaceAll('-', '') })).toBe('a[1]bc');
  });
});
