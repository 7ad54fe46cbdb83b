import { describe, expect, it } from 'vitest';
import { withGeminiApp } from './helpers/gemini-app.js';
import { bearer, signIn, type SignedInUser } from './helpers/factories.js';
import { createRoom, type Message } from './helpers/messages.js';
import { uploadFile } from './helpers/uploads.js';
import { testMode } from './helpers/mode.js';
import type { GeminiPart } from './fakes/gemini-server.js';
import { pdfBytes, pngBytes, wavBytes } from './unit/fixtures/sample-files.js';

/*
 * Files on the reply path with the real @google/genai SDK against the fake Gemini at the wire: what
 * the model is sent for each turn, and what a reply says about its context.
 */

type Reply = Message & { contextTruncated: boolean };

const app = withGeminiApp({
  GEMINI_MODEL: 'gemini-test',
  REPLY_WAIT_MS: '10000',
  BASIC_DAILY_LIMIT: '100',
  // Small, so that the tests below cross both limits with small files.
  GEMINI_INLINE_MAX_BYTES: '60000',
  GENERATION_CONTEXT_TOKENS: '2000',
  MAX_UPLOAD_BYTES: String(4 * 1024 * 1024),
});

const send = async (user: SignedInUser, room: string, body: Record<string, unknown>) => {
  const res = await app.t.request({
    method: 'POST',
    url: `/chatroom/${room}/message`,
    payload: JSON.stringify(body),
    headers: { ...bearer(user.accessToken), 'content-type': 'application/json' },
  });
  return res;
};

/** What the model was sent in its last call: each turn's role and its parts, summarised. */
function lastContents() {
  const contents = app.gemini.requests.at(-1)?.body.contents ?? [];
  return contents.map((content) => ({
    role: content.role,
    parts: (content.parts ?? []).map((part: GeminiPart) =>
      part.inlineData ? `inline:${(part.inlineData as { mimeType: string }).mimeType}` : part.fileData ? 'fileData' : `text:${part.text ?? ''}`,
    ),
  }));
}

