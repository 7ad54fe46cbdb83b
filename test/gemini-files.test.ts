import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createGeminiModel, type GeminiOptions } from '../src/integrations/gemini/gemini-model.js';
import { ModelError, type ChatModel, type ChatTurn, type ModelFile, type RemoteFile } from '../src/integrations/gemini/model.js';
import { startFakeGemini, type FakeGemini } from './fakes/gemini-server.js';

// Files reach Gemini through the real SDK, against the fake at the wire: inline, as text, as a note,
// or through the Files API, whose copies are remembered, reused and replaced.
let fake: FakeGemini;
beforeAll(async () => {
  fake = await startFakeGemini();
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());

const HOUR_MS = 3600_000;

function model(overrides: Partial<GeminiOptions> = {}): ChatModel {
  return createGeminiModel({
    apiKey: 'test-key',
    model: 'gemini-2.5-flash',
    baseUrl: fake.url,
    timeoutMs: 10_000,
    maxOutputTokens: 256,
    inlineMaxBytes: 1_000,
    ...overrides,
  });
}

/** A file held in memory; `remembered` records what the model asked to remember, as the file store would keep it. */
function memoryFile(name: string, mimeType: string, bytes: Buffer, remote: RemoteFile | null = null) {
  const remembered: (RemoteFile | null)[] = [];
  const content = {
    bytes: () => Promise.resolve(bytes),
    blob: () => Promise.resolve(new Blob([bytes], { type: mimeType })),
    remote,
    rememberRemote: (next: RemoteFile | null) => {
      remembered.push(next);
      content.remote = next;
      return Promise.resolve();
    },
  };
  const file: ModelFile = { name, mimeType, sizeBytes: bytes.length, content };
  return { file, content, remembered, bytes };
}

const deletedFile = (name: string, mimeType: string, sizeBytes: number): ModelFile => ({ name, mimeType, sizeBytes, content: null });

async function ask(chat: ChatModel, turns: ChatTurn[]): Promise<string> {
  let reply = '';
  await chat.generate(
    turns,
    (text) => {
      reply += text;
      return Promise.resolve();
    },
    new AbortController().signal,
  );
  return reply;
}

async function failureOf(work: Promise<unknown>): Promise<unknown> {
  return work.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (error: unknown) => error,
  );
}

const partsOf = (request: number, turn = -1) => fake.requests[request]?.body.contents?.at(turn)?.parts;
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('files in the request', () => {
  it('sends a small image inline, a text file as text and a deleted file as a note, before the text', async () => {
    const image = memoryFile('cat.png', 'image/png', randomBytes(300));
    const notes = memoryFile('notes.md', 'text/markdown', Buffer.from('# Plan\nShip on Friday — ça va.'));

    const reply = await ask(model(), [
      { role: 'user', text: 'Compare these', files: [image.file, notes.file, deletedFile('old.pdf', 'application/pdf', 4_000)] },
    ]);

    expect(reply).toBe('Hello from fake Gemini.');
    expect(partsOf(0)).toEqual([
      { inlineData: { mimeType: 'image/png', data: image.bytes.toString('base64') } },
      { text: '--- notes.md ---\n# Plan\nShip on Friday — ça va.' },
      { text: '[The file "old.pdf" (application/pdf) was deleted by its owner; it is no longer available.]' },
      { text: 'Compare these' },
    ]);
    expect(fake.uploads).toEqual([]);
    expect(image.remembered).toEqual([]);
  });

  it('sends a prompt without text as its files alone, and keeps each turn its own files', async () => {
    const first = memoryFile('a.png', 'image/png', randomBytes(30));
    const second = memoryFile('b.jpg', 'image/jpeg', randomBytes(40));

    await ask(model(), [
      { role: 'user', text: 'What is in this?', files: [first.file] },
      { role: 'model', text: 'A cat.' },
      { role: 'user', text: '', files: [second.file] },
    ]);

    const contents = fake.requests[0]?.body.contents;
    expect(contents?.map((content) => content.parts?.map((part) => Object.keys(part)[0]))).toEqual([['inlineData', 'text'], ['text'], ['inlineData']]);
    expect(partsOf(0)).toEqual([{ inlineData: { mimeType: 'image/jpeg', data: second.bytes.toString('base64') } }]);
  });
});

