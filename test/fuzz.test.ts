import { eq } from 'drizzle-orm';
import fc, { type Arbitrary } from 'fast-check';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatrooms, dailyUsage, idempotencyKeys, messages, sessions, users } from '../src/infra/db/schema.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { bearer, signIn, type SignedInUser } from './helpers/factories.js';
import { arbitraryFor, hostileString, hostileStrings, type JsonSchema } from './helpers/json-schema-arbitrary.js';
import { createRoom, pollUntilFinished, sendMessage } from './helpers/messages.js';
import { testMode } from './helpers/mode.js';

/*
 * Fuzzing driven by the OpenAPI document: for every operation it lists, fast-check builds requests
 * from the operation's own schemas (mostly fitting, often not) plus hostile strings, wrong types,
 * huge and deeply nested bodies, wrong content types, bad ids, cursors and headers. Every answer
 * must be below 500, every error an RFC 9457 problem, and user A (whom the fuzzer is not) must find
 * every row of theirs as it was.
 *
 * The app logs at trace level; at the end the captured logs are searched for every secret the run
 * handled: passwords sent and accepted, and every code and token the API answered.
 *
 * FUZZ_REQUESTS sets the count (default 2,400 per mode, ~20 s; `npm run test:fuzz` sends 10,000).
 * FUZZ_SEED replays a run (the seed is printed).
 */
const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 2400);
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2_147_483_647);

interface Operation {
  method: string;
  path: string;
  pathParams: string[];
  query: { name: string; schema: JsonSchema }[];
  body?: JsonSchema;
  secured: boolean;
  /** Statuses the document declares as an HTML page (a share's 404 page): a browser's answer, not a problem. */
  htmlStatuses: Set<number>;
}

interface OpenApiDocument {
  paths: Record<string, Record<string, {
    parameters?: { in: string; name: string; schema?: JsonSchema }[];
    requestBody?: { content?: Record<string, { schema?: JsonSchema }> };
    responses?: Record<string, { content?: Record<string, unknown> }>;
    security?: unknown[];
  }>>;
  components?: { schemas?: Record<string, JsonSchema> };
}

let t: TestApp;
let alice: SignedInUser;
let bob: SignedInUser;
let ids: { room: string; reply: string; userMessage: string; bobRoom: string; bobReply: string };
let doc: OpenApiDocument;

/** Stands for Bob's current access token: the fuzz logs him out and changes his password now and then. */
const BOB_TOKEN = 'Bearer {{bob}}';
/** Operations after which Bob's token may be dead: he signs in again (as a new user). */
const ENDS_SESSIONS = new Set(['POST /auth/logout', 'POST /auth/change-password', 'POST /auth/reset-password', 'POST /auth/refresh']);

beforeAll(async () => {
  t = await startTestApp({ captureLogs: true, env: { REPLY_WAIT_MS: '0', BODY_LIMIT_BYTES: String(64 * 1024) } });
  alice = await signIn(t, { password: 'alice password 1' });
  bob = await signIn(t, { password: 'bob password 1' });
  const room = await createRoom(t, alice);
  const sent = (await sendMessage(t, alice, room, 'alice private prompt', { wait: false })).json<{ userMessage: { id: string }; reply: { id: string } }>();
  await pollUntilFinished(t, alice, room, sent.reply.id);
  const bobRoom = await createRoom(t, bob);
  const bobSent = (await sendMessage(t, bob, bobRoom, 'bob prompt', { wait: false })).json<{ reply: { id: string } }>();
  await pollUntilFinished(t, bob, bobRoom, bobSent.reply.id);
  ids = { room, reply: sent.reply.id, userMessage: sent.userMessage.id, bobRoom, bobReply: bobSent.reply.id };
  doc = (await t.request({ method: 'GET', url: '/openapi.json' })).json<OpenApiDocument>();
});
afterAll(() => t.close());

function operationsOf(document: OpenApiDocument): Operation[] {
  return Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({
      method: method.toUpperCase(),
      path,
      pathParams: (op.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name),
      query: (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => ({ name: p.name, schema: p.schema ?? {} })),
      body: op.requestBody?.content?.['application/json']?.schema,
      secured: (op.security ?? []).length > 0,
      htmlStatuses: new Set(
        Object.entries(op.responses ?? {})
          .filter(([, response]) => Object.keys(response.content ?? {}).some((type) => type.startsWith('text/html')))
          .map(([status]) => Number(status)),
      ),
    })),
  );
}

