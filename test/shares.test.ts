import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { messages } from '../src/infra/db/schema.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { bearer, json, signIn, type SignedInUser } from './helpers/factories.js';
import { startFsStore, startS3Store, type TestFileStore } from './helpers/file-stores.js';
import { createRoom, type Message } from './helpers/messages.js';
import { testMode } from './helpers/mode.js';
import { uploadFile, type UploadedFile } from './helpers/uploads.js';
import { pngBytes } from './unit/fixtures/sample-files.js';

const QUOTA_BYTES = 64 * 1024;
const BASE_URL = 'https://chat.example.test';

interface Share {
  id: string;
  url: string;
  chatroomId: string;
  title: string;
  messageCount: number;
  createdAt: string;
}

interface SharedMessage {
  id: string;
  role: 'user' | 'model';
  content: string;
  attachments: (UploadedFile & { url: string })[];
  grounding: unknown;
  createdAt: string;
}

interface SharedConversation {
  id: string;
  title: string;
  messages: SharedMessage[];
  sharedAt: string;
}

type Conversation = { id: string; title: string; currentMessageId: string | null; messages: (Message & { attachments: UploadedFile[]; parentId: string | null })[]; hasMoreMessages: boolean };

const grounding = {
  queries: ['capital of France'],
  sources: [{ uri: 'https://example.org/paris', title: 'Paris' }],
  citations: [{ startIndex: 0, endIndex: 5, sourceIndices: [0] }],
  searchEntryPoint: null,
};

