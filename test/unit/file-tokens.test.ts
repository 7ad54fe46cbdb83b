import { describe, expect, it } from 'vitest';
import { textTokens, tokenCostOf } from '../../src/modules/files/file-tokens.js';
import type { FileFacts, FileFamily } from '../../src/modules/files/file-type.js';

/* What a file costs in the model's context, by Gemini's documented rates, and estimates where a fact is unknown. */

const cost = (family: FileFamily, sizeBytes: number, facts: FileFacts = {}): number =>
  tokenCostOf({ mimeType: 'irrelevant/here', family, sizeBytes, facts });

describe('token cost of a file', () => {
  it('stays a whole number an integer column holds when a header lies (a 45-byte PNG claiming 4 billion pixels a side)', () => {
    for (const facts of [{ width: 0xffffffff, height: 0xffffffff }, { durationSeconds: 1e21 }, { durationSeconds: Infinity }]) {
      const tokens = cost(facts.durationSeconds === undefined ? 'image' : 'audio', 45, facts);
      expect(Number.isInteger(tokens) && tokens <= 2 ** 31 - 1).toBe(true);
    }
  });

  it('an image up to 384 px either way is one tile of 258 tokens', () => {
    expect(cost('image', 1000, { width: 384, height: 384 })).toBe(258);
    expect(cost('image', 1000, { width: 16, height: 8 })).toBe(258);
  });

  it('a larger image is 258 tokens for each 768×768 tile', () => {
    expect(cost('image', 1000, { width: 385, height: 100 })).toBe(258);
    expect(cost('image', 1000, { width: 1024, height: 768 })).toBe(2 * 258);
    expect(cost('image', 1000, { width: 4032, height: 3024 })).toBe(6 * 4 * 258);
  });

  it('an image of unknown size is counted as four tiles', () => {
    expect(cost('image', 5_000_000)).toBe(4 * 258);
  });

  it('a PDF is 258 tokens a page, or one page per 100 KiB when the count is unknown', () => {
    expect(cost('pdf', 10_000, { pages: 3 })).toBe(3 * 258);
    expect(cost('pdf', 1000)).toBe(258);
    expect(cost('pdf', 1_000_000)).toBe(10 * 258);
  });

  it('audio is 32 tokens a second, or its size at 16 kB a second when the duration is unknown', () => {
    expect(cost('audio', 999, { durationSeconds: 60 })).toBe(1920);
    expect(cost('audio', 999, { durationSeconds: 0.52 })).toBe(17);
    expect(cost('audio', 160_000)).toBe(320);
  });

  it('text is a token per four bytes', () => {
    expect(cost('text', 4000)).toBe(1000);
    expect(cost('text', 5)).toBe(2);
  });
});

describe('token cost of message text', () => {
  it('is a token per four bytes of UTF-8', () => {
    expect(textTokens('')).toBe(0);
    expect(textTokens('hello')).toBe(2);
    expect(textTokens('日本語')).toBe(3); // 9 bytes
  });
});
