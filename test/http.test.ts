import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { bearer, signIn } from './helpers/factories.js';
import { parseSse } from './helpers/messages.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ env: { BODY_LIMIT_BYTES: '2048' } });
});
afterAll(() => t.close());

function expectProblem(res: { statusCode: number; headers: Record<string, unknown>; json: () => unknown }, status: number, code: string) {
  expect(res.statusCode).toBe(status);
  expect(res.headers['content-type']).toContain('application/problem+json');
  const body = res.json() as Record<string, unknown>;
  expect(body).toMatchObject({ type: 'about:blank', status, code });
  expect(typeof body.title).toBe('string');
  expect(typeof body.detail).toBe('string');
  expect(body.requestId).toBe(res.headers['x-request-id']);
}

describe('problem responses for the framework\'s own errors', () => {
  it('unknown route: 404 NOT_FOUND', async () => {
    expectProblem(await t.request({ method: 'GET', url: '/no/such/route' }), 404, 'NOT_FOUND');
  });

  it('malformed JSON: 400 INVALID_JSON', async () => {
    const res = await t.request({ method: 'POST', url: '/auth/signup', payload: '{"mobile":', headers: { 'content-type': 'application/json' } });
    expectProblem(res, 400, 'INVALID_JSON');
  });

  it('body over the limit: 413 PAYLOAD_TOO_LARGE', async () => {
    const res = await t.request({
      method: 'POST',
      url: '/auth/signup',
      payload: JSON.stringify({ mobile: '+919876543210', name: 'x'.repeat(4096) }),
      headers: { 'content-type': 'application/json' },
    });
    expectProblem(res, 413, 'PAYLOAD_TOO_LARGE');
  });

  it('wrong content type: 415 UNSUPPORTED_MEDIA_TYPE', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded']) {
      const res = await t.request({ method: 'POST', url: '/auth/signup', payload: 'mobile=1', headers: { 'content-type': type } });
      expectProblem(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
    }
  });

  it('a malformed URL is a problem too, with the security headers though no route was found', async () => {
    const res = await t.request({ method: 'GET', url: '/chatroom/%E0%A4%A' });
    expectProblem(res, 400, 'VALIDATION_FAILED');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['content-security-policy']).toContain("default-src 'self'");
  });

  it('an over-long path id is an unknown id like any other: 401 without a token, 404 after it, with the security headers', async () => {
    const longId = 'a'.repeat(101);
    const user = await signIn(t);
    const unknown = await t.request({ method: 'GET', url: `/chatroom/${randomUUID()}`, headers: bearer(user.accessToken) });
    expectProblem(unknown, 404, 'CHATROOM_NOT_FOUND');
    for (const length of [101, 150, 5000]) {
      const url = `/chatroom/${'a'.repeat(length)}`;
      const anonymous = await t.request({ method: 'GET', url });
      expectProblem(anonymous, 401, 'UNAUTHORIZED');
      expect(anonymous.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
      const signedIn = await t.request({ method: 'GET', url, headers: bearer(user.accessToken) });
      expectProblem(signedIn, 404, 'CHATROOM_NOT_FOUND');
      expect(signedIn.headers['x-content-type-options']).toBe('nosniff');
    }
    // Nested ids and other resources too.
    expectProblem(await t.request({ method: 'GET', url: `/files/${longId}`, headers: bearer(user.accessToken) }), 404, 'FILE_NOT_FOUND');
    const room = (await t.request({ method: 'POST', url: '/chatroom', headers: bearer(user.accessToken) })).json<{ id: string }>();
    const message = await t.request({ method: 'GET', url: `/chatroom/${room.id}/messages/${longId}`, headers: bearer(user.accessToken) });
    expectProblem(message, 404, 'MESSAGE_NOT_FOUND');
  });

  it('keeps a sane caller-supplied X-Request-Id and replaces an unsafe one', async () => {
    const kept = await t.request({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'abc-123' } });
    expect(kept.headers['x-request-id']).toBe('abc-123');
    const replaced = await t.request({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'bad id\nwith newline' } });
    expect(replaced.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('operations', () => {
  it('/healthz answers 200', async () => {
    const res = await t.request({ method: 'GET', url: '/healthz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
  });

  it('/readyz reports each dependency', async () => {
    const res = await t.request({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(200);
    const { checks } = res.json();
    expect(checks.database).toBe('ok');
    expect(checks.redis).toBe(t.container.redis ? 'ok' : 'not configured');
    expect(checks.queue).toBe('ok');
  });

  it('sets security headers on every response, errors and unknown routes included', async () => {
    for (const [method, url] of [['GET', '/healthz'], ['GET', '/user/me'], ['GET', '/no-such-route']] as const) {
      const res = await t.request({ method, url });
      expect(res.headers['x-content-type-options'], url).toBe('nosniff');
      expect(res.headers['strict-transport-security'], url).toBe('max-age=31536000; includeSubDomains');
      expect(res.headers['x-frame-options'], url).toBe('SAMEORIGIN');
      expect(res.headers['content-security-policy'], url).toContain("img-src 'self' data: blob: validator.swagger.io");
      expect(res.headers['cross-origin-opener-policy'], url).toBe('same-origin');
    }
  });

  it('documents every operation for client generators: a unique camelCase operationId, a summary, its security and its problem responses', async () => {
    const doc = (await t.request({ method: 'GET', url: '/openapi.json' })).json();
    type Operation = { operationId: string; summary: unknown; security: unknown };
    const operations = Object.values(doc.paths as Record<string, Record<string, Operation>>).flatMap((item) => Object.values(item));
    const ids = operations.map((operation) => operation.operationId);
    expect(ids.every((id) => /^[a-z][A-Za-z]+$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    expect(operations.every((operation) => typeof operation.summary === 'string' && Array.isArray(operation.security))).toBe(true);
    expect(doc.servers).toEqual([expect.objectContaining({ url: '/' })]);

    const me = doc.paths['/user/me'].get;
    expect(me.security).toEqual([{ bearerAuth: [] }]);
    expect(me.responses['401'].content['application/problem+json'].schema.$ref).toBe('#/components/schemas/Problem');
    expect(doc.paths['/auth/signup'].post.security).toEqual([]);
    expect(Object.keys(doc.paths['/chatroom/{id}/message'].post.responses)).toEqual(expect.arrayContaining(['400', '401', '404', '429']));
    expect(doc.components.schemas.Problem.required).toEqual(expect.arrayContaining(['code', 'status', 'requestId']));
  });

  it('declares what the wire carries: event streams, Markdown, pages, bytes, request bodies as sent, headers', async () => {
    const doc = (await t.request({ method: 'GET', url: '/openapi.json' })).json();
    const { paths } = doc;
    const eventStream = (response: { content: Record<string, { schema: { type: string; contentSchema: { $ref: string } } }> }) => {
      const { schema } = response.content['text/event-stream']!;
      expect(schema.type).toBe('string'); // what a validating proxy compares with the text on the wire
      return doc.components.schemas[schema.contentSchema.$ref.split('/').at(-1)!] as EventUnion;
    };
    type EventUnion = { oneOf: { properties: { event: { const: string } } }[] };
    const eventNames = (union: EventUnion) => union.oneOf.map((event) => event.properties.event.const);
    for (const operation of [paths['/chatroom/{id}/message'].post, paths['/chatroom/{id}/messages/{replyId}/regenerate'].post]) {
      expect(eventNames(eventStream(operation.responses['200']))).toEqual(['message', 'delta', 'thought', 'grounding', 'reset', 'done', 'error']);
      expect(Object.keys(operation.responses['202'].headers)).toEqual(expect.arrayContaining(['Location', 'RateLimit', 'RateLimit-Policy']));
      expect(Object.keys(operation.responses['429'].headers)).toEqual(expect.arrayContaining(['Retry-After', 'RateLimit']));
      expect(operation.parameters.find((p: { name: string }) => p.name === 'wait').schema).toEqual({ type: 'boolean' });
    }
    const stream = paths['/chatroom/{id}/messages/{replyId}/stream'].get.responses['200'];
    expect(Object.keys(stream.content)).toEqual(['text/event-stream']);
    expect(eventNames(eventStream(stream))).toEqual(['delta', 'thought', 'grounding', 'reset', 'done', 'error']);
    expect(Object.keys(paths['/chatroom/{id}/export'].get.responses['200'].content)).toEqual(['application/json', 'text/markdown']);
    const content = paths['/files/{id}/content'].get.responses;
    expect(Object.keys(content['200'].content)).toEqual(expect.arrayContaining(['image/png', 'application/pdf', 'text/plain']));
    expect(Object.keys(content['206'].headers)).toEqual(expect.arrayContaining(['Content-Range', 'Content-Disposition', 'ETag']));
    expect(paths['/subscribe/simulated/{sessionId}'].get.responses['200'].content).toHaveProperty('text/html');
    expect(Object.keys(paths['/subscribe/simulated/{sessionId}'].post.requestBody.content)).toEqual(['application/json', 'application/x-www-form-urlencoded']);
    expect(paths['/chatroom'].post.requestBody.required).toBe(false);
    expect(Object.keys(paths['/chatroom'].get.responses['200'].headers)).toContain('X-Cache');
    const webhook = paths['/webhook/stripe'].post;
    expect(webhook.requestBody.content['application/json'].schema.required).toEqual(['id', 'type']);
    expect(webhook.parameters).toEqual([expect.objectContaining({ name: 'Stripe-Signature', in: 'header', required: true })]);
    expect(Object.keys(paths['/readyz'].get.responses)).toEqual(['200', '503']);
    const settings = doc.components.schemas.Chatroom && paths['/chatroom/{id}'].patch.requestBody.content['application/json'].schema.properties.settings;
    expect(settings.properties.model.type).toEqual(['string', 'null']);
    expect(settings.properties.model).not.toHaveProperty('enum');

    type Response = { description: string; headers: Record<string, unknown> };
    for (const [path, methods] of Object.entries(paths as Record<string, Record<string, { responses: Record<string, Response> }>>)) {
      for (const [method, operation] of Object.entries(methods)) {
        const where = `${method.toUpperCase()} ${path}`;
        const statuses = Object.keys(operation.responses);
        if (['post', 'put', 'patch', 'delete'].includes(method)) expect(statuses, where).toEqual(expect.arrayContaining(['413', ...(path === '/webhook/stripe' ? [] : ['415'])]));
        if (!path.startsWith('/subscribe/simulated') && path !== '/healthz') expect(statuses, where).toContain('503');
        for (const [status, response] of Object.entries(operation.responses)) {
          expect(response.description, `${where} ${status}`).not.toBe('Default Response');
          expect(response.headers['X-Request-Id'], `${where} ${status}`).toEqual({ $ref: '#/components/headers/X-Request-Id' });
        }
        if (operation.responses['503']) expect(operation.responses['503'].headers, where).toHaveProperty('Retry-After');
      }
    }
  });

  it('streams only the events the document names, each with the fields its data schema requires', async () => {
    const doc = (await t.request({ method: 'GET', url: '/openapi.json' })).json();
    const schemas = doc.components.schemas as Record<string, { oneOf?: { properties: { event: { const: string }; data: { $ref?: string } } }[]; required?: string[] }>;
    const declared = new Map((schemas.SendMessageEvent!.oneOf ?? []).map((branch) => [branch.properties.event.const, branch.properties.data]));
    const user = await signIn(t);
    const room = (await t.request({ method: 'POST', url: '/chatroom', headers: bearer(user.accessToken) })).json<{ id: string }>();
    const res = await t.request({
      method: 'POST',
      url: `/chatroom/${room.id}/message`,
      payload: { content: 'stream me' },
      headers: { ...bearer(user.accessToken), accept: 'text/event-stream' },
    });
    expect(res.statusCode).toBe(200);
    const events = parseSse(res.body);
    expect(events.map((e) => e.event).filter((name, i, all) => all.indexOf(name) === i)).toEqual(['message', 'delta', 'done']);
    for (const { event, data } of events) {
      expect(declared.has(event), event).toBe(true);
      const ref = declared.get(event)?.$ref;
      const required = ref ? (schemas[ref.split('/').at(-1)!]?.required ?? []) : [];
      expect(Object.keys(data as object), event).toEqual(expect.arrayContaining(required));
    }
  });

  it("takes wait as true or false, and settings.model as any string checked against this deployment's models", async () => {
    const user = await signIn(t);
    const room = (await t.request({ method: 'POST', url: '/chatroom', headers: bearer(user.accessToken) })).json<{ id: string }>();
    const send = (query: string) =>
      t.request({ method: 'POST', url: `/chatroom/${room.id}/message${query}`, payload: { content: 'hi' }, headers: bearer(user.accessToken) });
    expectProblem(await send('?wait=yes'), 400, 'VALIDATION_FAILED');
    expect((await send('?wait=false')).statusCode).toBe(202);
    const res = await t.request({ method: 'PATCH', url: `/chatroom/${room.id}`, payload: { settings: { model: 'gpt-4o' } }, headers: bearer(user.accessToken) });
    expectProblem(res, 400, 'VALIDATION_FAILED');
    const models = (await t.request({ method: 'GET', url: '/models', headers: bearer(user.accessToken) })).json<{ items: { id: string }[] }>().items;
    expect(res.json().errors).toEqual([{ path: 'settings.model', message: expect.stringContaining(models.map((model) => model.id).join(', ')) }]);
  });

  it('answers /favicon.ico with 204 No Content (no 404, a console error in every browser), with the security headers', async () => {
    const res = await t.request({ method: 'GET', url: '/favicon.ico' });
    expect(res.statusCode).toBe(204);
    expect(res.body).toBe('');
    expect(res.headers['cache-control']).toBe('public, max-age=86400');
    expect(res.headers['content-security-policy']).toContain("script-src 'self'");
  });

  it('serves an OpenAPI 3 document generated from the route schemas, and Swagger UI', async () => {
    const doc = (await t.request({ method: 'GET', url: '/openapi.json' })).json();
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/auth/signup', '/auth/verify-otp', '/user/me']));
    expect(doc.paths['/auth/signup'].post.requestBody.content['application/json'].schema.properties).toHaveProperty('mobile');
    const ui = await t.request({ method: 'GET', url: '/docs/' });
    expect(ui.statusCode).toBe(200);
    expect(ui.headers['content-type']).toContain('text/html');
  });
});