/** Everything of Alice's the fuzzer (Bob, or nobody) must not change. */
async function snapshotOfAlice() {
  const { db } = t.container.database;
  return JSON.stringify({
    user: await db.select().from(users).where(eq(users.id, alice.id)),
    rooms: await db.select().from(chatrooms).where(eq(chatrooms.userId, alice.id)),
    messages: await db.select().from(messages).where(eq(messages.userId, alice.id)).orderBy(messages.seq),
    usage: await db.select().from(dailyUsage).where(eq(dailyUsage.userId, alice.id)),
    keys: await db.select().from(idempotencyKeys).where(eq(idempotencyKeys.userId, alice.id)),
    sessions: await db.select().from(sessions).where(eq(sessions.userId, alice.id)),
  });
}

/** Percent-encodes a segment; a lone surrogate (which encodeURIComponent refuses) goes in as raw bytes. */
const encodePathSegment = (text: string) => {
  try {
    return encodeURIComponent(text);
  } catch {
    return [...Buffer.from(text)].map((byte) => `%${byte.toString(16).padStart(2, '0')}`).join('');
  }
};

const cursorArbitrary = (): Arbitrary<string> =>
  fc
    .oneof(
      fc.tuple(fc.oneof(fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), hostileString()), fc.oneof(fc.uuid(), hostileString())).map((v) => JSON.stringify(v)),
      fc.constant('seq:99999999999999999999'),
      fc.integer().map((n) => `seq:${n}`),
      fc.jsonValue().map((v) => JSON.stringify(v)),
      hostileString(),
    )
    .map((text) => Buffer.from(text).toString('base64url'));

function requestArbitrary(operations: Operation[]): Arbitrary<{ op: Operation; options: InjectOptions }> {
  const components = doc.components?.schemas ?? {};
  const idArb = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(ids.room, ids.reply, ids.userMessage, ids.bobRoom, ids.bobReply) },
    { weight: 2, arbitrary: fc.uuid() },
    { weight: 2, arbitrary: hostileString().map(encodePathSegment) },
  );
  const authArb = fc.constantFrom<string | undefined>(
    BOB_TOKEN,
    BOB_TOKEN,
    BOB_TOKEN,
    undefined,
    'Bearer not.a.token',
    `Bearer ${alice.refreshToken}`,
    `Basic ${Buffer.from('a:b').toString('base64')}`,
    `Bearer ${bob.accessToken.split('.').slice(0, 2).join('.')}.`,
  );
  const mobileArb = fc.oneof(
    fc.constantFrom(alice.mobile, bob.mobile, '+919876543210', '9876543210', '+1 202 555 0143', '0', ''),
    hostileString(),
  );
  return fc.constantFrom(...operations).chain((op) => {
    const bodyArb: Arbitrary<{ payload?: string; contentType?: string }> = fc.oneof(
      { weight: 8, arbitrary: (op.body ? arbitraryFor(op.body, components) : fc.jsonValue({ maxDepth: 2 })).map((value) => ({ payload: JSON.stringify(value) ?? 'null', contentType: 'application/json' })) },
      { weight: 1, arbitrary: fc.string({ maxLength: 50 }).map((raw) => ({ payload: `{${raw}`, contentType: 'application/json' })) },
      { weight: 1, arbitrary: fc.integer({ min: 100, max: 5000 }).map((depth) => ({ payload: '['.repeat(depth) + ']'.repeat(depth), contentType: 'application/json' })) },
      { weight: 1, arbitrary: fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', 'application/xml', 'application/json; charset=utf-16', 'multipart/form-data').map((contentType) => ({ payload: 'mobile=1&x=2', contentType })) },
      { weight: 1, arbitrary: fc.constant({}) },
      { weight: 1, arbitrary: fc.constant({ payload: JSON.stringify({ content: 'x'.repeat(70 * 1024) }), contentType: 'application/json' }) },
    );
    // Auth bodies name a number: often a real one, so that the handlers behind validation run too.
    const withMobile = bodyArb.chain((body) =>
      op.body?.properties?.mobile && body.contentType === 'application/json' && body.payload?.startsWith('{')
        ? mobileArb.map((mobile) => {
            try {
              return { ...body, payload: JSON.stringify({ ...(JSON.parse(body.payload ?? '{}') as object), mobile }) };
            } catch {
              return body;
            }
          })
        : fc.constant(body),
    );
    const queryArb = fc.array(
      fc.oneof(
        ...op.query.map((q) => arbitraryFor(q.schema, components).map((value) => [q.name, String(value)] as [string, string])),
        cursorArbitrary().map((cursor) => ['cursor', cursor] as [string, string]),
        fc.tuple(fc.constantFrom('limit', 'wait', 'format', 'x'), fc.constantFrom(...hostileStrings, '0', '101', 'true', 'false', '1e3')),
      ),
      { maxLength: 3 },
    );
    return fc.record({
      params: fc.array(idArb, { minLength: op.pathParams.length, maxLength: op.pathParams.length }),
      query: queryArb,
      body: withMobile,
      authorization: authArb,
      accept: fc.constantFrom(undefined, undefined, 'application/json', 'text/event-stream', 'text/html', '*/*'),
      idempotencyKey: fc.oneof(fc.constant(undefined), fc.string({ maxLength: 300 }), fc.constantFrom(...hostileStrings)),
      signature: fc.oneof(fc.constant(undefined), fc.string({ maxLength: 80 }), fc.integer().map((n) => `t=${n},v1=${'0'.repeat(64)}`)),
    }).map((parts) => {
      let index = 0;
      const path = op.path.replace(/\{[^}]+\}/g, () => parts.params[index++] ?? '');
      const search = new URLSearchParams(parts.query).toString();
      const headers: Record<string, string> = {};
      if (parts.authorization) headers.authorization = parts.authorization;
      if (parts.accept) headers.accept = parts.accept;
      if (parts.body.contentType) headers['content-type'] = parts.body.contentType;
      if (parts.idempotencyKey !== undefined) headers['idempotency-key'] = parts.idempotencyKey.replace(/[\r\n]/g, '');
      if (parts.signature !== undefined && op.path === '/webhook/stripe') headers['stripe-signature'] = parts.signature.replace(/[\r\n]/g, '');
      const withBody = op.method !== 'GET' && op.method !== 'DELETE' && parts.body.payload !== undefined;
      const options: InjectOptions = {
        method: op.method,
        url: search ? `${path}?${search}` : path,
        headers,
        ...(withBody ? { payload: parts.body.payload } : {}),
      };
      return { op, options };
    });
  });
}

