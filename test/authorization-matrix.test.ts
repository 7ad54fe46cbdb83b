import { eq } from 'drizzle-orm';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatrooms, dailyUsage, files, idempotencyKeys, messages, shares, users } from '../src/infra/db/schema.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { bearer, signIn, type SignedInUser } from './helpers/factories.js';
import { startFsStore, type TestFileStore } from './helpers/file-stores.js';
import { createRoom, pollUntilFinished, sendMessage } from './helpers/messages.js';
import { uploadFile } from './helpers/uploads.js';
import { routesOf, type RouteEntry } from './helpers/routes.js';

/*
 * The authorization matrix, generated from the router: user B calls every route that takes an id
 * with user A's ids (and with mixes of A's and B's), and must get 404 every time, read nothing of A's
 * and change nothing of A's. A route that takes an id and has no case below fails the test: whoever
 * adds a route says here how its ownership is checked.
 */

interface Resources {
  room: string;
  userMessage: string;
  reply: string;
  file: string;
  share: string;
}

interface OwnedBy {
  a: Resources;
  b: Resources;
}

type Case = (ids: OwnedBy) => { params: string[]; payload?: unknown }[];

/** The usual mixes for a route under a chatroom: A's room with A's message; B's room with A's message; A's room with B's message. */
const roomAndMessage =
  (message: 'userMessage' | 'reply', payload?: (ids: OwnedBy) => unknown): Case =>
  (ids) => [
    { params: [ids.a.room, ids.a[message]], payload: payload?.(ids) },
    { params: [ids.b.room, ids.a[message]], payload: payload?.(ids) },
    { params: [ids.a.room, ids.b[message]], payload: payload?.(ids) },
  ];
const roomOnly =
  (payload?: unknown): Case =>
  (ids) => [{ params: [ids.a.room], payload }];

/** Keyed by method and path with every parameter written `:`. Routes of API.md not built yet are listed so they are covered when they land. */
const ownershipCases: Record<string, Case> = {
  'GET /chatroom/:': roomOnly(),
  'HEAD /chatroom/:': roomOnly(),
  'PATCH /chatroom/:': roomOnly({ title: 'taken over' }),
  'DELETE /chatroom/:': roomOnly(),
  'POST /chatroom/:/message': (ids) => [
    { params: [ids.a.room], payload: { content: "written into A's room" } },
    // B's own room, with A's file attached.
    { params: [ids.b.room], payload: { content: "about A's file", attachmentIds: [ids.a.file] } },
  ],
  'GET /chatroom/:/messages': roomOnly(),
  'HEAD /chatroom/:/messages': roomOnly(),
  'GET /chatroom/:/messages/:': roomAndMessage('reply'),
  'HEAD /chatroom/:/messages/:': roomAndMessage('reply'),
  'POST /chatroom/:/messages/:/regenerate': roomAndMessage('reply'),
  'POST /chatroom/:/messages/:/stop': roomAndMessage('reply'),
  'GET /chatroom/:/messages/:/stream': roomAndMessage('reply'),
  'HEAD /chatroom/:/messages/:/stream': roomAndMessage('reply'),
  'GET /chatroom/:/export': roomOnly(),
  'HEAD /chatroom/:/export': roomOnly(),
  'GET /files/:': (ids) => [{ params: [ids.a.file] }],
  'HEAD /files/:': (ids) => [{ params: [ids.a.file] }],
  'DELETE /files/:': (ids) => [{ params: [ids.a.file] }],
  'GET /files/:/content': (ids) => [{ params: [ids.a.file] }],
  'HEAD /files/:/content': (ids) => [{ params: [ids.a.file] }],
  'PUT /chatroom/:/messages/:/feedback': roomAndMessage('reply', () => ({ rating: 'down', comment: 'taken over' })),
  'DELETE /chatroom/:/messages/:/feedback': roomAndMessage('reply'),
  'POST /chatroom/:/shares': roomOnly(),
  'GET /chatroom/:/shares': roomOnly(),
  'HEAD /chatroom/:/shares': roomOnly(),
  'DELETE /chatroom/:/shares/:': (ids) => [{ params: [ids.a.room, ids.a.share] }, { params: [ids.b.room, ids.a.share] }],
  'PUT /chatroom/:/current-message': (ids) => [
    { params: [ids.a.room], payload: { messageId: ids.a.reply } },
    { params: [ids.b.room], payload: { messageId: ids.a.reply } },
  ],
};

