import { describe, expect, it } from 'vitest';
import type { ChatTurn, ModelFile } from '../../src/integrations/gemini/model.js';
import { createOfflineModel } from '../../src/integrations/gemini/offline-model.js';

const stored = (name: string, mimeType: string, sizeBytes: number): ModelFile => ({
  name,
  mimeType,
  sizeBytes,
  content: {
    bytes: () => Promise.reject(new Error('the stand-in never reads a file')),
    blob: () => Promise.reject(new Error('the stand-in never reads a file')),
    remote: null,
    rememberRemote: () => Promise.resolve(),
  },
});

async function replyTo(turns: ChatTurn[]): Promise<string> {
  let reply = '';
  await createOfflineModel({ delayMs: 0 }).generate(
    turns,
    (text) => {
      reply += text;
      return Promise.resolve();
    },
    new AbortController().signal,
  );
  return reply;
}

describe('the offline stand-in and files', () => {
  it("names each file of the newest prompt with its type and size, and says which were deleted", async () => {
    const reply = await replyTo([
      { role: 'user', text: 'Look at these', files: [stored('cat.png', 'image/png', 12_595), stored('notes.pdf', 'application/pdf', 1_258_291)] },
      { role: 'model', text: 'Seen.' },
      {
        role: 'user',
        text: 'And these?',
        files: [stored('memo.mp3', 'audio/mpeg', 300), { name: 'old.csv', mimeType: 'text/csv', sizeBytes: 2_048, content: null }],
      },
    ]);

    expect(reply).toContain('You said: "And these?".');
    expect(reply).toContain('You attached 2 files: "memo.mp3" (audio/mpeg, 300 B), "old.csv" (text/csv, 2 KiB, deleted by its owner).');
    expect(reply).not.toContain('cat.png');
    expect(reply).toContain('I was given 2 earlier turns');
  });

  it('answers a prompt of files alone without quoting an empty text', async () => {
    const reply = await replyTo([{ role: 'user', text: '', files: [stored('cat.png', 'image/png', 12_595), stored('notes.pdf', 'application/pdf', 1_258_291)] }]);

    expect(reply).toContain('[offline stand-in]');
    expect(reply).not.toContain('You said');
    expect(reply).toContain('You attached 2 files: "cat.png" (image/png, 12 KiB), "notes.pdf" (application/pdf, 1.2 MiB).');
  });

  it('says nothing of files when there are none', async () => {
    const reply = await replyTo([{ role: 'user', text: 'hi' }]);

    expect(reply).toContain('You said: "hi".');
    expect(reply).not.toContain('attached');
  });
});
