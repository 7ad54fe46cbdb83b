import { createHash, randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { bearer, signIn, type SignedInUser } from './helpers/factories.js';
import { startFsStore, startS3Store, type TestFileStore } from './helpers/file-stores.js';
import { createRoom, type Message } from './helpers/messages.js';
import { upload, uploadFile, type UploadedFile } from './helpers/uploads.js';
import { waitUntil } from './helpers/wait.js';
import { testMode } from './helpers/mode.js';
import { exeBytes, pdfBytes, pngBytes, zipBytes } from './unit/fixtures/sample-files.js';

const MAX_UPLOAD_BYTES = 64 * 1024;
const QUOTA_BYTES = 256 * 1024;

const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');

describe.each(['fs', 's3'] as const)(`files (%s store, ${testMode})`, (storeKind) => {
  let store: TestFileStore;
  let t: TestApp;

  beforeAll(async () => {
    store = storeKind === 'fs' ? startFsStore() : await startS3Store();
    t = await startTestApp({
      env: { ...store.env, MAX_UPLOAD_BYTES: String(MAX_UPLOAD_BYTES), STORAGE_QUOTA_BASIC_BYTES: String(QUOTA_BYTES), REPLY_WAIT_MS: '10000', FILE_UNREFERENCED_TTL_SECONDS: '60' },
    });
  });
  afterAll(async () => {
    await t.close();
    await store.close();
  });

  const get = (user: SignedInUser, url: string, headers: Record<string, string> = {}) =>
    t.request({ method: 'GET', url, headers: { ...bearer(user.accessToken), ...headers } });
  const storageOf = async (user: SignedInUser) => (await get(user, '/subscription/status')).json<{ storage: { usedBytes: number; limitBytes: number } }>().storage;
  const filesOf = async (user: SignedInUser) => (await get(user, '/files')).json<{ items: UploadedFile[] }>().items;
  const send = (user: SignedInUser, room: string, body: Record<string, unknown>) =>
    t.request({ method: 'POST', url: `/chatroom/${room}/message`, payload: JSON.stringify(body), headers: { ...bearer(user.accessToken), 'content-type': 'application/json' } });

  /** Nothing of a refused upload is left: no row, no object, the quota as it was. */
  async function expectNothingKept(user: SignedInUser, keysBefore: string[]) {
    expect(await filesOf(user)).toEqual([]);
    expect((await storageOf(user)).usedBytes).toBe(0);
    expect(await store.keys()).toEqual(keysBefore);
  }

  it('stores an upload, lists it, and serves its bytes back with the contract headers and Range', async () => {
    const user = await signIn(t);
    const png = pngBytes(40, 30);
    const file = await uploadFile(t, user, 'cat.png', png);
    expect(file).toMatchObject({ name: 'cat.png', mimeType: 'image/png', sizeBytes: png.length, sha256: sha256(png), deleted: false });
    expect(await filesOf(user)).toEqual([file]);
    expect((await get(user, `/files/${file.id}`)).json()).toEqual(file);
    expect(await storageOf(user)).toEqual({ usedBytes: png.length, limitBytes: QUOTA_BYTES });

    const whole = await get(user, `/files/${file.id}/content`);
    expect(whole.statusCode).toBe(200);
    expect(whole.rawPayload.equals(png)).toBe(true);
    expect(whole.headers).toMatchObject({
      'content-type': 'image/png',
      'x-content-type-options': 'nosniff',
      'accept-ranges': 'bytes',
      'content-length': String(png.length),
    });
    expect(whole.headers['content-disposition']).toMatch(/^inline; filename="cat.png"/);
    expect(whole.headers['cache-control']).toMatch(/^private/);

    const part = await get(user, `/files/${file.id}/content`, { range: 'bytes=8-15' });
    expect(part.statusCode).toBe(206);
    expect(part.headers['content-range']).toBe(`bytes 8-15/${png.length}`);
    expect(part.rawPayload.equals(png.subarray(8, 16))).toBe(true);
    const tail = await get(user, `/files/${file.id}/content`, { range: 'bytes=-12' });
    expect(tail.rawPayload.equals(png.subarray(png.length - 12))).toBe(true);
    const beyond = await get(user, `/files/${file.id}/content`, { range: `bytes=${png.length}-` });
    expect(beyond.statusCode).toBe(416);
    expect(beyond.headers['content-range']).toBe(`bytes */${png.length}`);
  });

  it('pages the list newest first, with a cursor', async () => {
    const user = await signIn(t);
    const uploaded = [];
    for (const name of ['one.txt', 'two.txt', 'three.txt']) {
      uploaded.push(await uploadFile(t, user, name, name));
      t.clock.advance(1); // distinct upload times
    }
    const first = (await get(user, '/files?limit=2')).json<{ items: UploadedFile[]; nextCursor: string | null }>();
    expect(first.items.map((file) => file.name)).toEqual(['three.txt', 'two.txt']);
    const second = (await get(user, `/files?limit=2&cursor=${first.nextCursor}`)).json<{ items: UploadedFile[]; nextCursor: string | null }>();
    expect(second).toEqual({ items: [uploaded[0]], nextCursor: null });
    expect((await get(user, '/files?cursor=not-a-cursor')).json()).toMatchObject({ status: 400, code: 'VALIDATION_FAILED' });
  });

  it('serves everything but images as an attachment, text with its charset', async () => {
    const user = await signIn(t);
    const notes = await uploadFile(t, user, 'notes.md', '# Title\n\n<script>alert(1)</script>\n');
    expect(notes.mimeType).toBe('text/markdown');
    const res = await get(user, `/files/${notes.id}/content`);
    expect(res.headers['content-type']).toBe('text/markdown; charset=utf-8');
    expect(res.headers['content-disposition']).toMatch(/^attachment; /);
    expect(res.headers['content-security-policy']).toContain('sandbox');
  });

  it("keeps each user's files their own: another user's id is 404 everywhere", async () => {
    const owner = await signIn(t);
    const other = await signIn(t);
    const file = await uploadFile(t, owner, 'cat.png', pngBytes(8, 8));
    for (const url of [`/files/${file.id}`, `/files/${file.id}/content`]) {
      expect((await get(other, url)).json()).toMatchObject({ status: 404, code: 'FILE_NOT_FOUND' });
    }
    const del = await t.request({ method: 'DELETE', url: `/files/${file.id}`, headers: bearer(other.accessToken) });
    expect(del.statusCode).toBe(404);
    const room = await createRoom(t, other);
    const before = (await get(other, '/subscription/status')).json<{ usage: { used: number } }>().usage.used;
    expect((await send(other, room, { content: 'what is this?', attachmentIds: [file.id] })).json()).toMatchObject({ status: 404, code: 'FILE_NOT_FOUND' });
    expect((await get(other, '/subscription/status')).json<{ usage: { used: number } }>().usage.used).toBe(before);
    expect((await get(owner, `/files/${file.id}`)).json()).toMatchObject({ deleted: false });
  });

  describe('bad uploads get their status and leave nothing behind', () => {
    const cases: { what: string; parts: () => Parameters<typeof upload>[2]; status: number; code: string; detail?: RegExp }[] = [
      { what: 'a wrong field name', parts: () => [{ field: 'upload', fileName: 'a.png', body: pngBytes(4, 4) }], status: 400, code: 'VALIDATION_FAILED' },
      {
        what: 'two files in one request',
        parts: () => [
          { field: 'file', fileName: 'a.png', body: pngBytes(4, 4) },
          { field: 'file', fileName: 'b.png', body: pngBytes(5, 5) },
        ],
        status: 400,
        code: 'VALIDATION_FAILED',
      },
      { what: 'no file part', parts: () => [{ field: 'note', body: 'hello' }], status: 400, code: 'VALIDATION_FAILED' },
      {
        what: 'a declared type the bytes contradict',
        parts: () => [{ field: 'file', fileName: 'a.pdf', contentType: 'application/pdf', body: pngBytes(4, 4) }],
        status: 415,
        code: 'UNSUPPORTED_MEDIA_TYPE',
        detail: /image\/png/,
      },
      {
        what: 'an executable renamed .png',
        parts: () => [{ field: 'file', fileName: 'cat.png', contentType: 'image/png', body: exeBytes() }],
        status: 415,
        code: 'UNSUPPORTED_MEDIA_TYPE',
        detail: /x-msdownload/,
      },
      { what: 'a zip', parts: () => [{ field: 'file', fileName: 'a.zip', body: zipBytes() }], status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', detail: /zip/ },
      {
        what: 'a truncated PNG',
        parts: () => [{ field: 'file', fileName: 'cut.png', body: pngBytes(16, 16).subarray(0, 40) }],
        status: 415,
        code: 'UNSUPPORTED_MEDIA_TYPE',
        detail: /truncated/,
      },
      {
        what: 'invalid UTF-8 as text/plain',
        parts: () => [{ field: 'file', fileName: 'a.txt', contentType: 'text/plain', body: Buffer.from([0x68, 0x69, 0xc3, 0x28, 0x0a]) }],
        status: 415,
        code: 'UNSUPPORTED_MEDIA_TYPE',
        detail: /UTF-8/,
      },
      { what: 'an empty file', parts: () => [{ field: 'file', fileName: 'empty.txt', body: '' }], status: 400, code: 'VALIDATION_FAILED' },
      {
        what: 'a file one byte over the limit',
        parts: () => [{ field: 'file', fileName: 'big.txt', body: 'a'.repeat(MAX_UPLOAD_BYTES + 1) }],
        status: 413,
        code: 'PAYLOAD_TOO_LARGE',
      },
    ];
    for (const { what, parts, status, code, detail } of cases) {
      it(what, async () => {
        const user = await signIn(t);
        const keysBefore = await store.keys();
        const res = await upload(t, user, parts());
        expect(res.statusCode, res.body).toBe(status);
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(res.json()).toMatchObject({ code });
        if (detail) expect(res.json<{ detail: string }>().detail).toMatch(detail);
        await expectNothingKept(user, keysBefore);
      });
    }

    it('a body that says multipart but is not (no boundary, no parts, a form cut short) is 400', async () => {
      const user = await signIn(t);
      const keysBefore = await store.keys();
      for (const [contentType, payload] of [
        ['multipart/form-data', '{"file":"x"}'],
        ['multipart/form-data; boundary=abc', '{"file":"x"}'],
        ['multipart/form-data; boundary=abc', '--abc\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\nhello'],
      ] as const) {
        const res = await t.request({ method: 'POST', url: '/files', payload, headers: { ...bearer(user.accessToken), 'content-type': contentType } });
        expect(res.json(), contentType).toMatchObject({ status: 400 });
      }
      await expectNothingKept(user, keysBefore);
    });

    it('a JSON body is 415', async () => {
      const user = await signIn(t);
      const res = await t.request({ method: 'POST', url: '/files', payload: '{"file":"x"}', headers: { ...bearer(user.accessToken), 'content-type': 'application/json' } });
      expect(res.json()).toMatchObject({ status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' });
    });

    it('a file exactly at the limit is stored', async () => {
      const user = await signIn(t);
      expect((await uploadFile(t, user, 'max.txt', 'a'.repeat(MAX_UPLOAD_BYTES))).sizeBytes).toBe(MAX_UPLOAD_BYTES);
    });
  });

  it('stores a name without its path, control or bidi characters, never as the storage key', async () => {
    const user = await signIn(t);
    const file = await uploadFile(t, user, '../../etc/\u202Egnp.txt\u0000', 'hello');
    expect(file.name).toBe('gnp.txt');
    expect((await store.keys()).some((key) => key.includes('gnp'))).toBe(false);
  });

  it('refuses an upload past the storage quota (413 STORAGE_QUOTA_EXCEEDED), and two racing uploads never pass it together', async () => {
    const user = await signIn(t);
    const big = 'b'.repeat(MAX_UPLOAD_BYTES);
    // Four files fill the quota exactly; the fifth is refused.
    for (let i = 0; i < 4; i++) await uploadFile(t, user, `part-${i}.txt`, big);
    const keysBefore = await store.keys();
    const over = await upload(t, user, [{ field: 'file', fileName: 'one-more.txt', body: 'x' }]);
    expect(over.json()).toMatchObject({ status: 413, code: 'STORAGE_QUOTA_EXCEEDED' });
    expect(await store.keys()).toEqual(keysBefore);

    const racer = await signIn(t);
    for (let i = 0; i < 3; i++) await uploadFile(t, racer, `part-${i}.txt`, big);
    const raced = await Promise.all([0, 1, 2].map((i) => upload(t, racer, [{ field: 'file', fileName: `race-${i}.txt`, body: big }])));
    expect(raced.map((res) => res.statusCode).sort()).toEqual([201, 413, 413]);
    expect(await storageOf(racer)).toEqual({ usedBytes: QUOTA_BYTES, limitBytes: QUOTA_BYTES });
  });

  it('keeps nothing of an upload whose client goes away mid-file', async () => {
    // An app of its own, listening on a real socket (inject cannot hang up mid-body), whose log says
    // when the server has undone the upload.
    const own = await startTestApp({ env: { ...store.env, MAX_UPLOAD_BYTES: String(MAX_UPLOAD_BYTES) }, captureLogs: true, worker: false });
    try {
      const user = await signIn(own);
      const keysBefore = await store.keys();
      await own.app.listen({ port: 0, host: '127.0.0.1' });
      const { port } = own.app.server.address() as AddressInfo;
      const boundary = 'cut-off-boundary';
      await new Promise<void>((resolve) => {
        const req = httpRequest({
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/files',
          headers: { ...bearer(user.accessToken), 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': '100000' },
        });
        req.on('error', () => resolve());
        req.on('close', () => resolve());
        // The server has part of the file; the client goes.
        req.write(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="half.txt"\r\n\r\n${'h'.repeat(20_000)}`, () => setImmediate(() => req.destroy()));
      });
      await waitUntil(() => own.logs.some((line) => line.includes('upload refused; nothing of it was kept')), 'the server has undone the upload', {
        detail: () => own.logs.slice(-5).join(''),
      });
      expect(await store.keys()).toEqual(keysBefore);
      expect((await own.request({ method: 'GET', url: '/files', headers: bearer(user.accessToken) })).json()).toEqual({ items: [], nextCursor: null });
    } finally {
      await own.close();
    }
  });

  it('sends a prompt with files: the prompt carries them, the offline stand-in names them, and it may have no text', async () => {
    const user = await signIn(t);
    const room = await createRoom(t, user);
    const png = await uploadFile(t, user, 'cat.png', pngBytes(20, 20));
    const pdf = await uploadFile(t, user, 'paper.pdf', pdfBytes(2));
    // An id in capitals names the same file.
    const res = await send(user, room, { content: '', attachmentIds: [png.id.toUpperCase(), pdf.id] });
    expect(res.statusCode, res.body).toBe(201);
    const { userMessage, reply } = res.json<{ userMessage: Message & { attachments: UploadedFile[] }; reply: Message & { attachments: UploadedFile[]; contextTruncated: boolean } }>();
    expect(userMessage.attachments).toEqual([png, pdf]);
    expect(reply.attachments).toEqual([]);
    expect(reply.contextTruncated).toBe(false);
    expect(reply.content).toContain('cat.png');
    expect(reply.content).toContain('paper.pdf');
    // As read back.
    const room2 = (await get(user, `/chatroom/${room}`)).json<{ messages: (Message & { attachments: UploadedFile[] })[] }>();
    expect(room2.messages[0]?.attachments.map((file) => file.id)).toEqual([png.id, pdf.id]);
  });

  it('refuses a prompt with 11 files, with a file twice, or with no text and no file (400), before anything is spent', async () => {
    const user = await signIn(t);
    const room = await createRoom(t, user);
    const file = await uploadFile(t, user, 'a.txt', 'hello');
    for (const body of [
      { content: 'x', attachmentIds: Array.from({ length: 11 }, () => randomUUID()) },
      { content: 'x', attachmentIds: [file.id, file.id] },
      { content: '   ' },
      { content: '', attachmentIds: [] },
    ]) {
      expect((await send(user, room, body)).json()).toMatchObject({ status: 400, code: 'VALIDATION_FAILED' });
    }
    expect((await get(user, '/subscription/status')).json()).toMatchObject({ usage: { used: 0 } });
  });

  it('deletes a file: bytes gone at once, metadata kept on the messages, the model told, the quota given back', async () => {
    const user = await signIn(t);
    const room = await createRoom(t, user);
    const file = await uploadFile(t, user, 'notes.txt', 'the secret ingredient is cardamom');
    expect((await send(user, room, { content: 'read this', attachmentIds: [file.id] })).statusCode).toBe(201);
    const keysBefore = await store.keys();

    const del = await t.request({ method: 'DELETE', url: `/files/${file.id}`, headers: bearer(user.accessToken) });
    expect(del.statusCode).toBe(204);
    expect((await get(user, `/files/${file.id}`)).json()).toMatchObject({ id: file.id, deleted: true });
    expect((await get(user, `/files/${file.id}/content`)).json()).toMatchObject({ status: 404, code: 'FILE_NOT_FOUND' });
    expect(await filesOf(user)).toEqual([]);
    expect((await storageOf(user)).usedBytes).toBe(0);
    expect(await store.keys()).toHaveLength(keysBefore.length - 1);
    const messages = (await get(user, `/chatroom/${room}`)).json<{ messages: (Message & { attachments: UploadedFile[] })[] }>().messages;
    expect(messages[0]?.attachments).toEqual([{ ...file, deleted: true }]);
    // Attaching it again is refused; a follow-up still gets a reply (the model gets a note in its place).
    expect((await send(user, room, { content: 'again', attachmentIds: [file.id] })).json()).toMatchObject({ status: 404, code: 'FILE_NOT_FOUND' });
    expect((await send(user, room, { content: 'what did it say?' })).statusCode).toBe(201);
  });

  it('lists the files in both exports', async () => {
    const user = await signIn(t);
    const room = await createRoom(t, user);
    const file = await uploadFile(t, user, 'cat.png', pngBytes(10, 10));
    expect((await send(user, room, { content: 'look', attachmentIds: [file.id] })).statusCode).toBe(201);
    const exported = (await get(user, `/chatroom/${room}/export?format=json`)).json<{ messages: { attachments: UploadedFile[] }[] }>();
    expect(exported.messages[0]?.attachments).toEqual([file]);
    const markdown = (await get(user, `/chatroom/${room}/export?format=markdown`)).body;
    expect(markdown).toContain('cat.png');
  });

  it('deletes with a chatroom the files only its messages carry, and keeps a file another chatroom also has', async () => {
    const user = await signIn(t);
    const [first, second] = [await createRoom(t, user), await createRoom(t, user)];
    const only = await uploadFile(t, user, 'only.txt', 'only here');
    const shared = await uploadFile(t, user, 'shared.txt', 'in both');
    expect((await send(user, first, { content: 'a', attachmentIds: [only.id, shared.id] })).statusCode).toBe(201);
    expect((await send(user, second, { content: 'b', attachmentIds: [shared.id] })).statusCode).toBe(201);
    expect((await t.request({ method: 'DELETE', url: `/chatroom/${first}`, headers: bearer(user.accessToken) })).statusCode).toBe(204);
    expect((await get(user, `/files/${only.id}`)).json()).toMatchObject({ deleted: true });
    expect((await get(user, `/files/${shared.id}`)).json()).toMatchObject({ deleted: false });
    expect((await filesOf(user)).map((file) => file.id)).toEqual([shared.id]);
  });

  it('deletes uploads no prompt took up within FILE_UNREFERENCED_TTL_SECONDS, and keeps attached ones', async () => {
    const user = await signIn(t);
    const room = await createRoom(t, user);
    const unused = await uploadFile(t, user, 'unused.txt', 'never sent');
    const used = await uploadFile(t, user, 'used.txt', 'sent');
    expect((await send(user, room, { content: 'x', attachmentIds: [used.id] })).statusCode).toBe(201);
    t.clock.advance(61_000);
    const swept = await t.container.files.sweep();
    expect(swept.unreferencedFiles).toBeGreaterThanOrEqual(1);
    expect((await get(user, `/files/${unused.id}`)).json()).toMatchObject({ deleted: true });
    expect((await get(user, `/files/${used.id}`)).json()).toMatchObject({ deleted: false });
  });
});