describe(`files reach Gemini (${testMode})`, () => {
  it('sends a prompt\'s image inline with its turn, and again with every later turn of the path and a regenerated reply', async () => {
    const user = await signIn(app.t);
    const room = await createRoom(app.t, user);
    const png = pngBytes(16, 16);
    const image = await uploadFile(app.t, user, 'cat.png', png);
    app.gemini.enqueue({ kind: 'reply', chunks: ['A cat.'] }, { kind: 'reply', chunks: ['Grey.'] }, { kind: 'reply', chunks: ['Still a cat.'] });

    expect((await send(user, room, { content: 'What is this?', attachmentIds: [image.id] })).statusCode).toBe(201);
    expect(lastContents()).toEqual([{ role: 'user', parts: ['inline:image/png', 'text:What is this?'] }]);
    const inline = app.gemini.requests.at(-1)?.body.contents?.[0]?.parts?.[0]?.inlineData as { data: string };
    expect(Buffer.from(inline.data, 'base64').equals(png)).toBe(true);

    const followUp = await send(user, room, { content: 'What colour is it?' });
    expect(followUp.statusCode).toBe(201);
    expect(lastContents()).toEqual([
      { role: 'user', parts: ['inline:image/png', 'text:What is this?'] },
      { role: 'model', parts: ['text:A cat.'] },
      { role: 'user', parts: ['text:What colour is it?'] },
    ]);

    const first = (await app.t.request({ method: 'GET', url: `/chatroom/${room}/messages?limit=4`, headers: bearer(user.accessToken) })).json<{ items: Message[] }>();
    const firstReply = first.items.find((message) => message.content === 'A cat.');
    const again = await app.t.request({ method: 'POST', url: `/chatroom/${room}/messages/${firstReply?.id}/regenerate`, headers: bearer(user.accessToken) });
    expect(again.statusCode).toBe(201);
    expect(lastContents()).toEqual([{ role: 'user', parts: ['inline:image/png', 'text:What is this?'] }]);
  });

  it('uploads a file past the inline limit once through the Files API, and reuses it on the next turn', async () => {
    const user = await signIn(app.t);
    const room = await createRoom(app.t, user);
    const big = await uploadFile(app.t, user, 'talk.wav', wavBytes(4)); // over 60000 bytes once in base64
    expect((big.sizeBytes * 4) / 3).toBeGreaterThan(60_000);
    app.gemini.enqueue({ kind: 'reply', chunks: ['Noise.'] }, { kind: 'reply', chunks: ['Yes.'] });
    expect((await send(user, room, { content: 'Describe it', attachmentIds: [big.id] })).statusCode).toBe(201);
    expect(lastContents()[0]?.parts).toEqual(['fileData', 'text:Describe it']);
    expect(app.gemini.uploads).toHaveLength(1);
    expect(app.gemini.uploads[0]).toMatchObject({ mimeType: 'audio/wav', sizeBytes: big.sizeBytes, sha256: big.sha256 });
    expect((await send(user, room, { content: 'Sure?' })).statusCode).toBe(201);
    expect(lastContents()[0]?.parts).toEqual(['fileData', 'text:Describe it']);
    expect(app.gemini.uploads).toHaveLength(1);
  });

  it('tells the model of a deleted file in its place', async () => {
    const user = await signIn(app.t);
    const room = await createRoom(app.t, user);
    const file = await uploadFile(app.t, user, 'plan.txt', 'step one: buy cardamom');
    app.gemini.enqueue({ kind: 'reply', chunks: ['Noted.'] }, { kind: 'reply', chunks: ['It is gone.'] });
    expect((await send(user, room, { content: 'Remember this', attachmentIds: [file.id] })).statusCode).toBe(201);
    expect(lastContents()[0]?.parts).toEqual(['text:--- plan.txt ---\nstep one: buy cardamom', 'text:Remember this']);
    expect((await app.t.request({ method: 'DELETE', url: `/files/${file.id}`, headers: bearer(user.accessToken) })).statusCode).toBe(204);
    expect((await send(user, room, { content: 'What was step one?' })).statusCode).toBe(201);
    const [note] = lastContents()[0]?.parts ?? [];
    expect(note).toMatch(/plan\.txt.*deleted/);
    expect(note).not.toContain('cardamom');
  });

  it('keeps a long chat with large PDFs answerable: the oldest turns drop out whole, and the reply says its context was cut', async () => {
    const user = await signIn(app.t);
    const room = await createRoom(app.t, user);
    // Four pages each: 1032 tokens a PDF against a budget of 2000, so one PDF and its turn fit beside the new prompt's.
    for (let i = 1; i <= 4; i++) {
      const pdf = await uploadFile(app.t, user, `paper-${i}.pdf`, pdfBytes(4));
      app.gemini.enqueue({ kind: 'reply', chunks: [`Read ${i}.`] });
      const res = await send(user, room, { content: `Read paper ${i}`, attachmentIds: [pdf.id] });
      expect(res.statusCode, res.body).toBe(201);
      const reply = res.json<{ reply: Reply }>().reply;
      expect(reply.contextTruncated).toBe(i > 1);
    }
    const sent = lastContents();
    // The newest prompt with its PDF, always; never half a turn.
    expect(sent.at(-1)).toEqual({ role: 'user', parts: ['inline:application/pdf', 'text:Read paper 4'] });
    expect(sent[0]?.role).toBe('user');
    expect(sent.length).toBeLessThan(7);
  });

  it('fails a reply whose file the model rejects, with a clear error, and gives the prompt back', async () => {
    const user = await signIn(app.t);
    const room = await createRoom(app.t, user);
    const pdf = await uploadFile(app.t, user, 'broken.pdf', pdfBytes(1));
    app.gemini.enqueue({ kind: 'error', status: 400, message: 'The document has no pages.' });
    const before = (await app.t.request({ method: 'GET', url: '/subscription/status', headers: bearer(user.accessToken) })).json<{ usage: { used: number } }>().usage.used;
    const res = await send(user, room, { content: 'Summarise', attachmentIds: [pdf.id] });
    expect(res.statusCode).toBe(502);
    expect(res.json()).toMatchObject({ code: 'MODEL_FAILED', error: { code: 'MODEL_REJECTED' } });
    const after = (await app.t.request({ method: 'GET', url: '/subscription/status', headers: bearer(user.accessToken) })).json<{ usage: { used: number } }>().usage.used;
    expect(after).toBe(before);
  });
});
