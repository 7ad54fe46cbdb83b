import { describe, expect, it } from 'vitest';
import {
  admitFiles,
  fileSummary,
  MAX_ATTACHMENTS,
  maySend,
  pasteAttaches,
  showsAsImage,
  shownFilesKey,
  storageLine,
  typeBadge,
  uploadFailure,
} from '../../web/src/attachment-rules.js';

/* The chat page's rules for files in prompts (the page itself: test/chat-page.browser.test.ts, "files in prompts"). */

describe('how many files a prompt takes', () => {
  it(`takes every file up to ${MAX_ATTACHMENTS}`, () => {
    expect(admitFiles(0, 3)).toEqual({ admitted: 3, refusal: undefined });
    expect(admitFiles(7, 3)).toEqual({ admitted: 3, refusal: undefined });
  });

  it('takes what still fits and says how many were left out', () => {
    expect(admitFiles(8, 3)).toEqual({ admitted: 2, refusal: `A prompt takes at most ${MAX_ATTACHMENTS} files: 1 file was not added.` });
    expect(admitFiles(MAX_ATTACHMENTS, 4)).toEqual({ admitted: 0, refusal: `A prompt takes at most ${MAX_ATTACHMENTS} files: 4 files were not added.` });
  });
});

describe('when a prompt may be sent', () => {
  it('needs text or a stored file', () => {
    expect(maySend('', [])).toBe(false);
    expect(maySend('   ', [])).toBe(false);
    expect(maySend('Hello', [])).toBe(true);
    expect(maySend('', ['uploaded'])).toBe(true);
  });

  it('waits while any file is still uploading', () => {
    expect(maySend('Hello', ['uploaded', 'uploading'])).toBe(false);
  });

  it('does not count a refused file as something to send', () => {
    expect(maySend('', ['failed'])).toBe(false);
    expect(maySend('Look', ['failed'])).toBe(true);
  });

  it(`refuses more than ${MAX_ATTACHMENTS} stored files`, () => {
    expect(maySend('', Array.from({ length: MAX_ATTACHMENTS }, () => 'uploaded' as const))).toBe(true);
    expect(maySend('', Array.from({ length: MAX_ATTACHMENTS + 1 }, () => 'uploaded' as const))).toBe(false);
  });
});

describe('a paste', () => {
  it('attaches a copied image (files, no plain text)', () => {
    expect(pasteAttaches(['Files'], 1)).toBe(true);
    expect(pasteAttaches(['text/html', 'Files'], 1)).toBe(true);
  });

  it('pastes text as text, even when a picture of it comes along (spreadsheet cells)', () => {
    expect(pasteAttaches(['text/plain'], 0)).toBe(false);
    expect(pasteAttaches(['text/plain', 'text/html', 'Files'], 1)).toBe(false);
  });
});

describe('how a file is shown', () => {
  it('draws the images a browser can draw, and lists the others as files', () => {
    expect(['image/png', 'image/jpeg', 'image/webp'].every(showsAsImage)).toBe(true);
    expect(['image/heic', 'application/pdf', 'text/plain', ''].some(showsAsImage)).toBe(false);
  });

  it('names the type on a chip', () => {
    expect(typeBadge('application/pdf')).toBe('PDF');
    expect(typeBadge('audio/mpeg')).toBe('MP3');
    expect(typeBadge('text/markdown')).toBe('MD');
    expect(typeBadge('image/png')).toBe('PNG');
    expect(typeBadge('application/vnd.openxmlformats-officedocument.wordprocessingml.document')).toBe('FILE');
    expect(typeBadge('')).toBe('FILE');
  });

  it('says the name, type and size, or that the file was deleted', () => {
    const file = { name: 'cat.png', mimeType: 'image/png', sizeBytes: 1_234, deleted: false };
    expect(fileSummary(file)).toBe('cat.png (image/png, 1.2 KiB)');
    expect(fileSummary({ ...file, deleted: true })).toBe('cat.png (deleted)');
  });

  it('says how much of the file storage is used', () => {
    expect(storageLine({ usedBytes: 1_234_567, limitBytes: 104_857_600 })).toBe('1.2 MiB of 100 MiB of file storage used');
  });
});

describe("an upload's failure", () => {
  it("is the problem's detail, else its title", () => {
    const problem = { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', title: 'Unsupported Media Type', detail: 'This is application/zip, which a prompt cannot carry' };
    expect(uploadFailure(415, JSON.stringify(problem))).toBe(problem.detail);
    expect(uploadFailure(413, JSON.stringify({ status: 413, title: 'Payload Too Large' }))).toBe('Payload Too Large');
  });

  it('is the status when the answer is no problem document, and the connection when there was no answer', () => {
    expect(uploadFailure(502, '<html>Bad gateway</html>')).toBe('The server answered 502');
    expect(uploadFailure(0, '')).toMatch(/did not reach the server/);
  });
});

describe('the files a branch shows (when the log gives back the memory of images no longer shown)', () => {
  const file = (id: string, deleted = false) => ({ id, deleted });
  const branch = (replyText: string, files = [file('cat'), file('notes')]) => [
    { content: 'Look', attachments: files },
    { content: replyText, attachments: [] },
  ];

  it('stays the same while a reply streams: its text is not what the key reads', () => {
    expect(shownFilesKey(branch('A'))).toBe(shownFilesKey(branch('A cat and a note.')));
  });

  it('changes when a file comes into view or leaves it, or is deleted', () => {
    const now = shownFilesKey(branch('A'));
    expect(shownFilesKey([...branch('A'), { content: 'More', attachments: [file('dog')] }])).not.toBe(now);
    expect(shownFilesKey(branch('A', [file('cat')]))).not.toBe(now);
    expect(shownFilesKey(branch('A', [file('cat'), file('notes', true)]))).toBe(shownFilesKey(branch('A', [file('cat')])));
    expect(shownFilesKey([])).toBe('');
  });
});