describe.each(['fs', 's3'] as const)(`shares (%s store, ${testMode})`, (storeKind) => {
  let store: TestFileStore;
  let t: TestApp;

  beforeAll(async () => {
    store = storeKind === 'fs' ? startFsStore() : await startS3Store();
    t = await startTestApp({ env: { ...store.env, STORAGE_QUOTA_BASIC_BYTES: String(QUOTA_BYTES), REPLY_WAIT_MS: '10000', PUBLIC_BASE_URL: BASE_URL } });
  });
  afterAll(async () => {
    await t.close();
    await store.close();
  });

  const as = (user: SignedInUser) => bearer(user.accessToken);
  const get = (url: string, user?: SignedInUser, headers: Record<string, string> = {}) =>
    t.request({ method: 'GET', url, headers: { ...(user ? as(user) : {}), ...headers } });
  const post = (url: string, user: SignedInUser, body?: unknown) =>
    t.request({ method: 'POST', url, ...(body === undefined ? { headers: as(user) } : { payload: json(body).payload, headers: { ...as(user), ...json(body).headers } }) });
  const share = (user: SignedInUser, room: string) => post(`/chatroom/${room}/shares`, user);
  const shareOk = async (user: SignedInUser, room: string) => {
    const res = await share(user, room);
    expect(res.statusCode, res.body).toBe(201);
    return res.json<Share>();
  };
  /** A prompt and its finished reply (the offline stand-in answers). */
  async function exchange(user: SignedInUser, room: string, content: string, attachmentIds?: string[]) {
    const res = await post(`/chatroom/${room}/message`, user, { content, ...(attachmentIds ? { attachmentIds } : {}) });
    expect(res.statusCode, res.body).toBe(201);
    return res.json<{ userMessage: Message; reply: Message }>();
  }
  const storageOf = async (user: SignedInUser) => (await get('/subscription/status', user)).json<{ storage: { usedBytes: number } }>().storage.usedBytes;
  const usedToday = async (user: SignedInUser) => (await get('/subscription/status', user)).json<{ usage: { used: number } }>().usage.used;
  const roomsOf = async (user: SignedInUser) => (await get('/chatroom', user)).json<{ items: { id: string }[] }>().items.map((room) => room.id);

  it('freezes the current branch: later messages are not in it, and what it shows is the conversation and nothing of its owner', async () => {
    const owner = await signIn(t);
    const room = await createRoom(t, owner);
    const first = await exchange(owner, room, 'What is the capital of France?');
    // A grounded reply with thoughts: the grounding travels with the share, the thoughts never do.
    await t.container.database.db.update(messages).set({ grounding, thoughts: 'secret reasoning' }).where(eq(messages.id, first.reply.id));

    const created = await shareOk(owner, room);
    expect(Object.keys(created).sort()).toEqual(['chatroomId', 'createdAt', 'id', 'messageCount', 'title', 'url']);
    expect(created.id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(created.id).not.toMatch(/^[0-9a-f]{8}-/);
    expect(created).toMatchObject({ url: `${BASE_URL}/s/${created.id}`, chatroomId: room, title: 'New chat', messageCount: 2 });

    await exchange(owner, room, 'And of Spain?'); // after sharing: not in the snapshot

    const res = await get(`/shares/${created.id}`);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['cache-control']).toBe('public, max-age=60');
    expect(res.headers['x-robots-tag']).toMatch(/noindex/);
    const view = res.json<SharedConversation>();
    expect(Object.keys(view).sort()).toEqual(['id', 'messages', 'sharedAt', 'title']);
    expect(view).toMatchObject({ id: created.id, title: 'New chat', sharedAt: created.createdAt });
    expect(view.messages.map((message) => [message.role, message.content])).toEqual([
      ['user', 'What is the capital of France?'],
      ['model', first.reply.content],
    ]);
    for (const message of view.messages) expect(Object.keys(message).sort()).toEqual(['attachments', 'content', 'createdAt', 'grounding', 'id', 'role']);
    expect(view.messages[1]?.grounding).toEqual(grounding);
    expect(view.messages[0]?.grounding).toBeNull();
    expect(res.body).not.toContain('secret reasoning');
    expect(res.body).not.toContain(owner.id);
    expect(res.body).not.toContain(owner.mobile.slice(1));
    expect(res.body).not.toContain(room);
  });

  it('leaves out an exchange whose reply failed or is unfinished; a chatroom with nothing finished is a 400', async () => {
    const owner = await signIn(t);
    const empty = await createRoom(t, owner);
    const refused = await share(owner, empty);
    expect(refused.statusCode).toBe(400);
    expect(refused.json()).toMatchObject({ code: 'VALIDATION_FAILED' });
    expect((await get(`/chatroom/${empty}/shares`, owner)).json()).toEqual({ items: [], nextCursor: null });

    const room = await createRoom(t, owner);
    const kept = await exchange(owner, room, 'kept');
    const failed = await exchange(owner, room, 'failed');
    await t.container.database.db.update(messages).set({ status: 'failed', content: '' }).where(eq(messages.id, failed.reply.id));
    const last = await exchange(owner, room, 'kept too');
    const created = await shareOk(owner, room);
    expect(created.messageCount).toBe(4);
    const view = (await get(`/shares/${created.id}`)).json<SharedConversation>();
    expect(view.messages.map((message) => message.content)).toEqual(['kept', kept.reply.content, 'kept too', last.reply.content]);
  });

  it("another user's chatroom is a 404 for creating, listing and revoking; an unknown share a 404 for reading and forking", async () => {
    const owner = await signIn(t);
    const stranger = await signIn(t);
    const room = await createRoom(t, owner);
    await exchange(owner, room, 'mine');
    const created = await shareOk(owner, room);

    expect((await share(stranger, room)).statusCode).toBe(404);
    expect((await get(`/chatroom/${room}/shares`, stranger)).statusCode).toBe(404);
    const revoke = await t.request({ method: 'DELETE', url: `/chatroom/${room}/shares/${created.id}`, headers: as(stranger) });
    expect(revoke.statusCode).toBe(404);
    // The stranger's own chatroom does not reach the owner's share either.
    const theirs = await createRoom(t, stranger);
    expect((await t.request({ method: 'DELETE', url: `/chatroom/${theirs}/shares/${created.id}`, headers: as(stranger) })).statusCode).toBe(404);
    expect((await get(`/shares/${created.id}`)).statusCode).toBe(200);

    // The last two: a NUL byte (PostgreSQL refuses it in text) and a share's id with one added to it.
    const oddOnes = ['a\u0000b', `${created.id}\u0000`];
    for (const unknown of ['AAAAAAAAAAAAAAAAAAAAAA', 'not-a-share', "'; drop table shares; --", created.id.toLowerCase() === created.id ? `${created.id.slice(0, 21)}X` : created.id.toLowerCase(), ...oddOnes]) {
      const res = await get(`/shares/${encodeURIComponent(unknown)}`);
      expect(res.statusCode).toBe(404);
      expect(res.json()).toMatchObject({ code: 'SHARE_NOT_FOUND' });
      expect((await post(`/shares/${encodeURIComponent(unknown)}/fork`, stranger)).statusCode).toBe(404);
      expect((await get(`/shares/${encodeURIComponent(unknown)}/files/${randomUUID()}`)).statusCode).toBe(404);
      expect((await t.request({ method: 'DELETE', url: `/chatroom/${room}/shares/${encodeURIComponent(unknown)}`, headers: as(owner) })).statusCode).toBe(404);
    }
  });

  it('revoking (and deleting the chatroom) makes the link a 404 at once, as for an id that never was, the cached view included', async () => {
    const owner = await signIn(t);
    const room = await createRoom(t, owner);
    await exchange(owner, room, 'hello');
    const a = await shareOk(owner, room);
    t.clock.advance(1000);
    const b = await shareOk(owner, room);
    const listed = (await get(`/chatroom/${room}/shares`, owner)).json<{ items: Share[] }>().items;
    expect(listed.map((item) => item.id)).toEqual([b.id, a.id]);

    expect((await get(`/shares/${a.id}`)).headers['x-cache']).toBe('MISS');
    expect((await get(`/shares/${a.id}`)).headers['x-cache']).toBe('HIT');
    const revoked = await t.request({ method: 'DELETE', url: `/chatroom/${room}/shares/${a.id}`, headers: as(owner) });
    expect(revoked.statusCode).toBe(204);

    const gone = await get(`/shares/${a.id}`);
    const never = await get('/shares/BBBBBBBBBBBBBBBBBBBBBB');
    expect(gone.statusCode).toBe(404);
    // The same answer as for any unknown id: nothing tells a revoked share from one that never was.
    const shape = (body: Record<string, unknown>) => ({ ...body, requestId: undefined, detail: String(body.detail).replace(/'[^']*'/, "'…'") });
    expect(shape(gone.json())).toEqual(shape(never.json()));
    expect(Object.keys(gone.headers).sort()).toEqual(Object.keys(never.headers).sort());
    expect((await get(`/s/${a.id}`)).statusCode).toBe(404);
    expect((await t.request({ method: 'DELETE', url: `/chatroom/${room}/shares/${a.id}`, headers: as(owner) })).statusCode).toBe(404);
    expect((await get(`/chatroom/${room}/shares`, owner)).json<{ items: Share[] }>().items.map((item) => item.id)).toEqual([b.id]);

    expect((await get(`/shares/${b.id}`)).statusCode).toBe(200);
    expect((await get(`/shares/${b.id}`)).headers['x-cache']).toBe('HIT');
    expect((await t.request({ method: 'DELETE', url: `/chatroom/${room}`, headers: as(owner) })).statusCode).toBe(204);
    expect((await get(`/shares/${b.id}`)).statusCode).toBe(404);
  });

  it('pages a chatroom\'s shares, newest first', async () => {
    const owner = await signIn(t);
    const room = await createRoom(t, owner);
    await exchange(owner, room, 'hi');
    const made: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      made.unshift((await shareOk(owner, room)).id);
      t.clock.advance(1000);
    }
    const first = (await get(`/chatroom/${room}/shares?limit=2`, owner)).json<{ items: Share[]; nextCursor: string }>();
    expect(first.items.map((item) => item.id)).toEqual(made.slice(0, 2));
    const second = (await get(`/chatroom/${room}/shares?limit=2&cursor=${first.nextCursor}`, owner)).json<{ items: Share[]; nextCursor: null }>();
    expect(second).toMatchObject({ items: [{ id: made[2] }], nextCursor: null });
    // Not ours, or ours edited to a time PostgreSQL refuses (year 0): the caller's 400, not a failed query.
    const shareId = made[0] ?? '';
    for (const cursor of ['bm9wZQ', Buffer.from(JSON.stringify(['0000-01-01T00:00:00.000Z', shareId])).toString('base64url')]) {
      const res = await get(`/chatroom/${room}/shares?cursor=${cursor}`, owner);
      expect(res.statusCode, cursor).toBe(400);
      expect(res.json().code).toBe('VALIDATION_FAILED');
    }
  });

  it('31 shares in an hour: the 31st is 429 RATE_LIMITED and stores nothing', async () => {
    const owner = await signIn(t);
    const room = await createRoom(t, owner);
    await exchange(owner, room, 'popular');
    for (let i = 0; i < 30; i += 1) expect((await share(owner, room)).statusCode).toBe(201);
    const refused = await share(owner, room);
    expect(refused.statusCode).toBe(429);
    expect(refused.json()).toMatchObject({ code: 'RATE_LIMITED' });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect((await get(`/chatroom/${room}/shares?limit=100`, owner)).json<{ items: Share[] }>().items).toHaveLength(30);
    // Another user's allowance is their own.
    const other = await signIn(t);
    const theirs = await createRoom(t, other);
    await exchange(other, theirs, 'mine');
    expect((await share(other, theirs)).statusCode).toBe(201);
  });

  it('serves the files of the shared messages (only those) with the headers of a download; a file its owner deleted is a 404', async () => {
    const owner = await signIn(t);
    const room = await createRoom(t, owner);
    const png = pngBytes(20, 10);
    const file = await uploadFile(t, owner, 'cat.png', png);
    const other = await uploadFile(t, owner, 'other.png', pngBytes(3, 3));
    await exchange(owner, room, 'what is this?', [file.id]);
    const created = await shareOk(owner, room);

    const view = (await get(`/shares/${created.id}`)).json<SharedConversation>();
    const [attachment] = view.messages[0]?.attachments ?? [];
    expect(attachment).toEqual({ ...file, url: `/shares/${created.id}/files/${file.id}` });

    const shared = await get(attachment?.url ?? '');
    const own = await get(`/files/${file.id}/content`, owner);
    expect(shared.statusCode).toBe(200);
    expect(shared.rawPayload.equals(png)).toBe(true);
    for (const header of ['content-type', 'content-disposition', 'x-content-type-options', 'content-security-policy', 'cache-control', 'etag', 'accept-ranges', 'content-length']) {
      expect(shared.headers[header], header).toBe(own.headers[header]);
    }
    const part = await get(attachment?.url ?? '', undefined, { range: 'bytes=0-7' });
    expect(part.statusCode).toBe(206);
    expect(part.rawPayload.equals(png.subarray(0, 8))).toBe(true);

    expect((await get(`/shares/${created.id}/files/${other.id}`)).statusCode).toBe(404); // the owner's, but not in the share
    expect((await get(`/shares/BBBBBBBBBBBBBBBBBBBBBB/files/${file.id}`)).statusCode).toBe(404);

    expect((await t.request({ method: 'DELETE', url: `/files/${file.id}`, headers: as(owner) })).statusCode).toBe(204);
    const deleted = await get(attachment?.url ?? '');
    expect(deleted.statusCode).toBe(404);
    expect(deleted.json()).toMatchObject({ code: 'FILE_NOT_FOUND' });
  });

  it("forks into a new chatroom of the reader's: the messages as one branch, files copied (surviving the original's deletion), no allowance spent", async () => {
    const owner = await signIn(t);
    const reader = await signIn(t);
    const room = await createRoom(t, owner);
    const png = pngBytes(24, 24);
    const file = await uploadFile(t, owner, 'chart.png', png);
    const first = await exchange(owner, room, 'explain this chart', [file.id]);
    await t.container.database.db.update(messages).set({ grounding }).where(eq(messages.id, first.reply.id));
    const second = await exchange(owner, room, 'thanks');
    const created = await shareOk(owner, room);
    const keysBefore = (await store.keys()).length;

    const res = await post(`/shares/${created.id}/fork`, reader);
    expect(res.statusCode, res.body).toBe(201);
    const fork = res.json<Conversation>();
    expect(res.headers.location).toBe(`/chatroom/${fork.id}`);
    expect(fork.id).not.toBe(room);
    expect(fork.title).toBe('New chat');
    expect(fork.hasMoreMessages).toBe(false);
    expect(fork.messages.map((message) => [message.role, message.content, message.status])).toEqual([
      ['user', 'explain this chart', 'done'],
      ['model', first.reply.content, 'done'],
      ['user', 'thanks', 'done'],
      ['model', second.reply.content, 'done'],
    ]);
    // One branch: each message follows the one before, and the last is the current one.
    expect(fork.messages.map((message) => message.parentId)).toEqual([null, ...fork.messages.slice(0, -1).map((message) => message.id)]);
    expect(fork.currentMessageId).toBe(fork.messages[3]?.id);
    expect(fork.messages.map((message) => message.id)).not.toContain(first.userMessage.id);

    const [copy] = fork.messages[0]?.attachments ?? [];
    expect(copy).toMatchObject({ name: 'chart.png', mimeType: 'image/png', sizeBytes: png.length, sha256: file.sha256, deleted: false });
    expect(copy?.id).not.toBe(file.id);
    expect(await roomsOf(reader)).toEqual([fork.id]);
    expect(await storageOf(reader)).toBe(png.length);
    expect(await usedToday(reader)).toBe(0);
    expect((await store.keys()).length).toBe(keysBefore + 1);

    // The original owner deletes the file, then the chatroom: the fork's copy is the reader's own.
    expect((await t.request({ method: 'DELETE', url: `/files/${file.id}`, headers: as(owner) })).statusCode).toBe(204);
    expect((await t.request({ method: 'DELETE', url: `/chatroom/${room}`, headers: as(owner) })).statusCode).toBe(204);
    const bytes = await get(`/files/${copy?.id}/content`, reader);
    expect(bytes.statusCode).toBe(200);
    expect(bytes.rawPayload.equals(png)).toBe(true);

    // The fork is a chatroom like any other: the conversation goes on from the copied reply.
    const next = await exchange(reader, fork.id, 'one more thing');
    expect(next.userMessage).toMatchObject({ parentId: fork.messages[3]?.id });
    const reread = (await get(`/chatroom/${fork.id}`, reader)).json<Conversation & { messages: { grounding?: unknown }[] }>();
    expect(reread.messages).toHaveLength(6);
    const [stored] = await t.container.database.db.select().from(messages).where(eq(messages.id, fork.messages[1]?.id ?? ''));
    expect(stored?.grounding).toEqual(grounding);
  });

  it('forking your own share works; a file deleted before the fork comes along as deleted', async () => {
    const owner = await signIn(t);
    const room = await createRoom(t, owner);
    const file = await uploadFile(t, owner, 'gone.png', pngBytes(4, 4));
    await exchange(owner, room, 'look', [file.id]);
    const created = await shareOk(owner, room);
    expect((await t.request({ method: 'DELETE', url: `/files/${file.id}`, headers: as(owner) })).statusCode).toBe(204);
    const usedBefore = await storageOf(owner);

    const res = await post(`/shares/${created.id}/fork`, owner);
    expect(res.statusCode, res.body).toBe(201);
    const fork = res.json<Conversation>();
    expect(fork.messages[0]?.attachments).toEqual([expect.objectContaining({ name: 'gone.png', deleted: true })]);
    expect(await storageOf(owner)).toBe(usedBefore);
    expect((await roomsOf(owner)).sort()).toEqual([room, fork.id].sort());
  });

  it('a fork past the reader\'s storage quota is 413 STORAGE_QUOTA_EXCEEDED and creates nothing', async () => {
    const owner = await signIn(t);
    const reader = await signIn(t);
    const room = await createRoom(t, owner);
    const big = Buffer.from('notes '.repeat(3500));
    const file = await uploadFile(t, owner, 'notes.txt', big);
    await exchange(owner, room, 'big picture', [file.id]);
    const created = await shareOk(owner, room);
    // The reader's storage is nearly full.
    let filler = 0;
    while ((await storageOf(reader)) + big.length <= QUOTA_BYTES) {
      await uploadFile(t, reader, `filler-${filler}.txt`, big);
      filler += 1;
    }
    const usedBefore = await storageOf(reader);
    const keysBefore = (await store.keys()).sort();

    const res = await post(`/shares/${created.id}/fork`, reader);
    expect(res.statusCode).toBe(413);
    expect(res.json()).toMatchObject({ code: 'STORAGE_QUOTA_EXCEEDED' });
    expect(await roomsOf(reader)).toEqual([]);
    expect(await storageOf(reader)).toBe(usedBefore);
    expect((await store.keys()).sort()).toEqual(keysBefore);
  });

  it('the read-only page: HTML for a share, a 404 page for an unknown or revoked one, never indexed', async () => {
    const owner = await signIn(t);
    const room = await createRoom(t, owner);
    await exchange(owner, room, 'page');
    const created = await shareOk(owner, room);
    const page = await get(`/s/${created.id}`, undefined, { accept: 'text/html' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.headers['x-robots-tag']).toMatch(/noindex/);
    expect(page.headers['content-security-policy']).toMatch(/script-src 'self'/);
    expect(page.body).not.toMatch(/<script>|<script [^>]*>[^<]/); // no inline script

    const missing = await get('/s/CCCCCCCCCCCCCCCCCCCCCC', undefined, { accept: 'text/html' });
    expect(missing.statusCode).toBe(404);
    expect(missing.headers['content-type']).toMatch(/^text\/html/);
    expect(missing.headers['x-robots-tag']).toMatch(/noindex/);
  });
});

describe.runIf(testMode === 'services')('shares across api processes (services)', () => {
  let t: TestApp;
  let peer: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ env: { REPLY_WAIT_MS: '10000' } });
    peer = await startTestApp({ peerOf: t, worker: false });
  });
  afterAll(async () => {
    await peer.close();
    await t.close();
  });

  it('a revoke on one process makes the link a 404 on another that was serving it from its own copy', async () => {
    const owner = await signIn(t);
    const room = await createRoom(t, owner);
    const sent = await t.request({ method: 'POST', url: `/chatroom/${room}/message`, payload: JSON.stringify({ content: 'viral' }), headers: { ...bearer(owner.accessToken), 'content-type': 'application/json' } });
    expect(sent.statusCode).toBe(201);
    const created = (await t.request({ method: 'POST', url: `/chatroom/${room}/shares`, headers: bearer(owner.accessToken) })).json<Share>();

    expect((await peer.request({ method: 'GET', url: `/shares/${created.id}` })).headers['x-cache']).toBe('MISS');
    expect((await peer.request({ method: 'GET', url: `/shares/${created.id}` })).headers['x-cache']).toBe('HIT');
    expect((await t.request({ method: 'GET', url: `/shares/${created.id}` })).headers['x-cache']).toBe('HIT'); // the shared cache

    const revoked = await t.request({ method: 'DELETE', url: `/chatroom/${room}/shares/${created.id}`, headers: bearer(owner.accessToken) });
    expect(revoked.statusCode).toBe(204);
    expect((await peer.request({ method: 'GET', url: `/shares/${created.id}` })).statusCode).toBe(404);
    expect((await t.request({ method: 'GET', url: `/shares/${created.id}` })).statusCode).toBe(404);
  });
});