/**
 * Routes whose id is a capability, not an ownership check: 160 random bits handed to the payer (like
 * a Stripe Checkout URL), or a share's 128 random bits its owner hands to readers (who may read and
 * fork it whoever they are). Without the id: 404.
 */
const capabilityRoutes = new Set([
  'GET /shares/:',
  'HEAD /shares/:',
  'GET /shares/:/files/:',
  'HEAD /shares/:/files/:',
  'GET /s/:',
  'HEAD /s/:',
  'POST /shares/:/fork',
  'GET /subscribe/simulated/:',
  'HEAD /subscribe/simulated/:',
  'POST /subscribe/simulated/:',
  'GET /subscribe/simulated/portal/:',
  'HEAD /subscribe/simulated/portal/:',
  'POST /subscribe/simulated/portal/:',
]);

/**
 * Framework routes that take a path but no id of ours: Swagger UI's files, and the chat page's static
 * files once it is built (@fastify/static's `/assets/*`, which the router prints as a wildcard under `/`).
 */
const notOwned = new Set(['GET /docs/*', 'HEAD /docs/*', 'GET /assets/*', 'HEAD /assets/*', 'GET /*', 'HEAD /*']);

const keyOf = ({ method, path }: RouteEntry) => `${method} ${path.replace(/:[A-Za-z]+/g, ':')}`;
const fill = (path: string, params: string[]) => {
  let index = 0;
  return path.replace(/:[A-Za-z]+/g, () => params[index++] ?? 'missing');
};

let t: TestApp;
let alice: SignedInUser;
let bob: SignedInUser;
let ids: OwnedBy;
let fileStore: TestFileStore;

async function resourcesOf(user: SignedInUser, title: string): Promise<Resources> {
  const room = await createRoom(t, user);
  await t.request({ method: 'PATCH', url: `/chatroom/${room}`, headers: { ...bearer(user.accessToken), 'content-type': 'application/json' }, payload: JSON.stringify({ title }) });
  const sent = await sendMessage(t, user, room, `${title}: a private prompt`, { wait: false, headers: { 'idempotency-key': `${title.replaceAll(' ', '-')}-key` } });
  expect(sent.statusCode).toBe(202);
  const { userMessage, reply } = sent.json<{ userMessage: { id: string }; reply: { id: string } }>();
  await pollUntilFinished(t, user, room, reply.id);
  // A rating of the owner's that another user's DELETE must leave in place.
  const rated = await t.request({
    method: 'PUT',
    url: `/chatroom/${room}/messages/${reply.id}/feedback`,
    headers: { ...bearer(user.accessToken), 'content-type': 'application/json' },
    payload: JSON.stringify({ rating: 'up' }),
  });
  expect(rated.statusCode).toBe(200);
  const file = await uploadFile(t, user, 'private.txt', `${title}: a private file`);
  const shared = await t.request({ method: 'POST', url: `/chatroom/${room}/shares`, headers: bearer(user.accessToken) });
  expect(shared.statusCode, shared.body).toBe(201);
  return { room, userMessage: userMessage.id, reply: reply.id, file: file.id, share: shared.json<{ id: string }>().id };
}

/** Everything of A's that B could read or change, as stored. */
async function snapshotOf(userId: string) {
  const { db } = t.container.database;
  return JSON.stringify({
    user: await db.select().from(users).where(eq(users.id, userId)),
    rooms: await db.select().from(chatrooms).where(eq(chatrooms.userId, userId)),
    messages: await db.select().from(messages).where(eq(messages.userId, userId)).orderBy(messages.seq),
    usage: await db.select().from(dailyUsage).where(eq(dailyUsage.userId, userId)),
    keys: await db.select().from(idempotencyKeys).where(eq(idempotencyKeys.userId, userId)),
    files: await db.select().from(files).where(eq(files.userId, userId)).orderBy(files.createdAt),
    shares: await db.select().from(shares).where(eq(shares.userId, userId)).orderBy(shares.createdAt),
  });
}