describe('files past the inline limit', () => {
  it('uploads them once through the Files API and sends them by uri, remembering the copy', async () => {
    const pdf = memoryFile('report.pdf', 'application/pdf', randomBytes(5_000));
    const before = Date.now();

    // The same file on two turns is uploaded once.
    const reply = await ask(model(), [
      { role: 'user', text: 'Summarise', files: [pdf.file] },
      { role: 'model', text: 'It is a report.' },
      { role: 'user', text: 'And page two?', files: [pdf.file] },
    ]);

    expect(reply).toBe('Hello from fake Gemini.');
    expect(fake.uploads).toEqual([
      expect.objectContaining({ displayName: 'report.pdf', mimeType: 'application/pdf', sizeBytes: 5_000, sha256: sha256(pdf.bytes) }),
    ]);
    const uri = fake.uploads[0]?.uri;
    expect(partsOf(0, 0)).toEqual([{ fileData: { mimeType: 'application/pdf', fileUri: uri } }, { text: 'Summarise' }]);
    expect(partsOf(0)).toEqual([{ fileData: { mimeType: 'application/pdf', fileUri: uri } }, { text: 'And page two?' }]);
    expect(pdf.remembered).toEqual([{ uri, mimeType: 'application/pdf', expiresAt: expect.any(Date) as Date }]);
    const expiresAt = pdf.remembered[0]?.expiresAt.getTime() ?? 0;
    expect(expiresAt - before).toBeGreaterThan(47 * HOUR_MS);
  });

  it('uploads the largest files until the rest fits inline', async () => {
    const big = memoryFile('big.png', 'image/png', randomBytes(600));
    const small = memoryFile('small.png', 'image/png', randomBytes(300));

    await ask(model(), [{ role: 'user', text: 'Both', files: [small.file, big.file] }]);

    // 400 + 800 base64 characters pass 1 000; 400 alone fits.
    expect(fake.uploads.map((upload) => upload.displayName)).toEqual(['big.png']);
    expect(partsOf(0)).toEqual([
      { inlineData: { mimeType: 'image/png', data: small.bytes.toString('base64') } },
      { fileData: { mimeType: 'image/png', fileUri: fake.uploads[0]?.uri } },
      { text: 'Both' },
    ]);
  });

  it('reuses a remembered copy on a later call instead of uploading again', async () => {
    const audio = memoryFile('memo.mp3', 'audio/mpeg', randomBytes(4_000));
    const chat = model();

    await ask(chat, [{ role: 'user', text: 'Transcribe', files: [audio.file] }]);
    await ask(chat, [
      { role: 'user', text: 'Transcribe', files: [audio.file] },
      { role: 'model', text: 'Hello from fake Gemini.' },
      { role: 'user', text: 'Shorter, please' },
    ]);

    expect(fake.uploads).toHaveLength(1);
    expect(partsOf(1, 0)).toEqual([{ fileData: { mimeType: 'audio/mpeg', fileUri: fake.uploads[0]?.uri } }, { text: 'Transcribe' }]);
    expect(audio.remembered).toHaveLength(1);
  });

  it('uploads again when the remembered copy has expired', async () => {
    const stale = { uri: `${fake.url}/v1beta/files/gone`, mimeType: 'application/pdf', expiresAt: new Date(Date.now() - HOUR_MS) };
    const pdf = memoryFile('report.pdf', 'application/pdf', randomBytes(2_000), stale);

    await ask(model(), [{ role: 'user', text: 'Again', files: [pdf.file] }]);

    expect(fake.uploads).toHaveLength(1);
    expect(partsOf(0)?.[0]).toEqual({ fileData: { mimeType: 'application/pdf', fileUri: fake.uploads[0]?.uri } });
    expect(pdf.remembered).toEqual([expect.objectContaining({ uri: fake.uploads[0]?.uri })]);
  });

  it('uploads again and asks once more when Gemini no longer has a remembered copy', async () => {
    const pdf = memoryFile('report.pdf', 'application/pdf', randomBytes(2_000));
    const chat = model();
    await ask(chat, [{ role: 'user', text: 'First', files: [pdf.file] }]);
    const firstUri = fake.uploads[0]?.uri ?? '';
    fake.forgetFile(firstUri); // deleted on Gemini's side before the expiry it announced

    const reply = await ask(chat, [{ role: 'user', text: 'Second', files: [pdf.file] }]);

    expect(reply).toBe('Hello from fake Gemini.');
    expect(fake.uploads).toHaveLength(2);
    const secondUri = fake.uploads[1]?.uri;
    expect(secondUri).not.toBe(firstUri);
    expect(fake.requests.map((request) => request.body.contents?.at(-1)?.parts?.[0])).toEqual([
      { fileData: { mimeType: 'application/pdf', fileUri: firstUri } },
      { fileData: { mimeType: 'application/pdf', fileUri: firstUri } }, // refused: 403
      { fileData: { mimeType: 'application/pdf', fileUri: secondUri } },
    ]);
    expect(pdf.remembered.map((remote) => remote?.uri ?? null)).toEqual([firstUri, null, secondUri]);
  });

  it('asks only once more: a second refusal fails the call', async () => {
    const stillValid = { uri: `${fake.url}/v1beta/files/unknown`, mimeType: 'image/png', expiresAt: new Date(Date.now() + HOUR_MS) };
    const image = memoryFile('cat.png', 'image/png', randomBytes(2_000), stillValid);
    fake.enqueue({ kind: 'error', status: 403, message: 'still refused' }); // the retry's answer

    const error = await failureOf(ask(model(), [{ role: 'user', text: 'Look', files: [image.file] }]));

    expect(error).toBeInstanceOf(ModelError);
    expect(error).toMatchObject({ code: 'MODEL_REJECTED', status: 403 });
    expect(fake.requests).toHaveLength(2);
    expect(fake.uploads).toHaveLength(1);
  });

  it('does not retry a refusal when no remembered copy was used', async () => {
    const image = memoryFile('cat.png', 'image/png', randomBytes(100));
    fake.enqueue({ kind: 'error', status: 400 });

    const error = await failureOf(ask(model(), [{ role: 'user', text: 'Look', files: [image.file] }]));

    expect(error).toMatchObject({ code: 'MODEL_REJECTED', status: 400 });
    expect(fake.requests).toHaveLength(1);
  });
});

