/**
 * The chat page's citation marks: the answer gets a mark after each cited span (where: the rule the
 * server's export shares, src/shared/citation-marks.ts) before it is parsed as Markdown, and the page
 * turns each mark into a numbered superscript (reply-extras.tsx). The marks are characters of
 * Unicode's private use area, which Markdown leaves alone; any the model wrote itself are dropped
 * first, so that a reply cannot forge a citation.
 */
import { markCitations as markCitationsAt, type CitedSpans } from '../../src/shared/citation-marks.js';

const OPEN = '\uE000';
const CLOSE = '\uE001';
const FORGED = /[\uE000\uE001]/g;

/** Whether rendered text holds a citation mark. */
export const hasCitationMark = (text: string) => text.includes(OPEN);

/** A citation mark in rendered text: group 1 is the source numbers (from 1), comma-separated. */
export const CITATION_MARK = /\uE000([\d,]+)\uE001/g;

/** `content` with a mark after each cited span naming its sources (numbered from 1); spans ending together share one mark. */
export const markCitations = (content: string, grounding: CitedSpans | null | undefined): string =>
  markCitationsAt(content, grounding, { mark: (numbers) => OPEN + numbers.join(',') + CLOSE, clean: (text) => text.replace(FORGED, '') });