/** Secrets in a request or answer: passwords sent, codes and tokens answered. */
function secretsIn(requestBody: string | undefined, responseBody: string, accepted: boolean): string[] {
  const found: string[] = [];
  const collect = (text: string | undefined, fields: string[]) => {
    try {
      const value = JSON.parse(text ?? '') as unknown;
      const walk = (node: unknown) => {
        if (node === null || typeof node !== 'object') return;
        for (const [key, child] of Object.entries(node)) {
          if (fields.includes(key) && typeof child === 'string') found.push(child);
          else walk(child);
        }
      };
      walk(value);
    } catch {
      // not JSON: nothing to collect
    }
  };
  if (accepted) collect(requestBody, ['password', 'newPassword', 'currentPassword']);
  collect(responseBody, ['otp', 'accessToken', 'refreshToken']);
  // Only what could not appear in a log by chance: 6-digit codes, or 8+ characters of some variety
  // that are not JavaScript's own names (fast-check favours 'constructor', 'undefined', …, which logs hold anyway).
  const builtinName = (secret: string) =>
    secret in globalThis || secret in Object.prototype || secret in Function.prototype || /^(function|arguments|prototype|instanceof)$/.test(secret);
  return found.filter((secret) => /^\d{6}$/.test(secret) || (secret.length >= 8 && new Set(secret).size >= 4 && !builtinName(secret)));
}

const occursIn = (logs: string, secret: string) =>
  /^\d{6}$/.test(secret) ? new RegExp(`(?<![\\d.])${secret}(?![\\d.])`).test(logs) : logs.includes(secret) || logs.includes(JSON.stringify(secret).slice(1, -1));

/** An HTML page where the document declares one for that status (GET /s/:id's 404 page). */
const isDeclaredPage = (op: Operation, res: { statusCode: number; headers: Record<string, unknown> }) =>
  op.htmlStatuses.has(res.statusCode) && String(res.headers['content-type']).startsWith('text/html');

