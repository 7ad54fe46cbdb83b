import { describe, expect, it } from 'vitest';
import { cleanFileName } from '../../src/modules/files/file-name.js';

/* The name an uploaded file is shown under: no path, nothing hidden or reordered, at most 255 characters. */

const codePoints = (text: string): number => [...text].length;

describe('cleaning an uploaded file name', () => {
  it('keeps only the base name of a path, whichever slash it uses', () => {
    expect(cleanFileName('../../etc/passwd')).toBe('passwd');
    expect(cleanFileName('C:\\Users\\me\\report.pdf')).toBe('report.pdf');
  });

  it('removes control characters', () => {
    expect(cleanFileName('a\u0000b.png')).toBe('ab.png');
    expect(cleanFileName('line\r\nbreak\u0085\u007f.txt')).toBe('linebreak.txt');
  });

  it('removes bidi overrides and invisible characters, so the name reads as it is', () => {
    expect(cleanFileName('\u202Egnp.exe')).toBe('gnp.exe');
    expect(cleanFileName('photo\u200B\u2066\u061C\uFEFF\u200E.jpg')).toBe('photo.jpg');
  });

  it('keeps the joiners that Persian words and emoji sequences are spelled with', () => {
    expect(cleanFileName('می\u200Cخواهم.txt')).toBe('می\u200Cخواهم.txt');
    expect(cleanFileName('👨\u200D👩\u200D👧.png')).toBe('👨\u200D👩\u200D👧.png');
  });

  it('composes characters (NFC), so one name has one spelling', () => {
    expect(cleanFileName('cafe\u0301.txt')).toBe('caf\u00e9.txt');
  });

  it('trims spaces and dots at the ends', () => {
    expect(cleanFileName('  notes.md.  ')).toBe('notes.md');
    expect(cleanFileName('...hidden')).toBe('hidden');
  });

  it("names a file that has nothing left 'file'", () => {
    expect(cleanFileName('')).toBe('file');
    expect(cleanFileName(undefined)).toBe('file');
    expect(cleanFileName('..')).toBe('file');
    expect(cleanFileName('dir/')).toBe('file');
    expect(cleanFileName('\u202E\u0000')).toBe('file');
  });

  it('shortens a long name to 255 characters, keeping its extension', () => {
    const name = cleanFileName(`${'a'.repeat(300)}.pdf`);
    expect(name).toBe(`${'a'.repeat(251)}.pdf`);
    expect(codePoints(name)).toBe(255);
  });

  it('never splits an emoji (a surrogate pair, or a sequence of them) when shortening', () => {
    const name = cleanFileName(`${'😀'.repeat(300)}.png`);
    expect(codePoints(name)).toBe(255);
    expect(name).toBe(`${'😀'.repeat(251)}.png`);
    expect(name).not.toMatch(/\p{Cs}/u); // no half of a surrogate pair
    const families = cleanFileName(`${'👨‍👩‍👧'.repeat(100)}.jpg`); // 5 code points each
    expect(codePoints(families)).toBeLessThanOrEqual(255);
    expect(families.replace('.jpg', '').replaceAll('👨‍👩‍👧', '')).toBe('');
  });

  it('leaves a name of exactly 255 characters alone, and drops an implausibly long extension', () => {
    const exact = `${'b'.repeat(251)}.txt`;
    expect(cleanFileName(exact)).toBe(exact);
    const name = cleanFileName(`report.${'x'.repeat(300)}`);
    expect(codePoints(name)).toBe(255);
    expect(name.startsWith('report.xxx')).toBe(true);
  });
});