beforeAll(async () => {
  fileStore = startFsStore();
  t = await startTestApp({ env: { REPLY_WAIT_MS: '0', ...fileStore.env } });
  alice = await signIn(t);
  bob = await signIn(t);
  ids = { a: await resourcesOf(alice, 'Alice secret room'), b: await resourcesOf(bob, 'Bob room') };
});
afterAll(async () => {
  await t.close();
  await fileStore.close();
});

describe('authorization matrix (generated from the router)', () => {
  it('every route that takes an id has an ownership case, or is a declared capability or framework route', () => {
    const parametrised = routesOf(t.app).filter((route) => route.path.includes(':') || route.path.includes('*'));
    expect(parametrised.length).toBeGreaterThan(5); // the router was read
    const uncovered = parametrised.map(keyOf).filter((key) => !(key in ownershipCases) && !capabilityRoutes.has(key) && !notOwned.has(key));
    expect(uncovered, 'add an ownership case to test/authorization-matrix.test.ts for each of these routes').toEqual([]);
  });

  it("user B gets 404 on every such route with user A's ids, reads nothing of A's and changes nothing", async () => {
    const before = await snapshotOf(alice.id);
    const routes = routesOf(t.app).filter((route) => keyOf(route) in ownershipCases);
    let requests = 0;
    for (const route of routes) {
      const cases = ownershipCases[keyOf(route)]?.(ids) ?? [];
      for (const { params, payload } of cases) {
        const url = fill(route.path, params);
        const options: InjectOptions = {
          method: route.method,
          url,
          headers: { ...bearer(bob.accessToken), ...(payload === undefined ? {} : { 'content-type': 'application/json' }) },
          ...(payload === undefined ? {} : { payload: JSON.stringify(payload) }),
        };
        const res = await t.request(options);
        requests++;
        expect(res.statusCode, `${route.method} ${url}: ${res.body}`).toBe(404);
        if (route.method !== 'HEAD') {
          expect(res.headers['content-type'], `${route.method} ${url}`).toContain('application/problem+json');
          expect(res.body).not.toContain('Alice secret room');
          expect(res.body).not.toContain('a private prompt');
        }
      }
    }
    console.log(`[matrix] ${routes.length} route+method pairs, ${requests} cross-user requests, all 404`);
    expect(requests).toBeGreaterThanOrEqual(routes.length);
    expect(await snapshotOf(alice.id)).toBe(before);
    // A still sees everything as it was.
    const own = await t.request({ method: 'GET', url: `/chatroom/${ids.a.room}`, headers: bearer(alice.accessToken) });
    expect(own.statusCode).toBe(200);
    expect(own.json().title).toBe('Alice secret room');
  });

  it('capability routes answer 404 without the id, and lists show only the caller\'s own', async () => {
    for (const key of capabilityRoutes) {
      const [method = 'GET', path = ''] = key.split(' ');
      // Signed in as B (forking a share needs a user); the capability is what is missing.
      const res = await t.request({
        method: method,
        url: path.replaceAll(':', 'cs_sim_00000000000000000000'),
        headers: { ...bearer(bob.accessToken), ...(method === 'POST' ? { 'content-type': 'application/json' } : {}) },
        ...(method === 'POST' ? { payload: '{"outcome":"paid","action":"cancel"}' } : {}),
      });
      expect(res.statusCode, key).toBe(404);
    }
    const list = await t.request({ method: 'GET', url: '/chatroom', headers: bearer(bob.accessToken) });
    expect(list.json<{ items: { id: string }[] }>().items.map((room) => room.id)).toEqual([ids.b.room]);
    // Search reads the caller's own only: A's title and prompt are not found by B, B's own are.
    const searched = await t.request({ method: 'GET', url: '/search?q=secret%20private', headers: bearer(bob.accessToken) });
    expect(searched.statusCode).toBe(200);
    expect(searched.json<{ items: unknown[] }>().items).toEqual([]);
    const own = await t.request({ method: 'GET', url: '/search?q=bob%20room', headers: bearer(bob.accessToken) });
    expect(own.json<{ items: { chatroomId: string }[] }>().items.map((hit) => hit.chatroomId)).toContain(ids.b.room);
    const me = await t.request({ method: 'GET', url: '/user/me', headers: bearer(bob.accessToken) });
    expect(me.json().id).toBe(bob.id);
  });
});