describe('waiting for an uploaded file', () => {
  it('waits while Gemini processes the file, then sends it', async () => {
    fake.setFileProcessing({ processingGets: 2 });
    const pdf = memoryFile('scan.pdf', 'application/pdf', randomBytes(3_000));

    const reply = await ask(model(), [{ role: 'user', text: 'Read it', files: [pdf.file] }]);

    expect(reply).toBe('Hello from fake Gemini.');
    expect(fake.uploads[0]?.gets).toBe(3); // PROCESSING, PROCESSING, ACTIVE
    expect(fake.requests).toHaveLength(1);
  });

  it('fails the call as rejected when Gemini could not process the file, without asking the model', async () => {
    fake.setFileProcessing({ finalState: 'FAILED' });
    const pdf = memoryFile('broken.pdf', 'application/pdf', randomBytes(3_000));

    const error = await failureOf(ask(model(), [{ role: 'user', text: 'Read it', files: [pdf.file] }]));

    expect(error).toBeInstanceOf(ModelError);
    expect(error).toMatchObject({ code: 'MODEL_REJECTED' });
    expect((error as Error).message).toContain('broken.pdf');
    expect(fake.requests).toEqual([]);
    expect(pdf.remembered).toEqual([]);
  });

  it('stops waiting at the call deadline', async () => {
    fake.setFileProcessing({ processingGets: 1_000 });
    const pdf = memoryFile('slow.pdf', 'application/pdf', randomBytes(3_000));

    const error = await failureOf(ask(model({ timeoutMs: 500 }), [{ role: 'user', text: 'Read it', files: [pdf.file] }]));

    expect(error).toMatchObject({ code: 'MODEL_TIMEOUT' });
    expect(fake.requests).toEqual([]);
  });
});

describe('upload failures', () => {
  it('names an outage of the Files API as retryable and a refusal as rejected', async () => {
    const pdf = memoryFile('report.pdf', 'application/pdf', randomBytes(3_000));
    const turns: ChatTurn[] = [{ role: 'user', text: 'Read it', files: [pdf.file] }];

    fake.refuseUploads(503);
    expect(await failureOf(ask(model(), turns))).toMatchObject({ code: 'MODEL_UNAVAILABLE', status: 503 });
    fake.refuseUploads(400);
    expect(await failureOf(ask(model(), turns))).toMatchObject({ code: 'MODEL_REJECTED', status: 400 });
    expect(fake.requests).toEqual([]);
  });

  it("passes a failure of the caller's file store through unchanged", async () => {
    const storeDown = new Error('file store unreachable');
    const image = memoryFile('cat.png', 'image/png', randomBytes(100));
    const file: ModelFile = { ...image.file, content: { ...image.content, bytes: () => Promise.reject(storeDown) } };

    expect(await failureOf(ask(model(), [{ role: 'user', text: 'Look', files: [file] }]))).toBe(storeDown);
  });
});