function isProblem(status: number, contentType: unknown, body: string): boolean {
  if (!String(contentType).startsWith('application/problem+json')) return false;
  try {
    const problem = JSON.parse(body) as Record<string, unknown>;
    return (
      problem.type === 'about:blank' &&
      problem.status === status &&
      typeof problem.title === 'string' &&
      typeof problem.code === 'string' &&
      /^[A-Z_]+$/.test(problem.code) &&
      typeof problem.detail === 'string' &&
      typeof problem.requestId === 'string'
    );
  } catch {
    return false;
  }
}

describe(`fuzzing from the OpenAPI document (${testMode})`, () => {
  it(`sends ${REQUESTS} requests over every operation: no 5xx, every error a problem, nothing of another user changed`, { timeout: 900_000 }, async () => {
    const operations = operationsOf(doc);
    expect(operations.length).toBeGreaterThan(20);
    const before = await snapshotOfAlice();
    const byStatus: Record<number, number> = {};
    const byOperation = new Map<string, number>();
    const serverErrors: string[] = [];
    const notProblems: string[] = [];
    let sent = 0;

    // Every operation first, with fitting input where it has a schema; then the random mix.
    const samples = fc.sample(requestArbitrary(operations), { numRuns: REQUESTS, seed: SEED });
    let bobToken = bob.accessToken;
    const secrets = new Set<string>([alice.accessToken, alice.refreshToken, bob.accessToken, bob.refreshToken, 'alice password 1', 'bob password 1']);
    for (const { op, options } of samples) {
      const headers = options.headers as Record<string, string>;
      if (headers.authorization === BOB_TOKEN) headers.authorization = `Bearer ${bobToken}`;
      const res = await t.request(options);
      for (const secret of secretsIn(options.payload as string | undefined, res.body, res.statusCode < 300)) secrets.add(secret);
      if (ENDS_SESSIONS.has(`${op.method} ${op.path}`) && res.statusCode < 300) bobToken = (await signIn(t)).accessToken;
      sent++;
      byStatus[res.statusCode] = (byStatus[res.statusCode] ?? 0) + 1;
      const key = `${op.method} ${op.path}`;
      byOperation.set(key, (byOperation.get(key) ?? 0) + 1);
      const url = typeof options.url === 'string' ? options.url : '';
      const line = `${op.method} ${url.slice(0, 200)} → ${res.statusCode} ${res.body.slice(0, 300)}`;
      if (res.statusCode >= 500) serverErrors.push(line);
      else if (res.statusCode >= 400 && !isProblem(res.statusCode, res.headers['content-type'], res.body) && !isDeclaredPage(op, res)) notProblems.push(line);
    }

    const statuses = Object.entries(byStatus).map(([status, count]) => `${status}: ${count}`).join(', ');
    console.log(
      `[fuzz ${testMode}] seed ${SEED}: sent ${sent} requests over ${byOperation.size}/${operations.length} operations; ` +
        `by status {${statuses}}; 5xx: ${serverErrors.length}; non-problem errors: ${notProblems.length}`,
    );
    expect(serverErrors, `replay with FUZZ_SEED=${SEED}`).toEqual([]);
    expect(notProblems, `replay with FUZZ_SEED=${SEED}`).toEqual([]);
    expect(sent).toBe(REQUESTS);
    // With enough requests every operation was called (the sample is uniform over operations).
    if (REQUESTS >= 20 * operations.length) expect([...byOperation.keys()].sort()).toEqual(operations.map((o) => `${o.method} ${o.path}`).sort());
    expect(await snapshotOfAlice()).toBe(before);

    const logs = t.logs.join('');
    const leaked = [...secrets].filter((secret) => occursIn(logs, secret));
    console.log(`[secrets ${testMode}] scanned ${t.logs.length} log lines for ${secrets.size} secrets (codes, tokens, passwords): ${leaked.length} found`);
    expect(t.logs.length).toBeGreaterThan(sent); // every request was logged
    expect(leaked).toEqual([]);
    // Alice still works as before.
    expect((await t.request({ method: 'GET', url: `/chatroom/${ids.room}`, headers: bearer(alice.accessToken) })).statusCode).toBe(200);
  });
});
